import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

/// The per-prompt reduced loss and the best constant GD step (CotflowExact/PromptLoss.swift),
/// against the exact population loss `ReducedLoss`.
final class ExactPromptLossTests: XCTestCase {
    /// The per-prompt losses average to the exact population loss (ReducedLoss) over Wishart S.
    func testPromptLossesAverageToReducedLoss() throws {
        let d = 3, n = 12, k = 3
        let eta = paperStepSize(n: n, d: d)
        let v = [-0.3, -0.5, -0.1], w = [0.4, 0.9, 0.2]
        let exact = try ReducedLoss(n: n, d: d, k: k, eta: eta)
            .loss(p: v.map { $0 + eta.doubleValue }, q: w.map { $0 - 1 })
        let count = 20_000
        let random = Random(seed: 3)
        var s = [Double](repeating: 0, count: count * d * d)
        var x = [Double](repeating: 0, count: d * n)
        for p in 0..<count {
            for i in x.indices { x[i] = random.gaussian() }
            for r in 0..<d { for c in 0..<d {
                var sum = 0.0
                for j in 0..<n { sum += x[r * n + j] * x[c * n + j] }
                s[p * d * d + r * d + c] = sum / Double(n)
            } }
        }
        let losses = reducedPromptLosses(covariances: s, count: count, d: d, v: v, w: w, eta: eta.doubleValue, k: k)
        let summary = SampleSummary(losses)
        XCTAssertLessThan(abs(summary.mean - exact), 5 * summary.standardError, "sampled \(summary.mean) +- \(summary.standardError), exact \(exact)")
        // At the construction v = -eta, w = 1 every prompt's loss is zero.
        let zero = reducedPromptLosses(covariances: Array(s.prefix(100 * d * d)), count: 100, d: d, v: [Double](repeating: -eta.doubleValue, count: d),
                                       w: [1, 1, 1], eta: eta.doubleValue, k: k)
        XCTAssertLessThan(zero.max()!, 1e-25)
    }

    /// At k = 1 the best constant step is the paper's n/(n+d+1), and the loss there is the exact no-CoT optimum.
    func testBestConstantStepAtOneStepIsThePapersStep() {
        let (n, d) = (20, 10)
        let best = bestConstantStep(n: n, d: d, k: 1, eta: paperStepSize(n: n, d: d).doubleValue)
        XCTAssertEqual(best.step, 20.0 / 31, accuracy: 1e-6)
        XCTAssertEqual(best.loss, 110.0 / 31, accuracy: 1e-9)
    }
}
