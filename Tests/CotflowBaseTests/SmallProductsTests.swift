import CGSL
@testable import CotflowCore
@testable import CotflowModel
import Foundation
import XCTest

/// The per-prompt kernels against a naive reference in their documented order (bit for bit) and
/// against OpenBLAS (to rounding), on random shapes including edge sizes.
final class SmallProductsTests: XCTestCase {
    /// `alpha (sum_p op(A)_ip op(B)_pj, p ascending) + beta C_ij`, one entry at a time.
    /// Causal: row i sums p <= i only.
    private func reference(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double, _ a: [Double], _ lda: Int,
                           _ b: [Double], _ ldb: Int, _ beta: Double, _ c: [Double], _ ldc: Int, causal: Bool = false) -> [Double] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<(causal ? min(i + 1, k) : k) { s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]) }
                out[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j]
            }
        }
        return out
    }

    func testSmallGemmMatchesReferenceBitForBitAndBLASToRounding() {
        GSL.initialize()
        let random = Random(seed: 21)
        // Edge sizes (1, widths around the SIMD blocks of 2, 4, 8) and the kernels' own shapes.
        var shapes = [(1, 1, 1), (1, 9, 1), (3, 1, 5), (20, 10, 10), (1, 11, 20), (1, 20, 11), (22, 22, 21), (10, 10, 200), (5, 0, 3), (4, 3, 0)]
        // Two rows at a time with every tail after a block of 8 or 4 (1-3 more columns summed in the same pass).
        for n in [2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21] { shapes.append((2 + n % 3, n, 1 + n % 5)) }
        for _ in 0..<40 { shapes.append((1 + Int(random.uniform() * 13), 1 + Int(random.uniform() * 19), 1 + Int(random.uniform() * 17))) }
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for (alpha, beta) in [(1.0, 0.0), (0.025, 1.0), (-1.5, 0.5)] {
                    // Leading dimensions larger than the operands, so that strides are exercised.
                    let lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3
                    let a = (0..<((ta ? k : m) * lda)).map { _ in random.gaussian() }
                    let b = (0..<((tb ? n : k) * ldb)).map { _ in random.gaussian() }
                    let c0 = (0..<(m * ldc)).map { _ in random.gaussian() }
                    var c = c0
                    smallGemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, &c, ldc)
                    let label = "(\(m), \(n), \(k)), trans (\(ta), \(tb)), alpha \(alpha), beta \(beta)"
                    XCTAssertEqual(c.map(\.bitPattern), reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc).map(\.bitPattern), label)
                    var blas = c0
                    if m > 0 && n > 0 {
                        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                    alpha, a, Int32(lda), b, Int32(ldb), beta, &blas, Int32(ldc))
                    }
                    // Rounding: a sum of k products differs by at most about k ulps of the sum of |terms|.
                    for i in 0..<m {
                        for j in 0..<n {
                            var magnitude = abs(beta * c0[i * ldc + j])
                            for p in 0..<k {
                                magnitude += abs(alpha * (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]))
                            }
                            XCTAssertEqual(c[i * ldc + j], blas[i * ldc + j], accuracy: 4 * Double(k + 2) * magnitude * .ulpOfOne, label)
                        }
                    }
                    // Padding columns of C are not touched.
                    for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j].bitPattern, c0[i * ldc + j].bitPattern) } }
                }
            }
        }
    }

    /// Every kernel (Swift, and the C ones in AVX2 and AVX-512F where this CPU runs them) gives the
    /// documented order's bits, plain and causal, on every shape: rows 1-9 (blocks of 4 or 3 and
    /// every remainder), columns 1-52 (every masked tail of 4- and 8-wide vectors, one to three
    /// column blocks of 12 or 24), inner sizes 0-13 and 256 (the largest transposed op(B) the C
    /// kernels copy), every transposition, beta 0 (C not read: NaN there must not leak) and not,
    /// and leading dimensions larger than the operands (padding untouched).
    func testEveryKernelMatchesTheDocumentedOrderBitForBit() {
        let random = Random(seed: 77)
        let kernels = SmallProductKernel.allCases.filter(\.isSupported)
        var shapes: [(Int, Int, Int)] = []
        for m in 1...9 { for n in 1...26 { shapes.append((m, n, 1 + (m * 7 + n) % 13)) } }
        for n in [27, 33, 47, 48, 49, 52] { shapes.append((5, n, 6)) }
        for k in [0, 1, 2, 255, 256] { shapes.append((3, 11, k)) }
        shapes.append((20, 11, 20))  // the chain part of G
        var compared = 0
        for (m, n, k) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                for (alpha, beta) in [(1.0, 0.0), (-1.5, 0.5), (0.025, 1.0)] {
                    let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5
                    let a = (0..<max(1, (ta ? k : m) * lda)).map { _ in random.gaussian() }
                    let b = (0..<max(1, (tb ? n : k) * ldb)).map { _ in random.gaussian() }
                    var c0 = (0..<(m * ldc)).map { _ in random.gaussian() }
                    if beta == 0 { for i in 0..<m { for j in 0..<n { c0[i * ldc + j] = .nan } } }
                    for causal in [false, true] {
                        let expected = reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc, causal: causal).map(\.bitPattern)
                        for kernel in kernels {
                            var c = c0
                            let ran = smallProduct(kernel: kernel, ta, tb, causal: causal, m, n, k, alpha, a, lda, b, ldb, beta, &c, ldc)
                            let label = "\(kernel.name): (\(m), \(n), \(k)), trans (\(ta), \(tb)), causal \(causal), alpha \(alpha), beta \(beta)"
                            XCTAssertTrue(ran, label)
                            XCTAssertEqual(c.map(\.bitPattern), expected, label)
                            if kernel != .swift { compared += 1 }
                        }
                    }
                }
            }
        }
        for kernel in kernels where kernel != .swift {
            // A transposed op(B) with more than 256 rows is left to the Swift kernel (C untouched).
            var c = [Double](repeating: 7, count: 4)
            let a = [Double](repeating: 1, count: 2 * 257), b = [Double](repeating: 2, count: 2 * 257)
            XCTAssertFalse(smallProduct(kernel: kernel, false, true, causal: false, 2, 2, 257, 1, a, 257, b, 257, 0, &c, 2))
            XCTAssertEqual(c, [7, 7, 7, 7])
            // smallGemm then computes it all the same.
            SmallProductKernel.with(kernel) { smallGemm(false, true, 2, 2, 257, 1, a, 257, b, 257, 0, &c, 2) }
            XCTAssertEqual(c, [514, 514, 514, 514])
        }
        #if arch(x86_64)
        // This machine's CPU (x86-64 with AVX2 at least) must have run the C kernels.
        XCTAssertEqual(SmallProductKernel.avx2.isSupported, cot_small_gemm_best() >= 1)
        if cot_small_gemm_best() >= 1 { XCTAssertGreaterThan(compared, 0) }
        #endif
    }

    /// `SmallProductKernel.with` makes every `smallGemm` of the process use the kernel, then restores
    /// the previous one; the process's kernel is the widest unless COTFLOW_KERNEL narrows it.
    func testForcingEachKernel() {
        let start = SmallProductKernel.current
        let best = SmallProductKernel(rawValue: cot_small_gemm_best())!
        switch ProcessInfo.processInfo.environment["COTFLOW_KERNEL"] {
        case "swift": XCTAssertEqual(start, .swift)
        case "avx2": XCTAssertEqual(start, best == .avx512 ? .avx2 : best)
        default: XCTAssertEqual(start, best)
        }
        let a: [Double] = [1, 2, 3, 4, 5, 6], b: [Double] = [0.5, -1, 2, 0.25, 3, 1]
        for kernel in SmallProductKernel.allCases where kernel.isSupported {
            SmallProductKernel.with(kernel) {
                XCTAssertEqual(SmallProductKernel.current, kernel)
                var c = [Double](repeating: .nan, count: 4)
                smallGemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, &c, 2)
                let expected: [Double] = [13.5, 2.5, 30, 3.25]  // exact in binary
                XCTAssertEqual(c, expected)
            }
            XCTAssertEqual(SmallProductKernel.current, start)
        }
        XCTAssertTrue(SmallProductKernel.swift.isSupported)
    }

    /// The C GD chains (AVX-512F, four prompts side by side) give `gdChain`'s bits prompt by prompt,
    /// for every masked tail of d up to 24 and every remainder of four prompts; other kernels and
    /// d > 24 leave the chains to the caller.
    func testGDChainsKernelMatchesGDChainBitForBit() {
        let random = Random(seed: 9)
        var compared = 0
        for kernel in SmallProductKernel.allCases where kernel.isSupported {
            for d in [1, 2, 3, 7, 8, 9, 10, 15, 16, 17, 23, 24, 25] {
                for (count, k) in [(1, 3), (2, 1), (3, 6), (4, 5), (7, 0), (9, 4)] {
                    let s = (0..<(count * d * d)).map { _ in random.gaussian() / Double(d) }
                    let w = (0..<(count * d)).map { _ in random.gaussian() }
                    let size = (k + 1) * d
                    var reference = [Double](repeating: .nan, count: count * size), out = reference
                    s.withUnsafeBufferPointer { sb in
                        w.withUnsafeBufferPointer { wb in
                            reference.withUnsafeMutableBufferPointer { rb in
                                for p in 0..<count {
                                    gdChain(sb.baseAddress! + p * d * d, wb.baseAddress! + p * d, d: d, eta: 0.3, k: k, into: rb.baseAddress! + p * size)
                                }
                            }
                        }
                    }
                    let ran = gdChainsKernel(kernel: kernel, count: count, d: d, k: k, eta: 0.3, s: s, wStar: w, into: &out)
                    let label = "\(kernel.name): d \(d), \(count) prompts, k \(k)"
                    XCTAssertEqual(ran, kernel == .avx512 && d <= 24, label)
                    if ran {
                        XCTAssertEqual(out.map(\.bitPattern), reference.map(\.bitPattern), label)
                        compared += 1
                    } else {
                        XCTAssertTrue(out.allSatisfy(\.isNaN), label)
                    }
                }
            }
        }
        if SmallProductKernel.avx512.isSupported { XCTAssertGreaterThan(compared, 0) }
    }

    func testLowerGramMatchesReferenceAndIsSymmetric() {
        let random = Random(seed: 5)
        for d in [1, 2, 3, 7, 10, 17] {
            var l = (0..<(d * d)).map { _ in random.gaussian() }
            let garbage = l  // above the diagonal: must not be read
            var c = [Double](repeating: .nan, count: d * d)
            lowerGram(d, 0.25, l, &c)
            for i in 0..<d { for j in (i + 1)..<max(i + 1, d) { l[i * d + j] = 0 } }
            for i in 0..<d {
                for j in 0..<d {
                    var s = 0.0
                    for q in 0...min(i, j) { s += l[i * d + q] * l[j * d + q] }
                    XCTAssertEqual(c[i * d + j].bitPattern, (0.25 * s).bitPattern, "d = \(d), (\(i), \(j))")
                }
            }
            XCTAssertEqual(garbage.count, d * d)
        }
    }

    /// Resampling a batch in place draws the same prompts as sampling a new one from the same stream.
    func testResampleInPlaceMatchesSample() throws {
        for (d, n, data) in [(3, 7, false), (4, 2, false), (3, 5, true)] {
            let task = try TaskConfig(d: d, n: n, k: 2, eta: 0.3)
            let a = Random(seed: 4, stream: [1]), b = Random(seed: 4, stream: [1])
            var batch = PromptBatch.sample(task: task, count: 5, random: a, includeData: data)
            _ = PromptBatch.sample(task: task, count: 5, random: b, includeData: data)
            batch.resample(task: task, random: a, includeData: data)
            let fresh = PromptBatch.sample(task: task, count: 5, random: b, includeData: data)
            XCTAssertEqual(batch.S.map(\.bitPattern), fresh.S.map(\.bitPattern))
            XCTAssertEqual(batch.wStar, fresh.wStar)
            XCTAssertEqual(batch.X, fresh.X)
            // S is the sample covariance of X where X is drawn.
            if let x = fresh.X {
                for p in 0..<5 {
                    for i in 0..<d {
                        for j in 0..<d {
                            var s = 0.0
                            for t in 0..<n { s += x[p * d * n + i * n + t] * x[p * d * n + j * n + t] }
                            XCTAssertEqual(fresh.S[p * d * d + i * d + j], s / Double(n), accuracy: 1e-12 * max(1, abs(s)))
                        }
                    }
                }
            }
        }
    }

    /// A workspace hands out consecutive slices, grows only when asked for more than it has.
    func testWorkspaceReuse() {
        let ws = Workspace()
        ws.reset(reserving: 10)
        let a = ws.take(4), b = ws.takeZeroed(6)
        XCTAssertEqual(b - a, 4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: b, count: 6)), [Double](repeating: 0, count: 6))
        ws.reset(reserving: 8)
        XCTAssertEqual(ws.take(8), a, "a smaller reservation reuses the buffer")
        let pool = WorkspacePool()
        let first = pool.with { ObjectIdentifier($0) }
        XCTAssertEqual(pool.with { ObjectIdentifier($0) }, first, "a returned workspace is lent again")
    }
}
