import ArgumentParser
import CotflowExperiments
import CotflowCore
import CotflowModel

/// The optimizer and sizes of a training run, shared by `train`, `compare` and `sweep` (train and
/// compare jobs). Unset, each is resolved by the run description: `TrainingRun` (train),
/// `ComparisonRun` (compare), `ExperimentSettings` (sweep).
struct TrainingOptions: ParsableArguments {
    static let train = TrainingConfig.defaults(task: TrainingConfig.defaultTask()), compare = ComparisonRun.defaultTraining

    @Option(help: "Optimizer; notes/training.md gives each one's update and time map to flow time. (default: train \(train.optimizer.name), compare \(compare.optimizer.name))")
    var optimizer: OptimizerKind?
    @Option(help: "Heavy-ball coefficient beta in [0, 1) of --optimizer momentum (v <- beta v + g, theta <- theta - lr v; flow time t = h (step - beta (1 - beta^step) / (1 - beta)), h = lr / (1 - beta)). (default: \(OptimizerKind.defaultMomentum))")
    var momentum: Double?
    @Option(name: .customLong("learning-rate"), parsing: .unconditional,
            help: "Learning rate. (default: train \(fmt(train.learningRate)); compare \(fmt(compare.learningRate)) with sgd, \(fmt(ComparisonRun.defaultLearningRate(optimizer: .adam))) with adam)")
    var learningRate: Double?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Prompts per step. (default: train \(train.batchSize), compare \(compare.batchSize))")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "Optimizer steps. (default: train \(train.steps), compare \(compare.steps))")
    var steps: Int?
    @Option(name: .customLong("record-every"), parsing: .unconditional, help: "Steps between trajectory records. (default: \(train.recordEvery))")
    var recordEvery: Int?
    @Option(name: .customLong("held-out"), parsing: .unconditional, help: "Size of the fixed held-out set of the training loss. (default: train \(train.heldOutSize), compare \(compare.heldOutSize))")
    var heldOut: Int?

    /// The ranges a size can take at all (naming the option); what fits in memory and time is the run's check (`TrainingLimits`).
    func validate() throws {
        if let learningRate, !(learningRate.isFinite && learningRate > 0) { throw ValidationError("--learning-rate must be positive and finite (got \(learningRate))") }
        for (flag, x, range) in [("--batch-size", batchSize, 1...100_000_000), ("--steps", steps, 0...1_000_000_000), ("--record-every", recordEvery, 1...Int.max),
                                 ("--held-out", heldOut, 1...100_000_000)] {
            if let x, !range.contains(x) { throw ValidationError("\(flag) must be " + (range.upperBound == .max ? "at least 1" : "from \(range.lowerBound) to \(range.upperBound)") + " (got \(x))") }
        }
        _ = try resolvedOptimizer()
    }

    /// The optimizer given, with its parameters; nil when none is given.
    func resolvedOptimizer() throws -> OptimizerKind? {
        guard let optimizer else {
            if momentum != nil { throw ValidationError(OptimizerError.momentumWithoutMomentumOptimizer(nil).description) }
            return nil
        }
        var kind = optimizer
        try checkingInput { kind = try optimizer.with(momentum: momentum); try kind.validate() }
        return kind
    }
}
