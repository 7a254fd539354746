import ArgumentParser
import CotflowExperiments
import CotflowCore
import CotflowModel

/// The sizes of a training run, shared by `train`, `compare` and `sweep` (train and compare
/// jobs); unset, each takes its command's default from its configuration type.
struct TrainingRunOptions: ParsableArguments {
    /// `train`'s defaults and `compare`'s.
    static let train = TrainingConfig.defaults(task: TrainingConfig.defaultTask())
    static let compare: ComparisonConfig = {
        do { return try ComparisonConfig.defaults(d: 1, n: 1, k: 1, eta: Rational(1), seed: 0) } catch {
            preconditionFailure("(d, n, k) = (1, 1, 1) with eta = 1 is a valid task: \(error)")
        }
    }()

    @Option(name: .customLong("learning-rate"), parsing: .unconditional,
            help: "Learning rate. (default: train \(fmt(train.learningRate)); compare \(fmt(compare.training.learningRate)) with sgd, \(fmt(train.learningRate)) with adam)")
    var learningRate: Double?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Prompts per step. (default: train \(train.batchSize), compare \(compare.training.batchSize))")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "Optimizer steps. (default: train \(train.steps), compare \(compare.training.steps))")
    var steps: Int?
    @Option(name: .customLong("record-every"), parsing: .unconditional, help: "Steps between trajectory records. (default: \(train.recordEvery))")
    var recordEvery: Int?
    @Option(name: .customLong("held-out"), parsing: .unconditional, help: "Size of the fixed held-out set of the training loss. (default: train \(train.heldOutSize), compare \(compare.training.heldOutSize))")
    var heldOut: Int?

    func validate() throws {
        if let learningRate { guard learningRate.isFinite, learningRate > 0 else { throw ValidationError("--learning-rate must be positive and finite (got \(learningRate))") } }
        if let batchSize { guard batchSize >= 1, batchSize <= 100_000_000 else { throw ValidationError("--batch-size must be from 1 to 100000000 (got \(batchSize))") } }
        if let steps { guard steps >= 0, steps <= 1_000_000_000 else { throw ValidationError("--steps must be from 0 to 1000000000 (got \(steps))") } }
        if let recordEvery { guard recordEvery >= 1 else { throw ValidationError("--record-every must be at least 1 (got \(recordEvery))") } }
        if let heldOut { guard heldOut >= 1, heldOut <= 100_000_000 else { throw ValidationError("--held-out must be from 1 to 100000000 (got \(heldOut))") } }
    }

    /// The given sizes over `defaults`.
    func resolved(over defaults: TrainingSizes) -> TrainingSizes {
        TrainingSizes(learningRate: learningRate ?? defaults.learningRate, batchSize: batchSize ?? defaults.batchSize,
                      steps: steps ?? defaults.steps, recordEvery: recordEvery ?? defaults.recordEvery, heldOut: heldOut ?? defaults.heldOut)
    }

    /// Memory and work of a run at these sizes, checked before any allocation (usage error).
    func checkLimits(_ task: TaskOptions, _ sizes: TrainingSizes, objective: TrainingObjective, command: String) throws {
        try checkingInput {
            try TrainingLimits.checkTraining(d: task.d, n: task.n, k: task.k, batch: sizes.batchSize, heldOut: sizes.heldOut,
                                     steps: sizes.steps, recordEvery: sizes.recordEvery, objective: objective,
                                     what: "\(command) at --d \(task.d) --n \(task.n) --k \(task.k) with --batch-size \(sizes.batchSize) and --held-out \(sizes.heldOut)")
        }
    }

    /// Options given, as (axis name, flag).
    var given: [(String, String)] {
        [("learning_rate", "--learning-rate", learningRate != nil), ("batch_size", "--batch-size", batchSize != nil),
         ("steps", "--steps", steps != nil), ("record_every", "--record-every", recordEvery != nil), ("held_out", "--held-out", heldOut != nil)]
            .filter(\.2).map { ($0.0, $0.1) }
    }
}

/// Learning rate and sizes of a training run, resolved.
struct TrainingSizes {
    var learningRate: Double, batchSize: Int, steps: Int, recordEvery: Int, heldOut: Int

    init(learningRate: Double, batchSize: Int, steps: Int, recordEvery: Int, heldOut: Int) {
        (self.learningRate, self.batchSize, self.steps, self.recordEvery, self.heldOut) = (learningRate, batchSize, steps, recordEvery, heldOut)
    }

    init(_ c: TrainingConfig) {
        self.init(learningRate: c.learningRate, batchSize: c.batchSize, steps: c.steps, recordEvery: c.recordEvery, heldOut: c.heldOutSize)
    }

    init(_ c: ComparisonConfig) {
        self.init(c.training)
    }
}
