import CotflowCore
import Foundation

/// An invalid task (`TaskConfig`): sizes, step size or covariance.
public enum TaskError: ReportableError, Equatable {
    case dimension(Int)
    case contextLength(Int)
    case chainLength(Int)
    case stepSize(Double)
    case covarianceSize(expected: Int, got: Int)
    case covarianceNotFinite
    case covarianceNotSymmetric(i: Int, j: Int)
    /// The factorisation needs a condition number below about 1e14; `ratio` is a lower bound (infinite: unknown).
    case covarianceIllConditioned(ratio: Double)
    case covarianceNotPositiveDefinite(pivot: Int, value: Double)

    /// A task is what the user asked for (sizes, step size, covariance): always input (exit 64).
    public var kind: ErrorKind { .input }

    public var description: String {
        switch self {
        case .dimension(let d): return "task: dimension d must be >= 1 (got \(d))"
        case .contextLength(let n): return "task: context length n must be >= 1 (got \(n))"
        case .chainLength(let k): return "task: chain length k must be >= 1 (got \(k))"
        case .stepSize(let eta): return "task: step size eta must be finite and > 0 (got \(eta))"
        case let .covarianceSize(expected, got): return "task: covariance must have d*d = \(expected) entries (got \(got))"
        case .covarianceNotFinite: return "task: covariance has non-finite entries"
        case let .covarianceNotSymmetric(i, j): return "task: covariance is not symmetric (entries (\(i),\(j)) and (\(j),\(i)) differ)"
        case .covarianceIllConditioned(let ratio):
            return "task: the covariance's condition number (at least \(ratio.isFinite ? String(format: "%.3g", ratio) : "1e16")) is beyond what double precision can factor (about 1e14); give a better conditioned covariance"
        case let .covarianceNotPositiveDefinite(pivot, value):
            return "task: the covariance is not positive definite (Cholesky pivot \(pivot) is \(value) < 0)"
        }
    }
}
