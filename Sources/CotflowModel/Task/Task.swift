import CotflowCore

/// The in-context regression task of MODEL.md section 1: dimension `d`, context length `n`,
/// chain length `k`, GD step size `eta` and the covariance of the inputs (nil = identity).
public struct TaskConfig: Sendable, Equatable {
    public let d: Int
    public let n: Int
    /// Chain length k (number of GD steps / chain-of-thought tokens).
    public let k: Int
    /// GD step size eta.
    public let eta: Double
    /// d x d row-major symmetric positive definite input covariance; nil means the identity.
    public let covariance: [Double]?
    /// Lower Cholesky factor L of the covariance (Sigma = L L^T), row-major; nil for the identity.
    public let covarianceFactor: [Double]?

    /// Validates the sizes, the step size and (via Cholesky) that `covariance` is SPD.
    public init(d: Int, n: Int, k: Int, eta: Double, covariance: [Double]? = nil) throws {
        guard d >= 1 else { throw TaskError.dimension(d) }
        guard n >= 1 else { throw TaskError.contextLength(n) }
        guard k >= 1 else { throw TaskError.chainLength(k) }
        guard eta.isFinite, eta > 0 else { throw TaskError.stepSize(eta) }
        self.d = d; self.n = n; self.k = k; self.eta = eta
        if let c = covariance {
            self.covariance = c
            self.covarianceFactor = try choleskyFactor(c, d: d)
        } else {
            self.covariance = nil
            self.covarianceFactor = nil
        }
    }

    /// Same as `init(d:n:k:eta:covariance:)`.
    public init(d: Int, n: Int, chainLength: Int, stepSize: Double, covariance: [Double]? = nil) throws {
        try self.init(d: d, n: n, k: chainLength, eta: stepSize, covariance: covariance)
    }

    /// Alias of `k`.
    public var chainLength: Int { k }
    /// Alias of `eta`.
    public var stepSize: Double { eta }


    /// Diagonal covariance with condition number `kappa`: eigenvalues geometrically spaced from
    /// kappa^(-1/2) to kappa^(1/2) (determinant 1), d x d row-major.
    public static func geometricCovariance(d: Int, kappa: Double) -> [Double] {
        var m = [Double](repeating: 0, count: d * d)
        for (i, value) in geometricSpectrum(d: d, kappa: kappa).enumerated() { m[i * d + i] = value }
        return m
    }

    /// Token height D = 2d + 2.
    public var tokenSize: Int { 2 * d + 2 }

    /// The same task with another chain length.
    public func with(k newK: Int) throws -> TaskConfig {
        try TaskConfig(d: d, n: n, k: newK, eta: eta, covariance: covariance)
    }
}

/// Throws `covarianceNotSymmetric` unless the d x d row-major `c` is symmetric to 1e-12 of its largest entry.
package func checkSymmetric(_ c: [Double], d: Int) throws {
    var scale = 0.0
    for x in c { scale = max(scale, abs(x)) }
    for i in 0..<d {
        for j in 0..<i where abs(c[i * d + j] - c[j * d + i]) > 1e-12 * max(scale, 1) {
            throw TaskError.covarianceNotSymmetric(i: i, j: j)
        }
    }
}

/// Lower Cholesky factor of a d x d row-major matrix; throws unless it is symmetric positive definite.
package func choleskyFactor(_ c: [Double], d: Int) throws -> [Double] {
    guard c.count == d * d else {
        throw TaskError.covarianceSize(expected: d * d, got: c.count)
    }
    guard c.allSatisfy({ $0.isFinite }) else { throw TaskError.covarianceNotFinite }
    try checkSymmetric(c, d: d)
    var scale = 0.0
    for x in c { scale = max(scale, abs(x)) }
    // Plain Cholesky; a non-positive pivot means the matrix is not positive definite.
    var l = [Double](repeating: 0, count: d * d)
    for j in 0..<d {
        var s = c[j * d + j]
        for p in 0..<j { s -= l[j * d + p] * l[j * d + p] }
        guard s > 1e-14 * max(scale, 1e-300) else {
            let ratio = s > 0 ? scale / s : Double.infinity
            throw s > 0 || ratio.isInfinite && s > -1e-14 * scale
                ? TaskError.covarianceIllConditioned(ratio: ratio) : TaskError.covarianceNotPositiveDefinite(pivot: j, value: s)
        }
        let ljj = s.squareRoot()
        l[j * d + j] = ljj
        for i in (j + 1)..<max(j + 1, d) {
            var t = c[i * d + j]
            for p in 0..<j { t -= l[i * d + p] * l[j * d + p] }
            l[i * d + j] = t / ljj
        }
    }
    return l
}

