import CotflowCore

/// An invalid training configuration (`TrainingConfig.validate()`, `Curriculum.validate(k:)`).
public enum TrainingError: ReportableError, Equatable {
    case learningRate(Double)
    case batchSize(Int)
    case steps(Int)
    case recordEvery(Int)
    case heldOutSize(Int)
    case initScale(Double)
    case nonFiniteRanges
    case clipNorm(Double)
    case curriculumWithoutChain
    case curriculumStart(Int, k: Int)
    case curriculumRamp(Double)
    case flowTime(Double)
    case noTimeMap(String)
    case flowTimeSteps(time: Double, learningRate: Double)

    public var description: String {
        switch self {
        case .learningRate(let x): return "training: learning rate must be finite and > 0 (got \(x))"
        case .batchSize(let x): return "training: batch size must be >= 1 (got \(x))"
        case .steps(let x): return "training: steps must be >= 0 (got \(x))"
        case .recordEvery(let x): return "training: recordEvery must be >= 1 (got \(x))"
        case .heldOutSize(let x): return "training: held-out size must be >= 1 (got \(x))"
        case .initScale(let x): return "training: init scale must be in [0, 100] (got \(x))"
        case .nonFiniteRanges: return "training: initial eigenvalue ranges must be finite"
        case .clipNorm(let x): return "training: the gradient clipping norm must be finite and > 0 (got \(x))"
        case .curriculumWithoutChain: return "training: a curriculum applies to the looped and cot objectives, not nocot"
        case let .curriculumStart(start, k): return "curriculum: the start length must be in 1...k = 1...\(k) (got \(start))"
        case .curriculumRamp(let x): return "curriculum: the ramp fraction must be in [0, 1) so that the run ends at k (got \(x))"
        case .flowTime(let x): return "training: the flow time must be finite and >= 0 (got \(x))"
        case .noTimeMap(let name): return "training: a fixed flow time needs an optimizer with a time map (sgd, momentum); \(name) has none"
        case let .flowTimeSteps(time, lr): return "training: flow time \(time) at learning rate \(lr) needs more than 1e9 steps"
        }
    }
}
