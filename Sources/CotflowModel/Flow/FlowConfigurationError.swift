import CotflowCore

/// A start the reduced flow refuses before integrating (`ReducedFlow.integrate`).
public enum FlowConfigurationError: ReportableError, Equatable {
    case eigenvalueCount(d: Int, v: Int, w: Int)
    case initialW24(Double)
    case initialLossNotFinite
    /// A modified-drift coefficient that is negative or not finite, or one given to the full-matrix flow.
    case driftCorrection(Double, fullMatrix: Bool)

    public var description: String {
        switch self {
        case let .eigenvalueCount(d, v, w): return "initial eigenvalues must have length d = \(d) (got \(v) and \(w))"
        case .initialW24(let u): return "the initial W24 must be finite and non-zero (got \(u)): the state uses v = (eta - pi) / u"
        case .initialLossNotFinite: return "the loss at the initial point is not finite"
        case let .driftCorrection(c, fullMatrix):
            return fullMatrix ? "the full-matrix flow has no modified drift (got a drift correction \(c)); it is the reduced flow's"
                : "the drift correction must be finite and non-negative (got \(c))"
        }
    }
}
