@testable import CotflowModel
import CotflowCore
import XCTest

/// `GradientNoiseScale` against the objective's own batch gradient and per-prompt gradients.
final class GradientNoiseScaleTests: XCTestCase {
    func testNoiseScaleFromPerPromptGradients() throws {
        let task = try TaskConfig(d: 3, n: 10, k: 3, eta: paperStepSize(n: 10, d: 3).doubleValue)
        let start = AssumptionInitialisation(d: 3, seed: 2, vRange: -0.6 ... -0.3, wRange: 0.3...0.6)
        let basis = start.basis()
        let parameters = TransformerParameters.reduced(d: 3, v31: AssumptionInitialisation.matrix(eigenvalues: start.v, basis: basis),
                                                       w13: AssumptionInitialisation.matrix(eigenvalues: start.w, basis: basis))
        let batch = PromptSets.sample(task: task, count: 200, seed: 4, label: StreamLabel.monteCarlo, includeData: false)
        let noise = GradientNoiseScale.measure(parameters: parameters, task: task, batch: batch)
        // The per-prompt gradients one at a time, through the objective's public entry point.
        var gradients: [[Double]] = [], losses: [Double] = []
        for i in 0..<batch.count {
            let one = PromptBatch(count: 1, d: 3, n: 10, S: Array(batch.S[(i * 9)..<((i + 1) * 9)]), wStar: Array(batch.wStar[(i * 3)..<((i + 1) * 3)]), X: nil)
            let r = Objectives.compute(.cot, parameters: parameters, task: task, batch: one)
            gradients.append(r.gradV! + r.gradW!); losses.append(r.loss)
        }
        let count = Double(batch.count)
        let mean = (0..<gradients[0].count).map { j in gradients.reduce(0) { $0 + $1[j] } / count }
        let all = Objectives.compute(.cot, parameters: parameters, task: task, batch: batch)
        let batchNorm = (all.gradV! + all.gradW!).reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        let meanNorm = mean.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        var trace = 0.0
        for g in gradients { for (a, b) in zip(g, mean) { trace += (a - b) * (a - b) } }
        trace /= count - 1
        // Sums in another order: agreement to a few hundred roundings.
        XCTAssertEqual(noise.gradientNorm, meanNorm, accuracy: 1e-12 * meanNorm)
        XCTAssertEqual(noise.gradientNorm, batchNorm, accuracy: 1e-12 * batchNorm)
        XCTAssertEqual(noise.covarianceTrace, trace, accuracy: 1e-10 * trace)
        XCTAssertEqual(noise.noiseScale, trace / (meanNorm * meanNorm), accuracy: 1e-9 * noise.noiseScale)
        XCTAssertEqual(noise.losses.mean, all.loss, accuracy: 1e-12 * all.loss)
        let largest = gradients.map { $0.reduce(0.0) { $0 + $1 * $1 }.squareRoot() }.max()!
        XCTAssertEqual(noise.gradientNorms.maximum, largest, accuracy: 1e-12 * largest)
        XCTAssertGreaterThan(noise.noiseScale, 0)
        // A mask zeroes the other entries: the reduced set's gradient is part of the full one.
        let masks = TransformerParameters.reducedMasks(d: 3)
        let reduced = GradientNoiseScale.measure(parameters: parameters, task: task, batch: batch, mask: (masks.V, masks.W))
        XCTAssertLessThanOrEqual(reduced.gradientNorm, noise.gradientNorm * (1 + 1e-12))
        XCTAssertLessThanOrEqual(reduced.covarianceTrace, noise.covarianceTrace * (1 + 1e-12))
    }
}
