import CotflowCore
import CotflowExact
import Foundation

/// A training run as a value (`cotflow train`): the exact step size and the one training
/// configuration. Building it resolves every default; nothing runs until `solve`.
public struct TrainingRun: RecordableRun {
    public static let computation = "train"

    /// The GD step size, exact (`config.task.eta` is its double).
    public var eta: Rational
    public var config: TrainingConfig

    /// The run with the settings given; nil takes the default of `TrainingConfig.defaults` (the
    /// one place of the training defaults), `eta` nil the paper's n/(n+d+1), the ranges nil the
    /// Assumption 4.1 ranges of `initScale`.
    public init(d: Int, n: Int, k: Int, eta: Rational? = nil, seed: UInt64, objective: TrainingObjective = .cot,
                trainable: TrainableSet? = nil, initialisation: InitialisationKind? = nil, initScale: Double? = nil,
                vRange: ClosedRange<Double>? = nil, wRange: ClosedRange<Double>? = nil, optimizer: OptimizerKind? = nil,
                learningRate: Double? = nil, batchSize: Int? = nil, steps: Int? = nil, recordEvery: Int? = nil, heldOut: Int? = nil,
                curriculum: Curriculum? = nil, clipNorm: Double? = nil) throws {
        let eta = eta ?? paperStepSize(n: n, d: d)
        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        let defaults = TrainingConfig.defaults(task: task, objective: objective, seed: seed)
        self.eta = eta
        config = TrainingConfig(
            task: task, objective: objective, trainable: trainable ?? defaults.trainable, initialisation: initialisation ?? defaults.initialisation,
            initScale: initScale ?? defaults.initScale, vRange: vRange, wRange: wRange, optimizer: optimizer ?? defaults.optimizer,
            learningRate: learningRate ?? defaults.learningRate, batchSize: batchSize ?? defaults.batchSize, steps: steps ?? defaults.steps,
            recordEvery: recordEvery ?? defaults.recordEvery, heldOutSize: heldOut ?? defaults.heldOutSize, seed: seed,
            curriculum: curriculum, clipNorm: clipNorm)
    }

    /// The configuration's checks, then the memory and work of the run at its sizes (before any allocation).
    public func validate() throws {
        // The task's own checks too: a decoded run (rerun) has not been through TaskConfig's init.
        try TaskLimits.check(d: config.task.d, n: config.task.n, k: config.task.k)
        try config.validate()
        guard config.task.eta == eta.doubleValue else { throw TaskError.stepSize(config.task.eta) }
        let t = config.task
        try TrainingLimits.checkTraining(d: t.d, n: t.n, k: t.k, batch: config.batchSize, heldOut: config.heldOutSize, objective: config.objective,
                                         what: "training at --d \(t.d) --n \(t.n) --k \(t.k) with --batch-size \(config.batchSize) and --held-out \(config.heldOutSize)")
        try estimate().check(what: "training at --d \(t.d) --n \(t.n) --k \(t.k) with --steps \(config.steps), --batch-size \(config.batchSize) and --held-out \(config.heldOutSize)",
                             lower: "--steps, --batch-size, --held-out, --d or --k")
    }

    /// Trains; `reporting(step, total, batchLoss)` after every optimizer step.
    public func solve(reporting: ((Int, Int, Double) -> Void)? = nil) throws -> TrainingOutcome {
        try validate()
        let result = try Trainer(config: config).run(reporting: reporting)
        return TrainingOutcome(run: self, result: result)
    }

    /// The task as summaries record it.
    public var task: TaskRecord { TaskRecord(d: config.task.d, n: config.task.n, k: config.task.k, eta: eta, seed: config.seed) }

    /// d, n, k and eta of parameter files.
    package var taskFields: [(String, JSONValue)] { task.fileFields }
}

/// A solved training run: the trainer's result, its status and the metrics summary.json records.
public struct TrainingOutcome: Sendable {
    public let result: TrainingResult
    public let metrics: TrainingMetrics
    public var status: RunStatus { metrics.status }

    public init(run: TrainingRun, result: TrainingResult) {
        self.result = result
        metrics = TrainingMetrics(run: run, result: result)
    }
}

extension TrainingStatus {
    /// The common status of a run.
    public var runStatus: RunStatus {
        switch self {
        case .completed: return .completed
        case .diverged(let step, let reason): return .diverged(step: step, reason: reason)
        case .interrupted(let step, let signal): return .interrupted(step: step, signal: signal)
        }
    }
}

/// What summary.json records of a training run, besides the run itself: the run's main settings
/// again (for readers of the file), the status, the held-out losses at the end and the parameters' shape.
public struct TrainingMetrics: Codable, Sendable {
    public var task: TaskRecord
    public var objective: TrainingObjective
    public var params: TrainableSet
    public var `init`: InitialisationKind
    public var optimizer: OptimizerKind
    public var curriculum: CurriculumRecord?
    public var clipNorm: Double?
    public var clippedSteps: Int
    /// Steps done (where a run that stopped early stopped).
    public var steps: Int
    public var seconds: Double
    /// The mean held-out CoT loss at the end; nil (JSON null) for a diverged run, which has no final values.
    public var finalCoTLoss: Double?
    /// The step of the last record (for a diverged run: the last finite values, not final ones).
    public var lastRecordStep: Int?
    public var status: RunStatus
    /// The held-out statistics at the end; nil (not written) for a diverged run.
    public var evalLoss: LossStatistics?
    public var cotLoss: LossStatistics?
    public var w24: Double
    public var offBlockNorm: Double

