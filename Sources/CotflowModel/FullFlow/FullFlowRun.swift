import CotflowCore
import Foundation

/// The full-matrix gradient flow as a value (`cotflow ode --params full`): the task, the fixed
/// prompts, the start and the solver settings. Building it resolves every default (the flow's own
/// tolerances and end time where none is given); nothing runs until `solve`.
public struct FullFlowRun: RecordableRun, TaskRun {
    public static let computation = "ode_full"

    public var d, n, k: Int
    /// The GD step size, exact.
    public var eta: Rational
    public var seed: UInt64
    /// Number of fixed prompts: the first batch `train --batch-size prompts` sees for `seed`.
    public var prompts: Int
    /// The start, as `train --init`: random (iid N(0, initScale^2) entries) or Assumption 4.1.
    public var initialisation: InitialisationKind
    public var initScale: Double
    public var vRange, wRange: ClosedRange<Double>
    public var options: FlowOptions

    /// `eta` nil is the paper's n/(n+d+1); the ranges nil the Assumption 4.1 ranges of `initScale`;
    /// the solver settings not given take `FullMatrixFlow.defaultOptions`.
    public init(d: Int, n: Int, k: Int, eta: Rational? = nil, seed: UInt64, prompts: Int = 4096,
                initialisation: InitialisationKind = .random, initScale: Double = TrainingConfig.defaultInitScale,
                vRange: ClosedRange<Double>? = nil, wRange: ClosedRange<Double>? = nil, solver: FlowSolverSettings = FlowSolverSettings()) {
        let ranges = AssumptionInitialisation.defaultRanges(scale: initScale)
        (self.d, self.n, self.k, self.eta, self.seed, self.prompts) = (d, n, k, eta ?? paperStepSize(n: n, d: d), seed, prompts)
        (self.initialisation, self.initScale, self.vRange, self.wRange) = (initialisation, initScale, vRange ?? ranges.v, wRange ?? ranges.w)
        options = solver.options(over: FullMatrixFlow.defaultOptions)
    }

    /// The start as a training configuration (`train` draws the same initial parameters from it).
    private func training() throws -> TrainingConfig {
        TrainingConfig(task: try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue), objective: .cot, trainable: .full,
                       initialisation: initialisation, initScale: initScale, vRange: vRange, wRange: wRange, optimizer: .sgd,
                       learningRate: 1, batchSize: prompts, steps: 0, recordEvery: 1, heldOutSize: 1, seed: seed)
    }

    /// The task's, the size's, the stepper's and the solver's checks (before any work).
    public func validate() throws {
        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        guard 2 * task.tokenSize * task.tokenSize <= 2_000_000 else { throw FlowSettingsError("--d \(d) is too large for the full-matrix flow (2 D^2 state variables)") }
        guard prompts >= 1 else { throw FlowSettingsError("--prompts must be at least 1 (got \(prompts))") }
        try AssumptionInitialisation.check(scale: initScale)
        if options.ode.stepper.requiresJacobian {
            throw FullFlowConfigurationError.implicitStepper(options.ode.stepper, dimension: 2 * task.tokenSize * task.tokenSize)
        }
        try options.checkStorage(d: d)
        try ResourceLimit.checkAddressSpace(TrainingLimits.promptBytes(count: prompts, d: d, n: n, data: false),
                                            what: "the full-matrix flow at --d \(d) --n \(n) on --prompts \(prompts)")
        try options.validate()
        try estimate().check(what: "the full-matrix flow at --d \(d) --n \(n) --k \(k) on --prompts \(prompts) to --t-end \(fmt(options.ode.endTime))",
                             lower: "--t-end, --prompts, --max-steps, --d or --k")
    }

    /// Integrates, calling `progress(t)` after every accepted step; a failure part-way is a result
    /// with status `.failed` and the trajectory so far.
    public func solve(progress: ((Double) -> Void)? = nil) throws -> FullFlowOutcome {
        try validate()
        let training = try training()
        let flow = try FullMatrixFlow(task: training.task, promptCount: prompts, seed: seed)
        let (initial, basis) = try Trainer(config: training).initialParameters()
        let started = Date()
        let trajectory: FullFlowTrajectory
        var failure: String?
        do {
            trajectory = try flow.integrate(from: initial, basis: basis, options: options, progress: progress)
        } catch let error as FullFlowFailure {
            trajectory = error.partial
            failure = error.reason.description
        }
        return FullFlowOutcome(run: self, trajectory: trajectory, seconds: Date().timeIntervalSince(started), failure: failure)
    }

    /// d, n, k and eta of parameter files.
    package var taskFields: [(String, JSONValue)] { TaskRecord(self).fileFields }
}

