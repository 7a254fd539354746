import CotflowCore

/// The largest degrees the exact moment routes take in reasonable time and memory.
public enum ExactLimits {
    /// Total degree of a moment at the identity: the recursion visits every partition of the degree.
    public static let degree = 60
    /// Degree of a single trace with a covariance (zonal route: partitions of the degree).
    public static let covarianceDegree = 28
    /// Total degree of a joint moment with a covariance (word recursion: states grow ~3.3x per 2 degrees).
    public static let jointCovarianceDegree = 16
    /// Total degree of the symbolic polynomial in n and p_r.
    public static let symbolicCovarianceDegree = 12
}

/// The exact `E || w_k - w* ||^2` of the GD chain beside a sampled evaluation: at the identity
/// (`spectrum` nil) or at a diagonal covariance's eigenvalues (taken exactly; notes/exact-moments.md,
/// section 8). Nil when the chain is beyond `ExactLimits`.
public func gdChainReference(n: Int, d: Int, k: Int, eta: Rational, spectrum: CovarianceSpectrum?) throws -> BoundedValue? {
    guard let spectrum else {
        guard 2 * k <= ExactLimits.degree else { return nil }
        return BoundedValue(value: gdChainLoss(n: n, d: d, k: k, eta: eta), errorBound: .zero)
    }
    guard 2 * k <= ExactLimits.covarianceDegree else { return nil }
    return try gdChainLoss(n: n, k: k, eta: eta, spectrum: spectrum)
}
