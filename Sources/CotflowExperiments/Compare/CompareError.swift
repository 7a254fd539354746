import CotflowCore
import CotflowModel

/// What a comparison refuses or where it stops (every message begins "compare: ").
public enum CompareError: ReportableError, Equatable {
    case noTrainableSet
    case objectiveNotCoT(TrainingObjective)
    case stepSize(training: Double, eta: String)
    case noTrainingSteps
    case tooFewRecords(steps: Int)
    case fullFlowPrompts(Int)
    /// The full-matrix flow needs training's steps mapped to flow time; this optimizer has no map.
    case fullFlowNeedsTimeMap(OptimizerKind)
    case randomStartNotFull
    case randomStartNeedsFullFlow
    /// The reduced flow (`full: false`) or the full-matrix flow stopped before the last record time.
    case flowStopped(full: Bool, at: Double, lastRecord: Double)
    /// The full-matrix flow failed (its failure's message).
    case fullFlowFailed(String)

    /// A refused configuration is the user's input (exit 64); a flow that stopped is the run's (exit 1).
    public var kind: ErrorKind {
        switch self {
        case .flowStopped, .fullFlowFailed: return .failed
        default: return .input
        }
    }

    public var description: String {
        "compare: " + {
            switch self {
            case .noTrainableSet: return "no trainable set to run"
            case .objectiveNotCoT(let objective): return "the flows descend the CoT loss; training's objective must be cot (got \(objective.rawValue))"
            case let .stepSize(training, eta): return "training's step size \(training) is not eta = \(eta)"
            case .noTrainingSteps: return "need at least one training step"
            case .tooFewRecords(let steps):
                return "stage detection needs at least 5 records; use --record-every <= \(max(steps / 4, 1)) for \(steps) steps"
            case .fullFlowPrompts(let prompts): return "the full-matrix flow needs at least one prompt (got \(prompts))"
            case .fullFlowNeedsTimeMap(let optimizer):
                return "the full-matrix flow is compared on training's time map to flow time, which \(optimizer.name) does not have; use --optimizer "
                    + OptimizerKind.allCases.filter(\.hasTimeMap).map(\.name).joined(separator: " or ")
            case .randomStartNotFull:
                return "a random start is off the reduced model (V31 and W13 have no shared eigenbasis, every block is non-zero): use --params full"
            case .randomStartNeedsFullFlow:
                return "a random start has no reduced flow to compare with; add --full-flow to compare training with the full-matrix flow"
            case let .flowStopped(full, t, last):
                return "the \(full ? "full-matrix " : "")flow stopped at t = \(t) before the last record time \(last)"
            case .fullFlowFailed(let failure): return failure
            }
        }()
    }
}
