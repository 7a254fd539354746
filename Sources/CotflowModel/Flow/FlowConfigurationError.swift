import CotflowCore

/// A start the reduced flow refuses before integrating (`ReducedFlow.integrate`).
public enum FlowConfigurationError: ReportableError, Equatable {
    case eigenvalueCount(d: Int, v: Int, w: Int)
    case initialW24(Double)
    case initialLossNotFinite

    public var description: String {
        switch self {
        case let .eigenvalueCount(d, v, w): return "initial eigenvalues must have length d = \(d) (got \(v) and \(w))"
        case .initialW24(let u): return "the initial W24 must be finite and non-zero (got \(u)): the state uses v = (eta - pi) / u"
        case .initialLossNotFinite: return "the loss at the initial point is not finite"
        }
    }
}