/// A batch of prompts. For the chain objectives only `S` and `w*` matter; the looped objective
/// also needs the data matrices `X` (every column of Z changes under the looped layer).
///
/// Sampling: `w* ~ N(0, I_d)` first, then the data. When `X` is not needed and `n >= d`,
/// `n S` is drawn directly from the Wishart law by the Bartlett decomposition
/// (`n S = L A A^T L^T`, A lower triangular with `A_ii = sqrt(chi2(n - i + 1))`, i = 1..d, and
/// N(0,1) entries below the diagonal; `L` the Cholesky factor of Sigma), which has exactly the law
/// of `X X^T` and costs O(d^3) instead of O(n d^2). Otherwise `x_j = L g_j`, g_j ~ N(0, I), and
/// `S = X X^T / n`. The two routes give different prompts for the same stream.
public struct PromptBatch: Sendable {
    public let count: Int
    public let d: Int
    public let n: Int
    /// count blocks of d x d row-major sample covariances S.
    public var S: [Double]
    /// count blocks of d entries: w*.
    public var wStar: [Double]
    /// count blocks of d x n row-major data matrices X (nil when sampled by Bartlett).
    public var X: [Double]?

    public init(count: Int, d: Int, n: Int, S: [Double], wStar: [Double], X: [Double]?) {
        precondition(S.count == count * d * d && wStar.count == count * d)
        precondition(X == nil || X!.count == count * d * n)
        self.count = count; self.d = d; self.n = n; self.S = S; self.wStar = wStar; self.X = X
    }

    /// Draws `count` prompts of `task` from `random`; `includeData` forces sampling X.
    public static func sample(task: TaskConfig, count: Int, random: Random, includeData: Bool) -> PromptBatch {
        var batch = PromptBatch(count: count, d: task.d, n: task.n, S: [], wStar: [], X: nil, unchecked: ())
        batch.resample(task: task, random: random, includeData: includeData)
        return batch
    }

    private init(count: Int, d: Int, n: Int, S: [Double], wStar: [Double], X: [Double]?, unchecked: Void) {
        self.count = count; self.d = d; self.n = n; self.S = S; self.wStar = wStar; self.X = X
    }

