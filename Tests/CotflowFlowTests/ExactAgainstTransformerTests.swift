import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

/// The exact reduced loss L(v, w) and its gradient against Monte Carlo averages of the full
/// transformer's teacher-forced CoT loss and analytic gradient, with V31 = diag(v), W13 = diag(w),
/// W24 = -1 and every other block zero.
final class ExactAgainstTransformerTests: XCTestCase {
    func testReducedLossAndGradientMatchTheTransformer() throws {
        let (d, n, k) = (3, 10, 3)
        let eta = paperStepSize(n: n, d: d)
        // Non-equal v and w, away from the construction.
        let v: [Double] = [-0.3, -0.5, -0.65], w: [Double] = [0.4, 0.75, 1.1]
        let exact = try ReducedLoss(n: n, d: d, k: k, eta: eta)
        let (exactLoss, gradP, gradQ) = exact.lossAndGradient(p: v.map { $0 + eta.doubleValue }, q: w.map { $0 - 1 })
        // The double evaluation agrees with the exact rational one.
        let rational = exact.exactLoss(v: v.map { Rational(exactly: $0) }, w: w.map { Rational(exactly: $0) })
        XCTAssertEqual(exactLoss, rational.doubleValue, accuracy: 1e-12 * abs(exactLoss))

        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        var v31 = [Double](repeating: 0, count: d * d), w13 = v31
        for j in 0..<d { v31[j * d + j] = v[j]; w13[j * d + j] = w[j] }
        let parameters = TransformerParameters.reduced(d: d, v31: v31, w13: w13)
        let dim = 2 * d + 2
        let vRows = TransformerParameters.blockRange(3, d: d), xCols = TransformerParameters.blockRange(1, d: d)

        // Independent batches give the spread of the batch-mean gradient.
        let batches = 500, perBatch = 400
        var losses: [Double] = []
        var gradients: [[Double]] = []  // per batch: dL/dv_1..d, dL/dw_1..d
        for b in 0..<batches {
            let random = Random(seed: 2024, stream: [StreamLabel.monteCarlo, UInt64(b)])
            let batch = PromptBatch.sample(task: task, count: perBatch, random: random, includeData: false)
            let result = Objectives.compute(.cot, parameters: parameters, task: task, batch: batch)
            losses += result.perPrompt
            let gV = try XCTUnwrap(result.gradV), gW = try XCTUnwrap(result.gradW)
            var g: [Double] = []
            for j in 0..<d { g.append(gV[(vRows.lowerBound + j) * dim + xCols.lowerBound + j]) }
            for j in 0..<d { g.append(gW[(xCols.lowerBound + j) * dim + vRows.lowerBound + j]) }
            gradients.append(g)
        }
        let loss = SampleSummary(losses)
        XCTAssertFalse(loss.tailDominated)
        // The comparison has power: the sampling error is small against the value.
        XCTAssertLessThan(loss.standardError, 0.02 * exactLoss)
        XCTAssertEqual(loss.mean, exactLoss, accuracy: 3 * loss.standardError,
                       "Monte Carlo CoT loss \(loss.mean) ± \(loss.standardError), exact \(exactLoss)")
        let exactGradient = gradP + gradQ
        for i in 0..<(2 * d) {
            let g = SampleSummary(gradients.map { $0[i] })
            XCTAssertEqual(g.mean, exactGradient[i], accuracy: 3 * g.standardError,
                           "component \(i): Monte Carlo \(g.mean) ± \(g.standardError), exact \(exactGradient[i])")
        }
    }
}
