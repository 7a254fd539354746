import CotflowCore
import Foundation

extension TrainingOutcome {
    /// What `cotflow train` prints: the run, its held-out losses, how it stopped, the learned blocks
    /// against the construction, and the files written to `out`.
    public func report(run: TrainingRun, out: String?, plotted: Bool) -> String {
        let r = result, c = run.config, eta = run.eta, task = c.task
        let (objective, params, initialisation, optimizer) = (c.objective, c.trainable, c.initialisation, c.optimizer)
        var lines = [
            "\(objective.rawValue) training, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta) = \(fmt(eta.doubleValue)), "
                + "\(params.rawValue) parameters, \(initialisation.rawValue) init, \(optimizer.name)",
            "\(r.stepsDone) steps in \(String(format: "%.1f", r.seconds)) s",
        ] + (r.curriculumStages.isEmpty ? [] : [
            "curriculum over the \(objective == .looped ? "number of loops" : "chain length"): "
                + r.curriculumStages.map { "\($0.length) from step \($0.fromStep)" }.joined(separator: ", "),
        ]) + r.heldOutReport
        if case .diverged(let step, let reason) = r.status { lines.append("DIVERGED at step \(step): \(reason)") }
        if case .interrupted(let step, let signal) = r.status { lines.append("INTERRUPTED by \(signal) at step \(step)") }
        let p = r.parameters
        // A diverged run's parameters are those of the step it diverged at, not a result.
        let at = r.status.isDiverged ? "where it diverged (step \(r.stepsDone)): " : ""
        if case let (v, w)? = p.blockEigenvalues {
            lines.append(at + "V31 eigenvalues (symmetric part) in [\(fmt(v.first!)), \(fmt(v.last!))] (construction -eta = \(fmt(-eta.doubleValue))); "
                + "W13 in [\(fmt(w.first!)), \(fmt(w.last!))] (construction 1); W24 = \(fmt(p.W24)); norm outside the blocks \(fmt(p.offBlockNorm))")
        }
        // Predictions are invariant under V31 -> V31 / c, W13 -> c W13, W24 -> c W24; with W24 free
        // (full parameters) compare the invariant pair (-W24) V31 and W13 / (-W24) with the construction.
        if case let (v, w)? = p.rescaledBlockEigenvalues {
            lines.append("rescaled to W24 = -1 (a symmetry of the model): (-W24) V31 eigenvalues in [\(fmt(v.first!)), \(fmt(v.last!))], "
                + "W13 / (-W24) in [\(fmt(w.first!)), \(fmt(w.last!))]")
        }
        if let out { lines.append("wrote \(out)/trajectory.csv, summary.json, parameters.json, initial_parameters.json" + (plotted ? ", figure.*" : "")) }
        return lines.joined(separator: "\n")
    }
}

extension TrainingResult {
    /// The held-out losses at the end; for a diverged run, which has none, the last finite record
    /// named by its step (never as "final").
    public var heldOutReport: [String] {
        if let heldOutEval, let heldOutCoT {
            return [heldOutEval.report(name: "held-out evaluation loss"), heldOutCoT.report(name: "held-out CoT loss")]
        }
        guard let last = lastRecord else { return ["held-out losses: none (the run diverged before its first record)"] }
        return ["held-out losses: none at the end (the run diverged); its last finite record, step \(last.step) (t = \(fmt(last.time))): "
            + "held-out evaluation loss mean \(fmt(last.evalLossMean)), held-out CoT loss mean \(fmt(last.cotLossMean))"
            + (last.step == 0 ? " (the start)" : "")]
    }
}

extension TrainingOutcome {
    /// Writes parameters.json (final) and initial_parameters.json into `directory`. A diverged run's
    /// parameters may be non-finite: then only the initial ones are saved.
    package func saveParameters(in directory: String, run: TrainingRun, provenance: Provenance) throws {
        if result.parameters.isFinite || result.status == .completed {
            try result.parameters.save(to: (directory as NSString).appendingPathComponent("parameters.json"), provenance: provenance, task: run.taskFields)
        }
        try result.initialParameters.save(to: (directory as NSString).appendingPathComponent("initial_parameters.json"), provenance: provenance, task: run.taskFields)
    }
}
