import CotflowCore

/// What `evaluate` and `FullBatchHessian.compute` refuse.
public enum ModelError: ReportableError, Equatable {
    case evaluationPrompts(Int)
    case dimensionMismatch(parameters: Int, task: Int)
    case hessianEntries(count: Int)
    case hessianStep(Double)
    case hessianNotFiniteAtPoint
    case hessianNotFinite

    public var description: String {
        switch self {
        case .evaluationPrompts(let p): return "evaluate: number of prompts must be >= 1 (got \(p))"
        case let .dimensionMismatch(parameters, task): return "evaluate: parameters have d = \(parameters) but the task has d = \(task)"
        case .hessianEntries(let count): return "hessian: entries must be indices into V and W (0..<\(count))"
        case .hessianStep(let h): return "hessian: the difference step must be finite and > 0 (got \(h))"
        case .hessianNotFiniteAtPoint: return "hessian: the loss or gradient at the given parameters is not finite"
        case .hessianNotFinite: return "hessian: a difference of gradients is not finite"
        }
    }
}