/// A solved full-matrix flow: its trajectory, status and the metrics summary.json records.
public struct FullFlowOutcome: Sendable {
    public let run: FullFlowRun
    public let trajectory: FullFlowTrajectory
    public let metrics: FullFlowMetrics
    public let status: RunStatus

    public init(run: FullFlowRun, trajectory t: FullFlowTrajectory, seconds: Double, failure: String?) {
        (self.run, trajectory) = (run, t)
        metrics = FullFlowMetrics(run: run, trajectory: t, seconds: seconds, failure: failure)
        status = metrics.status
    }

    /// The report `cotflow ode --params full` prints; `out` the directory written, if any.
    public func report(out: String?) -> String {
        let t = trajectory, s = t.statistics, eta = run.eta
        var failed = false
        if case .failed = status { failed = true }
        var lines = [
            "full-matrix gradient flow (every entry of V and W), (d, n, k) = (\(run.d), \(run.n), \(run.k)), eta = \(eta) = \(fmt(eta.doubleValue)), "
                + "\(run.prompts) fixed prompts of seed \(run.seed), \(run.initialisation.rawValue) start (scale \(fmt(run.initScale))), stepper \(StepperReport.text(t.phases, stepper: run.options.ode.stepper))",
            "mean CoT loss on the prompts \(fmt(t.losses.first ?? .nan)) at t = 0 -> \(fmt(t.finalLoss)) at t = \(fmt(t.finalTime))"
                + (t.converged ? " (converged)" : !failed ? " (\(t.stopReason))" : ""),
        ]
        if let p = t.parameters.last, let p0 = t.parameters.first {
            if case let (v, w)? = p.blockEigenvalues {
                lines.append("V31 eigenvalues (symmetric part) in [\(fmt(v.first!)), \(fmt(v.last!))], W13 in [\(fmt(w.first!)), \(fmt(w.last!))], W24 = \(fmt(p.W24)) "
                    + "(construction up to the rescaling: (-W24) V31 = -eta I = \(fmt(-eta.doubleValue)) I, W13 / (-W24) = I)")
            }
            lines.append("data path outside the blocks ||(V32, W14, W23)|| \(fmt(p0.dataPathOffBlockNorm)) -> \(fmt(p.dataPathOffBlockNorm)); "
                + "chain path ||V3{3,4}|| ||W{3,4}{3,4}|| \(fmt(p0.chainPathNormProduct)) -> \(fmt(p.chainPathNormProduct)); all entries outside the blocks \(fmt(p0.offBlockNorm)) -> \(fmt(p.offBlockNorm))")
        }
        lines.append("\(s.acceptedSteps) steps, \(s.failedSteps) rejected, \(s.rhsEvaluations) right-hand sides (full-batch gradients), \(String(format: "%.2f", metrics.seconds)) s")
        if let out { lines.append("wrote \(out)/trajectory.csv, summary.json, parameters.json (final) and initial_parameters.json") }
        return lines.joined(separator: "\n")
    }
}

/// What summary.json records of a full-matrix flow besides the run: the task and solver settings
/// again (for readers of the file), the losses, why it stopped, the solver's work, and the norms
/// outside the blocks of the construction at the start and the end.
public struct FullFlowMetrics: Codable, Sendable {
    public var params = "full"
    public var task: TaskRecord
    public var prompts: Int
    public var `init`: InitialisationKind
    public var initScale: Double
    public var stepper: Stepper
    public var absTol, relTol, stopLoss: Double
    public var initialLoss, finalLoss, finalLossMedian, tEnd: Double
    public var converged: Bool
    /// "failed: ..." for a run that failed part-way.
    public var stopReason: String
    /// The outcome as `train` and `compare` record it (`status`, and `failure` for a failed run):
    /// converged, completed (stopped otherwise) or failed. `converged` and `stop_reason` say the same in detail.
    public var status: RunStatus {
        FlowStopRecord.status(reason: stopReason, converged: converged)
    }
    public var steps, failedSteps, rhsEvals: Int
    public var seconds: Double
    public var w24, offBlockNorm, dataOffBlockNormInitial, dataOffBlockNorm, chainPathNormProductInitial, chainPathNormProduct: Double
    /// With `--stepper auto`: the steppers that ran (nil for a forced stepper).
    public var steppersRun: SteppersRun?

