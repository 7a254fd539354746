import CotflowCore
@testable import CotflowModel
import XCTest

final class HessianTests: XCTestCase {
    /// The difference Hessian of the looped loss is symmetric to difference accuracy, and its
    /// quadratic model predicts the loss change along a random direction: L(p + e u) - L(p) - e g.u
    /// = e^2/2 u^T H u + O(e^3), checked at two e (the O(e^3) remainder shrinks 8-fold).
    func testLoopedHessianPredictsSecondOrderChange() throws {
        let d = 2, n = 6
        let task = try TaskConfig(d: d, n: n, k: 3, eta: paperStepSize(n: n, d: d).doubleValue)
        let batch = PromptBatch.sample(task: task, count: 16, random: Random(seed: 3, stream: [1]), includeData: true)
        let r = Random(seed: 8, stream: [2])
        let dim = 2 * d + 2
        let p = TransformerParameters(d: d, V: (0..<(dim * dim)).map { _ in 0.3 * r.gaussian() }, W: (0..<(dim * dim)).map { _ in 0.3 * r.gaussian() })
        let entries = Array(0..<(2 * dim * dim))
        let h = try FullBatchHessian.compute(.looped, parameters: p, task: task, batch: batch, entries: entries)
        XCTAssertLessThan(h.relativeAsymmetry, 1e-5)
        let m = entries.count
        let u = (0..<m).map { _ in r.gaussian() }
        var uHu = 0.0
        for j in 0..<m {
            let v = h.eigenvector(j)
            let c = zip(v, u).reduce(0) { $0 + $1.0 * $1.1 }
            uHu += h.eigenvalues[j] * c * c
        }
        let gu = zip(h.gradient, u).reduce(0) { $0 + $1.0 * $1.1 }
        func remainder(_ e: Double) -> Double {
            var q = p
            for i in 0..<(dim * dim) { q.V[i] += e * u[i]; q.W[i] += e * u[dim * dim + i] }
            let l = Objectives.compute(.looped, parameters: q, task: task, batch: batch, gradient: false).loss
            return l - h.loss - e * gu - 0.5 * e * e * uHu
        }
        let r1 = abs(remainder(1e-3)), r2 = abs(remainder(5e-4))
        XCTAssertLessThan(r1, 0.1 * abs(0.5 * 1e-6 * uHu), "the quadratic term dominates the remainder")
        XCTAssertLessThan(r2, r1 / 4, "the remainder is third order")
        // Block shares of an eigenvector sum to 1.
        XCTAssertEqual(FullBatchHessian.blockShares(h.eigenvector(0), entries: entries, d: d).reduce(0) { $0 + $1.share }, 1, accuracy: 1e-12)
    }

    /// The spectrum's read-outs: gradient components, resolution, counts, main blocks, the entries.
    func testSpectrumReadOuts() throws {
        let d = 1, n = 4
        let task = try TaskConfig(d: d, n: n, k: 2, eta: paperStepSize(n: n, d: d).doubleValue)
        let batch = PromptBatch.sample(task: task, count: 8, random: Random(seed: 5, stream: [1]), includeData: true)
        let p = TransformerParameters.construction(d: d, eta: task.eta)
        let dim = 2 * d + 2
        XCTAssertEqual(FullBatchHessian.entries(reduced: false, d: d), Array(0..<(2 * dim * dim)))
        let reduced = FullBatchHessian.entries(reduced: true, d: d)
        let masks = TransformerParameters.reducedMasks(d: d)
        XCTAssertEqual(reduced.count, masks.V.filter { $0 }.count + masks.W.filter { $0 }.count)
        XCTAssertTrue(reduced.allSatisfy { $0 < dim * dim ? masks.V[$0] : masks.W[$0 - dim * dim] })
        let h = try FullBatchHessian.compute(.cot, parameters: p, task: task, batch: batch, entries: FullBatchHessian.entries(reduced: false, d: d))
        let m = h.entries.count
        // Components along an orthonormal basis keep the gradient's norm.
        XCTAssertEqual(h.gradientComponents.reduce(0) { $0 + $1 * $1 }.squareRoot(), h.gradientNorm, accuracy: 1e-9 * max(h.gradientNorm, 1))
        XCTAssertEqual(h.resolution, max(h.relativeAsymmetry, 1e-12) * max(abs(h.eigenvalues[0]), abs(h.eigenvalues[m - 1])))
        XCTAssertEqual(h.negativeCount + h.unresolvedCount + h.eigenvalues.filter { $0 > h.resolution }.count, m)
        for j in [0, m - 1] {
            let blocks = h.mainBlocks(j, d: d)
            XCTAssertFalse(blocks.isEmpty)
            XCTAssertTrue(blocks.allSatisfy { $0.share >= 0.01 })
            XCTAssertEqual(blocks.map(\.share), blocks.map(\.share).sorted(by: >))
        }
    }
}
