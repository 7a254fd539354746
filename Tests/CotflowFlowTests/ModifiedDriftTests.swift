import CotflowExact
@testable import CotflowModel
import CotflowCore
import XCTest

/// The first-order modified equation (MODEL.md section 10): gradient descent with step h on the
/// reduced loss follows the gradient flow to O(h) and the flow of the drift `-G - (h/2) H G` to O(h^2).
final class ModifiedDriftTests: XCTestCase {
    /// Gradient descent on the exact reduced loss from (v0, w0, u0) for `steps` steps of size h;
    /// u moves only when W24 is free.
    private func descend(_ flow: ReducedFlow, v0: [Double], w0: [Double], h: Double, steps: Int) -> [Double] {
        let d = flow.loss.d, eta = flow.loss.etaValue, free = flow.w24.isFree
        var v = v0, w = w0, u = flow.w24.initial
        for _ in 0..<steps {
            let g = flow.loss.evaluate(pi: v.map { eta - u * $0 }, z: w.map { $0 + u }, u: u, freeU: free)
            for j in 0..<d { v[j] -= h * g.gradientV[j]; w[j] -= h * g.gradientW[j] }
            if free { u -= h * g.gradientU }
        }
        return v + w + (free ? [u] : [])
    }

    /// (v, w[, u]) of the flow at `time`, with the drift coefficient c.
    private func flowState(_ flow: ReducedFlow, v0: [Double], w0: [Double], time: Double, drift: Double) throws -> [Double] {
        var options = FlowOptions()
        options.ode.endTime = time
        options.ode.grid = .linear(points: 2)
        options.ode.absoluteTolerance = 1e-13
        options.ode.relativeTolerance = 1e-13
        options.stopRelativeLoss = 0
        options.driftCorrection = drift
        let r = try flow.integrate(v0: v0, w0: w0, options: options)
        XCTAssertEqual(r.times.last!, time, accuracy: 1e-12)
        return r.v.last! + r.w.last! + (flow.w24.isFree ? [r.u.last!] : [])
    }

    private func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    }

    /// Halving h halves the distance of gradient descent from the gradient flow (first order) and
    /// quarters its distance from the modified flow (second order). The bounds leave the next order
    /// of each expansion, O(h) relative at these h, as margin: 0.5 +- 0.1 and 0.25 + 0.1.
    func testGradientDescentFollowsTheModifiedFlowToSecondOrder() throws {
        for w24 in [W24Mode.paper, .free(initial: -1)] {
            let loss = try ReducedLoss(n: 20, d: 3, k: 3, eta: paperStepSize(n: 20, d: 3))
            let flow = ReducedFlow(loss: loss, w24: w24)
            let ranges = AssumptionInitialisation.defaultRanges(scale: 0.3)
            let start = AssumptionInitialisation(d: 3, seed: 5, vRange: ranges.v, wRange: ranges.w)
            let time = 4.0
            var plain: [Double] = [], modified: [Double] = []
            for h in [0.02, 0.01] {
                let gd = descend(flow, v0: start.v, w0: start.w, h: h, steps: Int((time / h).rounded()))
                plain.append(distance(gd, try flowState(flow, v0: start.v, w0: start.w, time: time, drift: 0)))
                modified.append(distance(gd, try flowState(flow, v0: start.v, w0: start.w, time: time, drift: h / 2)))
            }
            let label = "\(w24): plain \(plain), modified \(modified)"
            XCTAssertGreaterThan(plain[0], 1e-4, label)   // the dynamics moved: first-order distance visible
            XCTAssertEqual(plain[1] / plain[0], 0.5, accuracy: 0.1, label)
            XCTAssertLessThan(modified[1] / modified[0], 0.35, label)
            XCTAssertLessThan(modified[0], 0.2 * plain[0], label)
        }
    }

    func testDriftCorrectionIsCheckedAndMatchesTheOptimizers() throws {
        let loss = try ReducedLoss(n: 20, d: 3, k: 3, eta: paperStepSize(n: 20, d: 3))
        let start = AssumptionInitialisation(d: 3, seed: 5, vRange: -0.6 ... -0.3, wRange: 0.3...0.6)
        var options = FlowOptions()
        for bad in [-1e-3, Double.nan, .infinity] {
            options.driftCorrection = bad
            XCTAssertThrowsError(try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)) {
                guard case .driftCorrection(_, fullMatrix: false)? = $0 as? FlowConfigurationError else { return XCTFail("\($0)") }
            }
        }
        XCTAssertEqual(OptimizerKind.sgd.driftCorrection(learningRate: 0.01), 0.005)
        XCTAssertEqual(OptimizerKind.momentum(beta: 0.5).driftCorrection(learningRate: 0.01)!, 0.02 * 1.5 / 1.0, accuracy: 1e-15)
        XCTAssertNil(OptimizerKind.adam.driftCorrection(learningRate: 0.01))
    }
}
