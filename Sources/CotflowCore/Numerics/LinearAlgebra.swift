import CGSL

/// A Haar-distributed orthogonal matrix (d x d, row-major): QR of a Gaussian matrix with the
/// signs of R's diagonal moved into Q (Mezzadri's recipe).
package func haarOrthogonal(d: Int, random: Random) -> [Double] {
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
package func symmetricPartEigenvalues(_ a: [Double], d: Int) throws -> [Double] {
    GSL.initialize()
    let m = gsl_matrix_alloc(d, d)!, eval = gsl_vector_alloc(d)!, work = gsl_eigen_symm_alloc(d)!
    defer { gsl_matrix_free(m); gsl_vector_free(eval); gsl_eigen_symm_free(work) }
    let scale = setSymmetricPart(m, of: a, m: d)
    try GSL.check(gsl_eigen_symm(m, eval, work), "symmetric eigenvalues")
    return (0..<d).map { Double(sign: .plus, exponent: -scale, significand: gsl_vector_get(eval, $0)) }.sorted()
}
