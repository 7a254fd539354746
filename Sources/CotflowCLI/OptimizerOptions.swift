import ArgumentParser
import CotflowModel

/// `--optimizer` and its parameters, shared by `train`, `compare` and `sweep` (train and compare
/// jobs); unset, each takes its command's default. What an optimizer is lives in `OptimizerKind`.
struct OptimizerOptions: ParsableArguments {
    @Option(help: "Optimizer; notes/training.md gives each one's update and time map to flow time. (default: train \(TrainingRunOptions.train.optimizer.name), compare \(TrainingRunOptions.compare.training.optimizer.name))")
    var optimizer: OptimizerKind?
    @Option(help: "Heavy-ball coefficient beta in [0, 1) of --optimizer momentum (v <- beta v + g, theta <- theta - lr v; flow time t = h (step - beta (1 - beta^step) / (1 - beta)), h = lr / (1 - beta)). (default: \(OptimizerKind.defaultMomentum))")
    var momentum: Double?

    func validate() throws {
        _ = try resolved()
    }

    /// The optimizer given, with its parameters; nil when none is given.
    func resolved() throws -> OptimizerKind? {
        guard var kind = optimizer else {
            if momentum != nil { throw ValidationError(OptimizerError.momentumWithoutMomentumOptimizer(nil).description) }
            return nil
        }
        try checkingInput {
            kind = try kind.with(momentum: momentum)
            try kind.validate()
        }
        return kind
    }

    /// The optimizer given, else `defaultKind`.
    func resolved(default defaultKind: OptimizerKind) throws -> OptimizerKind {
        try resolved() ?? defaultKind
    }
}
