import CGSL

/// `C = alpha op(A) op(B) + beta C` for the small row-major products made per prompt (tens to a
/// few thousand flops each), where a call into BLAS costs more than its arithmetic (notes/benchmarks.md,
/// "Small-matrix kernels"). op(A) is m x k, op(B) k x n. Every entry is computed in one fixed order,
/// the same on every machine, thread and call: `s = sum_p op(A)_ip op(B)_pj` with p ascending,
/// then `C_ij = alpha s + beta C_ij` (`alpha s` when beta = 0: C is not read). Runs the C kernel
/// of `SmallProductKernel.current` (AVX2 or AVX-512F) and otherwise `smallGemmSwift`; they compute
/// the same operations in the same order per entry, so the results are the same to the bit.
package func smallGemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                       _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                       _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
    _ = smallProduct(kernel: nil, ta, tb, causal: false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// The causal product `C_ij = alpha sum_{p <= min(i, k-1)} op(A)_ip op(B)_pj + beta C_ij` (p
/// ascending): row i of C sums only the first i+1 rows of op(B) (step i of the chain sees tokens
/// 0...i). Entry for entry the operations of `smallGemm` on row i alone with inner size min(i+1, k).
package func causalGemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                        _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
    _ = smallProduct(kernel: nil, ta, tb, causal: true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// `smallGemm` (or `causalGemm` when `causal`) with `kernel` (nil: the process's, `SmallProductKernel.current`);
/// false, C untouched, when a given C kernel does not run here (not on this CPU, or op(B) transposed
/// with k > 256). The kernels compute the same operations in the same order per entry.
@discardableResult
package func smallProduct(kernel: SmallProductKernel?, _ ta: Bool, _ tb: Bool, causal: Bool, _ m: Int, _ n: Int, _ k: Int,
                          _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                          _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) -> Bool {
    let flags = (ta ? COT_TRANS_A : 0) | (tb ? COT_TRANS_B : 0) | (causal ? COT_CAUSAL : 0)
    switch kernel {
    case nil: if cot_small_gemm(flags, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 { return true }
    case .swift?: break
    case let other?: return cot_small_gemm_with(other.rawValue, flags, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0
    }
    if causal {
        for i in 0..<m {
            smallGemmSwift(ta, tb, 1, n, min(i + 1, k), alpha, a + (ta ? i : i * lda), lda, b, ldb, beta, c + i * ldc, ldc)
        }
    } else {
        smallGemmSwift(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
    return true
}

/// The GD chains w_0..w_k (rows of d, w_0 = 0) of `count` prompts (S at `s + p d d`, w* at `wStar + p d`,
/// chain p into `out + p (k+1) d`) in C, several prompts side by side, with `kernel` (nil: the
/// process's): `w_{i+1,r} = w_ir + sum_c f_c S_cr` (from w_ir, c ascending), `f_c = (-eta)(w_ic - w*_c)`,
/// the order of CotflowModel's `gdChain`. False when that kernel has no chains here (only AVX-512F
/// has them, for d <= 24): the caller computes them.
package func gdChainsKernel(kernel: SmallProductKernel? = nil, count: Int, d: Int, k: Int, eta: Double, s: UnsafePointer<Double>,
                            wStar: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) -> Bool {
    cot_gd_chains(kernel.map { $0.rawValue } ?? -1, count, d, k, eta, s, wStar, out) != 0
}

/// The kernels behind `smallGemm` (CGSL's cotflow_small_products.h for the C ones).
package enum SmallProductKernel: Int32, CaseIterable, Sendable {
    /// `smallGemmSwift`: the build's baseline vectors (SSE2 on x86-64).
    case swift = 0
    /// C with 4-wide vectors, where the CPU has AVX2.
    case avx2 = 1
    /// C with 8-wide vectors, where the CPU has AVX-512F.
    case avx512 = 2

    /// The kernel of this process: the widest the CPU runs, or at most the one named by the
    /// environment variable COTFLOW_KERNEL (`swift`, `avx2`; other values and unset: the widest),
    /// read once at the first product.
    package static var current: SmallProductKernel { SmallProductKernel(rawValue: cot_small_gemm_kernel()) ?? .swift }

    /// Runs `body` with `kernel` as the process's kernel (when this CPU runs it; tests): every
    /// product of the process, on any thread, uses it until `body` returns.
    package static func with<T>(_ kernel: SmallProductKernel, _ body: () throws -> T) rethrows -> T {
        let previous = current
        precondition(cot_small_gemm_set_kernel(kernel.rawValue) == kernel.rawValue, "kernel \(kernel.name) does not run on this CPU")
        defer { _ = cot_small_gemm_set_kernel(previous.rawValue) }
        return try body()
    }

    /// Whether this CPU runs the kernel.
    package var isSupported: Bool { rawValue <= cot_small_gemm_best() }

    package var name: String {
        switch self {
        case .swift: "swift"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

/// `smallGemm` in Swift SIMD types (the fallback and the reference of the C kernels). Columns are
/// taken 8, 4, 2 and 1 at a time in SIMD lanes, rows two at a time (lanes and rows are independent
/// sums, which do not reassociate; Swift does not contract to FMA), so the order does not depend on
/// m, n or the lane width either.
@inlinable
package func smallGemmSwift(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
                       _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                       _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int) {
    // op(A)_ip = a[i * ai + p * ap].
    let ai = ta ? 1 : lda, ap = ta ? lda : 1
    if tb {
        // op(B)_pj = b[j * ldb + p]: four dot products at a time.
        for i in 0..<m {
            let arow = a + i * ai, ci = c + i * ldc
            var j = 0
            while j + 4 <= n {
                let b0 = b + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                for p in 0..<k {
                    let x = arow[p * ap]
                    s0 += x * b0[p]; s1 += x * b1[p]; s2 += x * b2[p]; s3 += x * b3[p]
                }
                storeScaled(SIMD4(s0, s1, s2, s3), alpha, beta, ci + j)
                j += 4
            }
            while j < n {
                let bj = b + j * ldb
                var s = 0.0
                for p in 0..<k { s += arow[p * ap] * bj[p] }
                ci[j] = beta == 0 ? alpha * s : alpha * s + beta * ci[j]
                j += 1
            }
        }
        return
    }
    // op(B)_pj = b[p * ldb + j]: rows of B in SIMD lanes, two rows of C at a time (independent
    // accumulators that share the loads of B; each entry's sum is the same). The last 1-3 columns
    // are summed in the same pass as the block of 8 or 4 before them (more independent sums).
    var i0 = 0
    while i0 + 2 <= m {
        let a0 = a + i0 * ai, a1 = a0 + ai, c0 = c + i0 * ldc, c1 = c0 + ldc
        var j = 0
        while n - j >= 8 {
            switch n - j - 8 {
            case 1: rowBlock2Tail(SIMD8<Double>.self, pair: false, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j); j = n
            case 2: rowBlock2Tail(SIMD8<Double>.self, pair: true, single: false, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j); j = n
            case 3: rowBlock2Tail(SIMD8<Double>.self, pair: true, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j); j = n
            default: rowBlock2Tail(SIMD8<Double>.self, pair: false, single: false, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j); j += 8
            }
        }
        if n - j >= 4 {
            switch n - j - 4 {
            case 1: rowBlock2Tail(SIMD4<Double>.self, pair: false, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
            case 2: rowBlock2Tail(SIMD4<Double>.self, pair: true, single: false, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
            case 3: rowBlock2Tail(SIMD4<Double>.self, pair: true, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
            default: rowBlock2Tail(SIMD4<Double>.self, pair: false, single: false, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
            }
            j = n
        }
        switch n - j {
        case 1: rowBlock2Tail(SIMD2<Double>.self, lanes: false, pair: false, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
        case 2: rowBlock2Tail(SIMD2<Double>.self, pair: false, single: false, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
        case 3: rowBlock2Tail(SIMD2<Double>.self, pair: false, single: true, a0, a1, ap, b + j, ldb, k, alpha, beta, c0 + j, c1 + j)
        default: break
        }
        i0 += 2
    }
    for i in i0..<m {
        let arow = a + i * ai, ci = c + i * ldc
        var j = 0
        while j + 8 <= n {
            storeScaled(rowBlock(SIMD8<Double>.self, arow, ap, b + j, ldb, k), alpha, beta, ci + j)
            j += 8
        }
        if j + 4 <= n {
            storeScaled(rowBlock(SIMD4<Double>.self, arow, ap, b + j, ldb, k), alpha, beta, ci + j)
            j += 4
        }
        if j + 2 <= n {
            storeScaled(rowBlock(SIMD2<Double>.self, arow, ap, b + j, ldb, k), alpha, beta, ci + j)
            j += 2
        }
        if j < n {
            var s = 0.0
            for p in 0..<k { s += arow[p * ap] * b[p * ldb + j] }
            ci[j] = beta == 0 ? alpha * s : alpha * s + beta * ci[j]
        }
    }
}

/// `sum_p a[p * ap] * b[p * ldb + 0 ..< lanes]`, p ascending.
@inlinable @inline(__always)
package func rowBlock<V: SIMD>(_: V.Type, _ a: UnsafePointer<Double>, _ ap: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
                               _ k: Int) -> V where V.Scalar == Double {
    var acc = V()
    var x = a, row = UnsafeRawPointer(b)
    let step = ldb &* MemoryLayout<Double>.stride
    for _ in 0..<k {
        acc += V(repeating: x.pointee) * row.loadUnaligned(as: V.self)
        x += ap; row += step
    }
    return acc
}

/// Rows a0 and a1 times columns `0 ..< lanes` of B (a block of V's width when `lanes`, then 2 more
/// when `pair`, then 1 more when `single`), stored as `alpha s + beta c` into c0 and c1: every sum
/// over p ascending, all in one pass over p.
@inlinable @inline(__always)
package func rowBlock2Tail<V: SIMD>(_: V.Type, lanes: Bool = true, pair: Bool, single: Bool,
                                    _ a0: UnsafePointer<Double>, _ a1: UnsafePointer<Double>, _ ap: Int,
                                    _ b: UnsafePointer<Double>, _ ldb: Int, _ k: Int, _ alpha: Double, _ beta: Double,
                                    _ c0: UnsafeMutablePointer<Double>, _ c1: UnsafeMutablePointer<Double>) where V.Scalar == Double {
    let w = lanes ? V.scalarCount : 0
    var acc0 = V(), acc1 = V(), pair0 = SIMD2<Double>(), pair1 = SIMD2<Double>(), both = SIMD2<Double>()
    var x0 = a0, x1 = a1, row = UnsafeRawPointer(b)
    let step = ldb &* MemoryLayout<Double>.stride
    for _ in 0..<k {
        let s0 = x0.pointee, s1 = x1.pointee
        if lanes {
            let bp = row.loadUnaligned(as: V.self)
            acc0 += V(repeating: s0) * bp
            acc1 += V(repeating: s1) * bp
        }
        if pair {
            let bp = row.loadUnaligned(fromByteOffset: w &* 8, as: SIMD2<Double>.self)
            pair0 += SIMD2(repeating: s0) * bp
            pair1 += SIMD2(repeating: s1) * bp
        }
        if single {
            both += SIMD2(s0, s1) * SIMD2(repeating: row.load(fromByteOffset: (w &+ (pair ? 2 : 0)) &* 8, as: Double.self))
        }
        x0 += ap; x1 += ap; row += step
    }
    if lanes { storeScaled(acc0, alpha, beta, c0); storeScaled(acc1, alpha, beta, c1) }
    if pair { storeScaled(pair0, alpha, beta, c0 + w); storeScaled(pair1, alpha, beta, c1 + w) }
    if single {
        let t = w + (pair ? 2 : 0)
        c0[t] = beta == 0 ? alpha * both.x : alpha * both.x + beta * c0[t]
        c1[t] = beta == 0 ? alpha * both.y : alpha * both.y + beta * c1[t]
    }
}

/// `c[0 ..< lanes] = alpha s + beta c` (`alpha s` when beta = 0).
@inlinable @inline(__always)
package func storeScaled<V: SIMD>(_ s: V, _ alpha: Double, _ beta: Double, _ c: UnsafeMutablePointer<Double>) where V.Scalar == Double {
    var out = alpha * s
    if beta != 0 { out += beta * UnsafeRawPointer(c).loadUnaligned(as: V.self) }
    UnsafeMutableRawPointer(c).storeBytes(of: out, as: V.self)
}

/// The lower triangle and its mirror of `C = alpha L L^T` for a lower-triangular row-major d x d L
/// (entries above the diagonal are not read): `C_ij = alpha sum_{q <= min(i, j)} L_iq L_jq`, q ascending.
@inlinable
package func lowerGram(_ d: Int, _ alpha: Double, _ l: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>) {
    for i in 0..<d {
        let li = l + i * d
        for j in 0...i {
            let lj = l + j * d
            var s = 0.0
            for q in 0...j { s += li[q] * lj[q] }
            c[i * d + j] = alpha * s
            c[j * d + i] = alpha * s
        }
    }
}
