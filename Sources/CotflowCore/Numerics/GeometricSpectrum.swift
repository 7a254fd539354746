import Foundation

/// Eigenvalues of the out-of-distribution covariance with condition number `kappa`: geometrically
/// spaced from kappa^(-1/2) to kappa^(1/2) (determinant 1), ascending, as doubles. The one
/// definition used by `cotflow eval --condition-number`, `cotflow exact` and the examples.
public func geometricSpectrum(d: Int, kappa: Double) -> [Double] {
    (0..<d).map { i in d == 1 ? 1 : pow(kappa, Double(i) / Double(d - 1) - 0.5) }
}

/// A bound on the relative error of each entry of `geometricSpectrum` against the real number
/// kappa^(i/(d-1) - 1/2) (kappa taken as the double given): the computed exponent is off by at most
/// 2^-53 in absolute terms, which moves kappa^e by a relative |ln kappa| 2^-53, and `pow` adds at most
/// one ulp (2^-52 relative); a factor 2 to spare.
public func geometricSpectrumRelativeError(kappa: Double) -> Double {
    2 * (1 + abs(log(kappa))) * 0x1p-52
}