    public init(run: FullFlowRun, trajectory t: FullFlowTrajectory, seconds: Double, failure: String?) {
        let s = t.statistics, first = t.parameters.first, last = t.parameters.last, o = run.options
        (task, prompts) = (TaskRecord(run), run.prompts)
        (`init`, initScale, stepper) = (run.initialisation, run.initScale, o.ode.stepper)
        (absTol, relTol, stopLoss) = (o.ode.absoluteTolerance, o.ode.relativeTolerance, o.stopRelativeLoss)
        (initialLoss, finalLoss, finalLossMedian, tEnd, converged) = (t.losses.first ?? .nan, t.finalLoss, t.medians.last ?? .nan, t.finalTime, t.converged)
        stopReason = FlowStopRecord.reason(t.stopReason, failure: failure)
        (steps, failedSteps, rhsEvals, self.seconds) = (s.acceptedSteps, s.failedSteps, s.rhsEvaluations, seconds)
        (w24, offBlockNorm) = (last?.W24 ?? .nan, last?.offBlockNorm ?? .nan)
        (dataOffBlockNormInitial, dataOffBlockNorm) = (first?.dataPathOffBlockNorm ?? .nan, last?.dataPathOffBlockNorm ?? .nan)
        (chainPathNormProductInitial, chainPathNormProduct) = (first?.chainPathNormProduct ?? .nan, last?.chainPathNormProduct ?? .nan)
        steppersRun = StepperReport.record(t.phases, stepper: stepper)
    }

    private enum CodingKeys: String, CodingKey {
        case params, prompts, `init`, initScale = "init_scale", stepper
        case absTol = "abs_tol", relTol = "rel_tol", stopLoss = "stop_loss", initialLoss = "initial_loss", finalLoss = "final_loss"
        case finalLossMedian = "final_loss_median", tEnd = "t_end", converged, stopReason = "stop_reason", steps
        case failedSteps = "failed_steps", rhsEvals = "rhs_evals", seconds, w24, offBlockNorm = "off_block_norm"
        case dataOffBlockNormInitial = "data_off_block_norm_initial", dataOffBlockNorm = "data_off_block_norm"
        case chainPathNormProductInitial = "chain_path_norm_product_initial", chainPathNormProduct = "chain_path_norm_product"
    }

    public init(from decoder: Decoder) throws {
        task = try TaskRecord(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys) throws -> T { try c.decode(T.self, forKey: key) }
        (params, prompts, `init`, initScale, stepper) = (try get(.params), try get(.prompts), try get(.`init`), try get(.initScale), try get(.stepper))
        (absTol, relTol, stopLoss, initialLoss, finalLoss, finalLossMedian) = (try get(.absTol), try get(.relTol), try get(.stopLoss), try get(.initialLoss), try get(.finalLoss), try get(.finalLossMedian))
        (tEnd, converged, stopReason, steps, failedSteps, rhsEvals, seconds) = (try get(.tEnd), try get(.converged), try get(.stopReason), try get(.steps), try get(.failedSteps), try get(.rhsEvals), try get(.seconds))
        (w24, offBlockNorm, dataOffBlockNormInitial, dataOffBlockNorm) = (try get(.w24), try get(.offBlockNorm), try get(.dataOffBlockNormInitial), try get(.dataOffBlockNorm))
        (chainPathNormProductInitial, chainPathNormProduct) = (try get(.chainPathNormProductInitial), try get(.chainPathNormProduct))
        steppersRun = try SteppersRun.decodeIfPresent(from: decoder)
    }

    // As the synthesized encoding, except that the steppers that ran are absent (not null) for a forced stepper.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(params, forKey: .params)
        try task.encode(to: encoder)
        try c.encode(prompts, forKey: .prompts); try c.encode(`init`, forKey: .`init`); try c.encode(initScale, forKey: .initScale)
        try c.encode(stepper, forKey: .stepper); try c.encode(absTol, forKey: .absTol); try c.encode(relTol, forKey: .relTol)
        try c.encode(stopLoss, forKey: .stopLoss); try c.encode(initialLoss, forKey: .initialLoss); try c.encode(finalLoss, forKey: .finalLoss)
        try c.encode(finalLossMedian, forKey: .finalLossMedian); try c.encode(tEnd, forKey: .tEnd); try c.encode(converged, forKey: .converged)
        try c.encode(stopReason, forKey: .stopReason); try c.encode(steps, forKey: .steps); try c.encode(failedSteps, forKey: .failedSteps)
        try status.encode(to: encoder)
        try c.encode(rhsEvals, forKey: .rhsEvals); try c.encode(seconds, forKey: .seconds); try c.encode(w24, forKey: .w24)
        try c.encode(offBlockNorm, forKey: .offBlockNorm); try c.encode(dataOffBlockNormInitial, forKey: .dataOffBlockNormInitial)
        try c.encode(dataOffBlockNorm, forKey: .dataOffBlockNorm); try c.encode(chainPathNormProductInitial, forKey: .chainPathNormProductInitial)
        try c.encode(chainPathNormProduct, forKey: .chainPathNormProduct)
        try steppersRun?.encode(to: encoder)
    }
}
