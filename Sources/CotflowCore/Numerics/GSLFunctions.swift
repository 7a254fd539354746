import CGSL

// GSL's eigensolver and distribution functions, each wrapped once, so that the modules above
// never see C (notes/architecture.md).

/// Eigenvalues (ascending) and eigenvectors of the symmetric part `(A + A^T)/2` of an m x m
/// row-major matrix; `vectors[i * m + j]` is component i of the eigenvector of eigenvalue j.
package func symmetricPartEigensystem(_ a: [Double], m: Int, what: String) throws -> (values: [Double], vectors: [Double]) {
    GSL.initialize()
    let s = gsl_matrix_alloc(m, m)!, eval = gsl_vector_alloc(m)!, evec = gsl_matrix_alloc(m, m)!, work = gsl_eigen_symmv_alloc(m)!
    defer { gsl_matrix_free(s); gsl_vector_free(eval); gsl_matrix_free(evec); gsl_eigen_symmv_free(work) }
    let scale = setSymmetricPart(s, of: a, m: m)
    try GSL.check(gsl_eigen_symmv(s, eval, evec, work), "\(what) eigen-decomposition")
    try GSL.check(gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_ASC), "sorting \(what) eigenvalues")
    var vectors = [Double](repeating: 0, count: m * m)
    for i in 0..<m { for j in 0..<m { vectors[i * m + j] = gsl_matrix_get(evec, i, j) } }
    return ((0..<m).map { Double(sign: .plus, exponent: -scale, significand: gsl_vector_get(eval, $0)) }, vectors)
}

/// Sets `matrix` to the symmetric part `(A + A^T)/2` of the m x m row-major `a`, times 2^scale
/// (returned): 0 unless its largest entry lies outside [2^-300, 2^300]. GSL's symmetric QR
/// iteration deflates an off-diagonal entry below `DBL_EPSILON (|d_i| + |d_i+1|)`, a product that
/// underflows to 0 for subnormal entries: on a matrix of subnormals (`--init-scale 1e-320`) it
/// never converges. Scaling by a power of two is exact, and eigenvalues scale with the matrix.
func setSymmetricPart(_ matrix: UnsafeMutablePointer<gsl_matrix>, of a: [Double], m: Int) -> Int {
    var largest = 0.0
    for i in 0..<m { for j in 0..<m { largest = max(largest, abs(0.5 * (a[i * m + j] + a[j * m + i]))) } }
    let scale = largest.isFinite && largest > 0 && (largest < 0x1p-300 || largest > 0x1p300) ? -Int(largest.exponent) : 0
    for i in 0..<m { for j in 0..<m { gsl_matrix_set(matrix, i, j, Double(sign: .plus, exponent: scale, significand: 0.5 * (a[i * m + j] + a[j * m + i]))) } }
    return scale
}

/// The p-quantile of Student's t distribution with `dof` degrees of freedom.
package func studentTQuantile(_ p: Double, dof: Double) -> Double { gsl_cdf_tdist_Pinv(p, dof) }

/// The p-quantile of the F distribution with (d1, d2) degrees of freedom.
package func fisherFQuantile(_ p: Double, _ d1: Double, _ d2: Double) -> Double { gsl_cdf_fdist_Pinv(p, d1, d2) }

/// The upper tail P(F > x) of the F distribution with (d1, d2) degrees of freedom.
package func fisherFUpperTail(_ x: Double, _ d1: Double, _ d2: Double) -> Double { gsl_cdf_fdist_Q(x, d1, d2) }
