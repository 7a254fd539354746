import CotflowExact
import CotflowModel
import CotflowCore

/// A comparison as a value (`cotflow compare`): the flow against training from one point. Building
/// it resolves every default (`ComparisonConfig.defaults`, and the learning rate that follows the
/// optimizer); nothing runs until `solve`.
public struct ComparisonRun: RecordableRun {
    public static let computation = "compare"

    public var config: ComparisonConfig

    /// The files a comparison writes to its directory (the figure's too).
    public static let outputFiles = ["comparison.csv", "ode_trajectory.csv", "full_flow_trajectory.csv", "summary.json", "comparison.svg", "comparison.png"]
        + TrainableSet.allCases.map { "train_\($0.rawValue)_trajectory.csv" }

    /// The run with the settings given; nil takes the comparison's default (`ComparisonConfig.defaults`;
    /// the learning rate `defaultLearningRate(optimizer:)`), `eta` nil the paper's n/(n+d+1), the ranges
    /// nil the Assumption 4.1 ranges of `initScale`. `fullFlowPrompts` nil: no full-matrix flow.
    public init(d: Int, n: Int, k: Int, eta: Rational? = nil, seed: UInt64, trainable: [TrainableSet]? = nil,
                initialisation: InitialisationKind? = nil, initScale: Double? = nil, vRange: ClosedRange<Double>? = nil,
                wRange: ClosedRange<Double>? = nil, optimizer: OptimizerKind? = nil, learningRate: Double? = nil, batchSize: Int? = nil,
                steps: Int? = nil, recordEvery: Int? = nil, heldOut: Int? = nil, stepper: Stepper? = nil, fullFlowPrompts: Int? = nil) throws {
        var c = try ComparisonConfig.defaults(d: d, n: n, k: k, eta: eta ?? paperStepSize(n: n, d: d), seed: seed)
        let t = c.training
        let scale = initScale ?? t.initScale, ranges = AssumptionInitialisation.defaultRanges(scale: scale)
        let optimizer = optimizer ?? t.optimizer
        c.training = TrainingConfig(
            task: t.task, objective: t.objective, trainable: t.trainable, initialisation: initialisation ?? t.initialisation, initScale: scale,
            vRange: vRange ?? ranges.v, wRange: wRange ?? ranges.w, optimizer: optimizer,
            learningRate: learningRate ?? Self.defaultLearningRate(optimizer: optimizer), batchSize: batchSize ?? t.batchSize,
            steps: steps ?? t.steps, recordEvery: recordEvery ?? t.recordEvery, heldOutSize: heldOut ?? t.heldOutSize, seed: seed)
        if let trainable { c.trainable = trainable }
        if let stepper { c.flow.ode.stepper = stepper }
        c.fullFlowPrompts = fullFlowPrompts
        config = c
    }

    /// The training of a comparison at the default task, before any option.
    public static var defaultTraining: TrainingConfig { defaultRun.config.training }
    /// The flow's settings of a comparison, before any option.
    public static var defaultFlow: FlowOptions { defaultRun.config.flow }

    private static var defaultRun: ComparisonRun {
        let task = TrainingConfig.defaultTask()
        // Valid by construction (the default task).
        return try! ComparisonRun(d: task.d, n: task.n, k: task.k, seed: 0)
    }

    /// The default learning rate of a comparison's training with `optimizer`: with a time map, SGD's
    /// default divided by the optimizer's time scale (the same flow time per step, so the default
    /// steps reach the same t); without one (Adam), training's default (`TrainingConfig.defaults`).
    public static func defaultLearningRate(optimizer: OptimizerKind) -> Double {
        guard let scale = optimizer.timeScale else { return TrainingConfig.defaults(task: TrainingConfig.defaultTask()).learningRate }
        return ComparisonConfig.sgdLearningRate / scale
    }

    /// The exact reduced loss's size limit, the comparison's own checks (`ComparisonConfig.validate`),
    /// training's, then the memory and work of the training at its sizes (before any allocation).
    public func validate() throws {
        let t = config.training
        try ReducedLoss.checkSize(k: t.task.k)
        try config.validate()
        try t.validate()
        try TrainingLimits.checkTraining(d: t.task.d, n: t.task.n, k: t.task.k, batch: t.batchSize, heldOut: t.heldOutSize, objective: .cot,
                                         what: "compare at --d \(t.task.d) --n \(t.task.n) --k \(t.task.k) with --batch-size \(t.batchSize) and --held-out \(t.heldOutSize)")
        try estimate().check(what: "compare at --d \(t.task.d) --n \(t.task.n) --k \(t.task.k) with --steps \(t.steps), --batch-size \(t.batchSize) and --held-out \(t.heldOutSize)"
                                + (config.fullFlowPrompts.map { " and --full-flow on --prompts \($0)" } ?? ""),
                             lower: "--steps, --batch-size, --held-out, --prompts, --d or --k")
    }

    /// Runs the comparison; `progress(set, step, total)` reports training, `phase(name, fraction)`
    /// the later phases (`Comparator.run`). A training run that diverged or was interrupted ends
    /// the comparison with that status and the runs so far.
    public func solve(progress: ((TrainableSet, Int, Int) -> Void)? = nil, phase: ((String, Double) -> Void)? = nil) throws -> ComparisonOutcome {
        try validate()
        do {
            return ComparisonOutcome(run: self, comparison: try Comparator.run(config, progress: progress, phase: phase))
        } catch let stopped as ComparisonStopped {
            return ComparisonOutcome(run: self, stopped: stopped)
        }
    }
}

/// A solved comparison: the comparison (nil when a training run stopped), the training runs so far
/// when one stopped, and the metrics summary.json records.
public struct ComparisonOutcome: Sendable {
    public let comparison: Comparison?
    /// The training runs done when one stopped (the last one stopped early); empty otherwise.
    public let stoppedRuns: [(TrainableSet, TrainingResult)]
    /// The phase after training that a stop request ended, if any.
    public let stoppedPhase: String?
    public let metrics: ComparisonMetrics
    public var status: RunStatus { metrics.status }

    init(run: ComparisonRun, comparison: Comparison) {
        self.comparison = comparison
        (stoppedRuns, stoppedPhase) = ([], nil)
        metrics = ComparisonMetrics(run: run, comparison: comparison)
    }

    init(run: ComparisonRun, stopped: ComparisonStopped) {
        comparison = nil
        (stoppedRuns, stoppedPhase) = (stopped.runs, stopped.phase)
        metrics = ComparisonMetrics(run: run, stopped: stopped)
    }

    /// Why the comparison stopped, when it did.
    public var stopDescription: String? {
        stoppedRuns.isEmpty ? nil : ComparisonStopped(runs: stoppedRuns, phase: stoppedPhase).description
    }
}