    /// Draws this batch's `count` prompts again from `random`, as `sample` would, into its own
    /// storage (no allocation when the sizes are those of the last draw: a training step's chunk).
    package mutating func resample(task: TaskConfig, random: Random, includeData: Bool) {
        GSL.initialize()
        let d = task.d, n = task.n
        precondition(d == self.d && n == self.n)
        let useX = includeData || n < d
        // Moved out of self so that each is uniquely referenced (written in place) and accessed apart.
        var sAll = S, wAll = wStar, xAll = X
        S = []; wStar = []; X = nil
        if sAll.count != count * d * d { sAll = [Double](repeating: 0, count: count * d * d) }
        if wAll.count != count * d { wAll = [Double](repeating: 0, count: count * d) }
        if !useX { xAll = nil } else if xAll?.count != count * d * n { xAll = [Double](repeating: 0, count: count * d * n) }
        let invN = 1 / Double(n), size = useX ? d * n : d * d, count = count
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * size) { scratch in
            let g = scratch.baseAddress!, l = g + size
            sAll.withUnsafeMutableBufferPointer { sb in
                wAll.withUnsafeMutableBufferPointer { wb in
                    for p in 0..<count {
                        for i in 0..<d { wb[p * d + i] = random.gaussian() }
                        let sp = sb.baseAddress! + p * d * d
                        if useX {
                            // Row-major X (d x n): draw column by column so that each x_j = L g_j.
                            for j in 0..<n { for i in 0..<d { g[i * n + j] = random.gaussian() } }
                            var x = g
                            if let f = task.covarianceFactor {
                                for t in 0..<(d * n) { l[t] = 0 }
                                for i in 0..<d { for q in 0...i { let lv = f[i * d + q]; for j in 0..<n { l[i * n + j] += lv * g[q * n + j] } } }
                                x = l
                            }
                            xAll!.withUnsafeMutableBufferPointer { xb in (xb.baseAddress! + p * d * n).update(from: x, count: d * n) }
                            smallGemm(false, true, d, d, n, invN, x, n, x, n, 0, sp, d)  // S = X X^T / n
                        } else {
                            // Bartlett: A lower triangular, row-major (0-based row i has n - i degrees of freedom).
                            for i in 0..<d {
                                for j in 0..<i { g[i * d + j] = random.gaussian() }
                                g[i * d + i] = random.chiSquared(Double(n - i)).squareRoot()
                            }
                            var a = g
                            if let f = task.covarianceFactor {
                                // A <- L A (still lower triangular).
                                for i in 0..<d { for j in 0...i { var s = 0.0; for q in j...i { s += f[i * d + q] * g[q * d + j] }; l[i * d + j] = s } }
                                a = l
                            }
                            lowerGram(d, invN, a, sp)  // S = A A^T / n
                        }
                    }
                }
            }
        }
        S = sAll; wStar = wAll; X = xAll
    }

    /// The GD chain `w_{i+1} = w_i - eta S (w_i - w*)`, `w_0 = 0`, for prompt `p`: (k+1) x d row-major.
    public func chain(prompt p: Int, eta: Double, k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: (k + 1) * d)
        out.withUnsafeMutableBufferPointer { o in
            S.withUnsafeBufferPointer { s in
                wStar.withUnsafeBufferPointer { w in
                    gdChain(s.baseAddress! + p * d * d, w.baseAddress! + p * d, d: d, eta: eta, k: k, into: o.baseAddress!)
                }
            }
        }
        return out
    }

    /// The GD chain's own loss `||w_k - w*||^2` for every prompt.
    public func chainLosses(eta: Double, k: Int) -> [Double] {
        (0..<count).map { p in
            let c = chain(prompt: p, eta: eta, k: k)
            var s = 0.0
            for i in 0..<d { let e = c[k * d + i] - wStar[p * d + i]; s += e * e }
            return s
        }
    }

    /// Largest eigenvalue of S for every prompt.
    public func largestEigenvalues() throws -> [Double] {
        try (0..<count).map { p in
            try symmetricPartEigenvalues(Array(S[(p * d * d)..<((p + 1) * d * d)]), d: d).last!
        }
    }
}

/// Writes the GD chain w_0..w_k (rows of d) for one prompt.
@inlinable
package func gdChain(_ s: UnsafePointer<Double>, _ wStar: UnsafePointer<Double>, d: Int, eta: Double, k: Int,
             into out: UnsafeMutablePointer<Double>) {
    for i in 0..<d { out[i] = 0 }
    withUnsafeTemporaryAllocation(of: Double.self, capacity: d) { fb in
        let f = fb.baseAddress!
        for step in 0..<k {
            let w = out + step * d, next = out + (step + 1) * d
            // next_r = w_r + sum_c f_c S_cr (c ascending), f_c = -eta (w_c - w*_c): rows of the
            // symmetric S in SIMD lanes, the sums kept in registers.
            for c in 0..<d { f[c] = -eta * (w[c] - wStar[c]) }
            var r = 0
            while r + 8 <= d { chainBlock(SIMD8<Double>.self, w + r, f, s + r, d, into: next + r); r += 8 }
            if r + 4 <= d { chainBlock(SIMD4<Double>.self, w + r, f, s + r, d, into: next + r); r += 4 }
            if r + 2 <= d { chainBlock(SIMD2<Double>.self, w + r, f, s + r, d, into: next + r); r += 2 }
            if r < d {
                var acc = w[r]
                for c in 0..<d { acc += f[c] * s[c * d + r] }
                next[r] = acc
            }
        }
    }
}

/// `next[0 ..< lanes] = w + sum_c f_c s[c * d ..< lanes]`, c ascending.
@inlinable @inline(__always)
package func chainBlock<V: SIMD>(_: V.Type, _ w: UnsafePointer<Double>, _ f: UnsafePointer<Double>, _ s: UnsafePointer<Double>,
                                 _ d: Int, into next: UnsafeMutablePointer<Double>) where V.Scalar == Double {
    var acc = UnsafeRawPointer(w).loadUnaligned(as: V.self)
    for c in 0..<d { acc += V(repeating: f[c]) * UnsafeRawPointer(s + c * d).loadUnaligned(as: V.self) }
    UnsafeMutableRawPointer(next).storeBytes(of: acc, as: V.self)
}