    /// The curriculum as run: its settings and its stages.
    public struct CurriculumRecord: Codable, Sendable {
        /// "loops" (looped) or "chain_length" (cot).
        public var over: String
        public var start: Int
        public var rampFraction: Double
        public var stages: [Stage]

        /// A stage of the curriculum: from which step it trains at which length.
        public struct Stage: Codable, Sendable {
            public var fromStep: Int
            public var length: Int
            private enum CodingKeys: String, CodingKey { case fromStep = "from_step", length }
        }
        private enum CodingKeys: String, CodingKey { case over, start, rampFraction = "ramp_fraction", stages }
    }

    public init(run: TrainingRun, result r: TrainingResult) {
        let c = run.config
        task = run.task
        (objective, params, `init`, optimizer) = (c.objective, c.trainable, c.initialisation, c.optimizer)
        curriculum = c.curriculum.map {
            CurriculumRecord(over: c.objective == .looped ? "loops" : "chain_length", start: $0.start, rampFraction: $0.rampFraction,
                             stages: r.curriculumStages.map { .init(fromStep: $0.fromStep, length: $0.length) })
        }
        clipNorm = c.clipNorm
        (clippedSteps, steps, seconds, finalCoTLoss, status) = (r.clippedSteps, r.stepsDone, r.seconds, r.heldOutCoT?.mean, r.status.runStatus)
        lastRecordStep = r.status.isDiverged ? r.lastRecord?.step : nil
        (evalLoss, cotLoss) = (r.heldOutEval.map(LossStatistics.init), r.heldOutCoT.map(LossStatistics.init))
        (w24, offBlockNorm) = (r.parameters.W24, r.parameters.offBlockNorm)
    }

    private enum CodingKeys: String, CodingKey {
        case objective, params, `init`, optimizer, momentum, curriculum
        case clipNorm = "clip_norm", clippedSteps = "clipped_steps", steps, seconds, finalCoTLoss = "final_cot_loss"
        case lastRecordStep = "last_record_step"
        case w24, offBlockNorm = "off_block_norm"
    }

    public func encode(to encoder: Encoder) throws {
        try task.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(objective, forKey: .objective); try c.encode(params, forKey: .params); try c.encode(`init`, forKey: .`init`)
        try optimizer.encodeFlat(to: &c, name: .optimizer, momentum: .momentum)
        try c.encodeIfPresent(curriculum, forKey: .curriculum)
        try c.encodeIfPresent(clipNorm, forKey: .clipNorm); try c.encode(clippedSteps, forKey: .clippedSteps)
        try c.encode(steps, forKey: .steps); try c.encode(seconds, forKey: .seconds); try c.encode(finalCoTLoss, forKey: .finalCoTLoss)
        if let lastRecordStep { try c.encode(lastRecordStep, forKey: .lastRecordStep) }
        try status.encode(to: encoder)
        try evalLoss?.encode(to: encoder, prefix: "eval_loss_")
        try cotLoss?.encode(to: encoder, prefix: "cot_loss_")
        try c.encode(w24, forKey: .w24); try c.encode(offBlockNorm, forKey: .offBlockNorm)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try TaskRecord(from: decoder)
        objective = try c.decode(TrainingObjective.self, forKey: .objective)
        params = try c.decode(TrainableSet.self, forKey: .params)
        `init` = try c.decode(InitialisationKind.self, forKey: .`init`)
        optimizer = try OptimizerKind(flat: c, name: .optimizer, momentum: .momentum)
        curriculum = try c.decodeIfPresent(CurriculumRecord.self, forKey: .curriculum)
        clipNorm = try c.decodeIfPresent(Double.self, forKey: .clipNorm)
        clippedSteps = try c.decode(Int.self, forKey: .clippedSteps)
        (steps, seconds, finalCoTLoss) = (try c.decode(Int.self, forKey: .steps), try c.decode(Double.self, forKey: .seconds), try c.decodeIfPresent(Double.self, forKey: .finalCoTLoss))
        lastRecordStep = try c.decodeIfPresent(Int.self, forKey: .lastRecordStep)
        status = try RunStatus(from: decoder)
        // A diverged run has no final statistics (its summary has no eval_loss_* or cot_loss_* keys).
        let statistics = try decoder.container(keyedBy: AnyCodingKey.self)
        evalLoss = statistics.contains(AnyCodingKey("eval_loss_mean")) ? try LossStatistics(from: decoder, prefix: "eval_loss_") : nil
        cotLoss = statistics.contains(AnyCodingKey("cot_loss_mean")) ? try LossStatistics(from: decoder, prefix: "cot_loss_") : nil
        (w24, offBlockNorm) = (try c.decode(Double.self, forKey: .w24), try c.decode(Double.self, forKey: .offBlockNorm))
    }
}

extension OptimizerKind {
    /// The optimizer flat, as every summary has it: its name under `name`, then its parameters (`momentum`).
    package func encodeFlat<Key: CodingKey>(to c: inout KeyedEncodingContainer<Key>, name: Key, momentum: Key) throws {
        try c.encode(self.name, forKey: name)
        if case .momentum(let beta) = self { try c.encode(beta, forKey: momentum) }
    }

    /// Decodes an optimizer written by `encodeFlat`.
    package init<Key: CodingKey>(flat c: KeyedDecodingContainer<Key>, name: Key, momentum: Key) throws {
        let text = try c.decode(String.self, forKey: name)
        guard let kind = OptimizerKind(name: text) else {
            throw DecodingError.dataCorruptedError(forKey: name, in: c, debugDescription: "unknown optimizer '\(text)'")
        }
        self = try kind.with(momentum: c.decodeIfPresent(Double.self, forKey: momentum))
    }
}
