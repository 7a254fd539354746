import CotflowCore

/// The initialisation of Assumption 4.1: `V31 = U diag(v) U^T`, `W13 = U diag(w) U^T` with a
/// Haar-random orthonormal basis `U` shared by both. Training (`--init assumption`) and the
/// reduced flow draw from this one sampler, so that both start from the same point for a seed.
///
/// Sign convention (notes/conventions.md): `v` is drawn negative and `w` positive, because the
/// construction is `V31 = -eta I`, `W13 = I` and the flow from small values of these signs heads there.
public struct AssumptionInitialisation: Sendable, Equatable {
    /// Eigenvalues of V31, in the order of the columns of `basis()`.
    public let v: [Double]
    /// Eigenvalues of W13.
    public let w: [Double]
    public let d: Int
    public let seed: UInt64

    /// Default eigenvalue ranges at initial scale `sigma`: v in [-2 sigma, -sigma], w in [sigma, 2 sigma].
    public static func defaultRanges(scale sigma: Double) -> (v: ClosedRange<Double>, w: ClosedRange<Double>) {
        (v: (-2 * sigma)...(-sigma), w: sigma...(2 * sigma))
    }

    /// Draws eigenvalues uniformly from the ranges (stream `[StreamLabel.initialisation]` of `seed`).
    /// The basis comes from a stream of its own and is computed only on request: the reduced flow
    /// needs the eigenvalues alone, and a Haar basis costs O(d^3).
    public init(d: Int, seed: UInt64, vRange: ClosedRange<Double>, wRange: ClosedRange<Double>) {
        precondition(d >= 1)
        let random = Random(seed: seed, stream: [StreamLabel.initialisation])
        self.d = d
        self.seed = seed
        self.v = (0..<d).map { _ in random.uniform(vRange.lowerBound, vRange.upperBound) }
        self.w = (0..<d).map { _ in random.uniform(wRange.lowerBound, wRange.upperBound) }
    }

    /// The shared Haar eigenbasis, d x d row-major; column j is the eigenvector of v[j] and w[j].
    public func basis() -> [Double] {
        haarOrthogonal(d: d, random: Random(seed: seed, stream: [StreamLabel.initialisation, 1]))
    }

    /// `U diag(lambda) U^T`, d x d row-major, for the basis `U` returned by `basis()`.
    public static func matrix(eigenvalues lambda: [Double], basis: [Double]) -> [Double] {
        let d = lambda.count
        var m = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for a in 0..<d { s += basis[i * d + a] * lambda[a] * basis[j * d + a] }
                m[i * d + j] = s
            }
        }
        return m
    }
}

/// Labels of independent random streams derived from one user seed.
package enum StreamLabel {
    public static let initialisation: UInt64 = 1
    public static let heldOut: UInt64 = 2
    public static let training: UInt64 = 3
    public static let evaluation: UInt64 = 4
    public static let monteCarlo: UInt64 = 5
}
