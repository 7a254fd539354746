import CGSL

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
public enum StreamLabel {
    public static let initialisation: UInt64 = 1
    public static let heldOut: UInt64 = 2
    public static let training: UInt64 = 3
    public static let evaluation: UInt64 = 4
    public static let monteCarlo: UInt64 = 5
}

/// A Haar-distributed orthogonal matrix (d x d, row-major): QR of a Gaussian matrix with the
/// signs of R's diagonal moved into Q (Mezzadri's recipe).
public func haarOrthogonal(d: Int, random: Random) -> [Double] {
    GSL.initialize()
    let a = gsl_matrix_alloc(d, d)!, q = gsl_matrix_alloc(d, d)!, r = gsl_matrix_alloc(d, d)!
    let tau = gsl_vector_alloc(d)!
    defer { gsl_matrix_free(a); gsl_matrix_free(q); gsl_matrix_free(r); gsl_vector_free(tau) }
    for i in 0..<d { for j in 0..<d { gsl_matrix_set(a, i, j, random.gaussian()) } }
    // A Gaussian matrix is non-singular with probability one; QR does not fail on it.
    _ = gsl_linalg_QR_decomp(a, tau)
    _ = gsl_linalg_QR_unpack(a, tau, q, r)
    var out = [Double](repeating: 0, count: d * d)
    for j in 0..<d {
        let sign: Double = gsl_matrix_get(r, j, j) < 0 ? -1 : 1
        for i in 0..<d { out[i * d + j] = sign * gsl_matrix_get(q, i, j) }
    }
    return out
}

/// Eigenvalues (ascending) of the symmetric part `(A + A^T)/2` of a d x d row-major matrix.
public func symmetricPartEigenvalues(_ a: [Double], d: Int) throws -> [Double] {
    GSL.initialize()
    let m = gsl_matrix_alloc(d, d)!, eval = gsl_vector_alloc(d)!, work = gsl_eigen_symm_alloc(d)!
    defer { gsl_matrix_free(m); gsl_vector_free(eval); gsl_eigen_symm_free(work) }
    for i in 0..<d { for j in 0..<d { gsl_matrix_set(m, i, j, 0.5 * (a[i * d + j] + a[j * d + i])) } }
    try GSL.check(gsl_eigen_symm(m, eval, work), "symmetric eigenvalues")
    return (0..<d).map { gsl_vector_get(eval, $0) }.sorted()
}
