import ArgumentParser
import CotflowModel
import CotflowCore
import Foundation

/// `cotflow ode --params full`: the full-matrix gradient flow.
extension ODECommand {
    func runFullFlow() throws {
        // The full-matrix flow's own defaults (tolerances 1e-8/1e-6, t-end 10) where an option is not given.
        var options = try solver.flowOptions(over: FullMatrixFlow.defaultOptions)
        let stepper = options.ode.stepper
        let eta = try task.stepSize()
        let taskConfig = try reportingErrors { try TaskConfig(d: task.d, n: task.n, k: task.k, eta: eta.doubleValue) }
        guard 2 * taskConfig.tokenSize * taskConfig.tokenSize <= 2_000_000 else { throw ValidationError("--d \(task.d) is too large for the full-matrix flow (2 D^2 state variables)") }
        let flow = try reportingErrors { try FullMatrixFlow(task: taskConfig, promptCount: prompts, seed: task.seed) }
        do { try flow.check(stepper: stepper) } catch { throw ValidationError("--stepper: \(error)") }
        options.ode.initialStep = initialStep
        options.ode.minimumStep = minStep
        options.stopStall = stopStall
        options.ode.grid = try outputGrid()
        if case .logarithmic(_, let first) = options.ode.grid, first >= options.ode.endTime {
            throw ValidationError("a log grid needs 0 < --t-first < --t-end (\(fmt(options.ode.endTime)))")
        }
        let ranges = try scale.ranges()
        let training = TrainingConfig(task: taskConfig, objective: .cot, trainable: .full, initialisation: self.`init`,
                                      initScale: scale.initScale, vRange: ranges.v, wRange: ranges.w, optimizer: .sgd,
                                      learningRate: 1, batchSize: prompts, steps: 0, recordEvery: 1, heldOutSize: 1, seed: task.seed)
        let (initial, basis) = try reportingErrors { try Trainer(config: training).initialParameters() }

        let started = Date()
        let trajectory: FullFlowTrajectory
        var failure: String?
        do {
            let bar = Progress(total: 1000, label: "full-matrix flow", enabled: !output.quiet)
            defer { bar.finish() }
            let end = options.ode.endTime
            trajectory = try flow.integrate(from: initial, basis: basis, options: options) { t in
                bar.update(Int(1000 * t / end), detail: "t = \(fmt(t))")
            }
        } catch let error as FullFlowFailure {
            trajectory = error.partial
            failure = error.reason.description
        } catch {
            FileHandle.standardError.write("cotflow: error: \(error)\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
        let seconds = Date().timeIntervalSince(started)
        let table = try reportingErrors { try trajectory.table() }
        let settings = task.settings(eta: eta) + [("params", .string("full")), ("prompts", .int(prompts)), ("init", .string(self.`init`.rawValue))]
            + scale.settings(ranges) + options.settings
        let provenance = Provenance(settings: settings)
        let summary = withProvenance(provenance, fullSummary(trajectory, eta: eta, options: options, seconds: seconds, failure: failure))
        try output.write(table.text, "trajectory.csv")
        try output.write(summary.rendered() + "\n", "summary.json")
        if let out = output.out, let first = trajectory.parameters.first, let last = trajectory.parameters.last {
            let task = self.task.settings(eta: eta).filter { $0.0 != "seed" }
            try first.save(to: (out as NSString).appendingPathComponent("initial_parameters.json"), provenance: provenance, task: task)
            if last.isFinite { try last.save(to: (out as NSString).appendingPathComponent("parameters.json"), provenance: provenance, task: task) }
        }
        output.emit(json: summary, report: fullReport(trajectory, eta: eta, seconds: seconds, failure: failure))
        if let failure {
            FileHandle.standardError.write("cotflow: error: the full-matrix flow failed: \(failure); the trajectory so far is kept\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
    }

    private func fullSummary(_ t: FullFlowTrajectory, eta: Rational, options: FlowOptions, seconds: Double, failure: String?) -> JSONValue {
        let s = t.statistics
        let last = t.parameters.last, first = t.parameters.first
        return .object([
            ("params", .string("full")), ("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
            ("seed", .int(Int(truncatingIfNeeded: task.seed))), ("prompts", .int(prompts)), ("init", .string(self.`init`.rawValue)),
            ("init_scale", .number(scale.initScale)), ("stepper", .string(solver.stepper.rawValue)),
            ("abs_tol", .number(options.ode.absoluteTolerance)), ("rel_tol", .number(options.ode.relativeTolerance)),
            ("stop_loss", .number(options.stopRelativeLoss)),
            ("initial_loss", .number(t.losses.first ?? .nan)), ("final_loss", .number(t.finalLoss)),
            ("final_loss_median", .number(t.medians.last ?? .nan)),
            ("t_end", .number(t.finalTime)), ("converged", .bool(t.converged)),
            ("stop_reason", .string(failure.map { "failed: \($0)" } ?? t.stopReason.description)),
            ("steps", .int(s.acceptedSteps)), ("failed_steps", .int(s.failedSteps)), ("rhs_evals", .int(s.rhsEvaluations)),
            ("seconds", .number(seconds)),
            ("w24", .number(last?.W24 ?? .nan)),
            ("off_block_norm", .number(last?.offBlockNorm ?? .nan)),
            ("data_off_block_norm_initial", .number(first?.dataPathOffBlockNorm ?? .nan)),
            ("data_off_block_norm", .number(last?.dataPathOffBlockNorm ?? .nan)),
            ("chain_path_norm_product_initial", .number(first?.chainPathNormProduct ?? .nan)),
            ("chain_path_norm_product", .number(last?.chainPathNormProduct ?? .nan)),
        ] + StepperReport.json(t.phases, stepper: solver.stepper))
    }

    private func fullReport(_ t: FullFlowTrajectory, eta: Rational, seconds: Double, failure: String?) -> String {
        let s = t.statistics
        var lines = [
            "full-matrix gradient flow (every entry of V and W), (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta) = \(fmt(eta.doubleValue)), "
                + "\(prompts) fixed prompts of seed \(task.seed), \(self.`init`.rawValue) start (scale \(fmt(scale.initScale))), stepper \(StepperReport.text(t.phases, stepper: solver.stepper))",
            "mean CoT loss on the prompts \(fmt(t.losses.first ?? .nan)) at t = 0 -> \(fmt(t.finalLoss)) at t = \(fmt(t.finalTime))"
                + (t.converged ? " (converged)" : failure == nil ? " (\(t.stopReason))" : ""),
        ]
        if let p = t.parameters.last, let p0 = t.parameters.first {
            if case let (v, w)? = p.blockEigenvalues {
                lines.append("V31 eigenvalues (symmetric part) in [\(fmt(v.first!)), \(fmt(v.last!))], W13 in [\(fmt(w.first!)), \(fmt(w.last!))], W24 = \(fmt(p.W24)) "
                    + "(construction up to the rescaling: (-W24) V31 = -eta I = \(fmt(-eta.doubleValue)) I, W13 / (-W24) = I)")
            }
            lines.append("data path outside the blocks ||(V32, W14, W23)|| \(fmt(p0.dataPathOffBlockNorm)) -> \(fmt(p.dataPathOffBlockNorm)); "
                + "chain path ||V3{3,4}|| ||W{3,4}{3,4}|| \(fmt(p0.chainPathNormProduct)) -> \(fmt(p.chainPathNormProduct)); all entries outside the blocks \(fmt(p0.offBlockNorm)) -> \(fmt(p.offBlockNorm))")
        }
        lines.append("\(s.acceptedSteps) steps, \(s.failedSteps) rejected, \(s.rhsEvaluations) right-hand sides (full-batch gradients), \(String(format: "%.2f", seconds)) s")
        if let out = output.out { lines.append("wrote \(out)/trajectory.csv, summary.json, parameters.json (final) and initial_parameters.json") }
        return lines.joined(separator: "\n")
    }
}
