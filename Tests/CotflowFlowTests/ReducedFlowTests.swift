import CotflowExact
@testable import CotflowModel
import CotflowCore
import XCTest

final class ReducedFlowTests: XCTestCase {
    /// (d, n, k) = (5, 40, 5) with the paper's eta and an Assumption 4.1 initialisation at scale 0.05.
    private func setting() throws -> (ReducedFlow, AssumptionInitialisation) {
        let loss = try ReducedLoss(n: 40, d: 5, k: 5, eta: paperStepSize(n: 40, d: 5))
        let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
        let start = AssumptionInitialisation(d: 5, seed: 11, vRange: ranges.v, wRange: ranges.w)
        return (ReducedFlow(loss: loss), start)
    }

    func testFlowConvergesToTheConstructionWithNonIncreasingLoss() throws {
        let (flow, start) = try setting()
        let result = try flow.integrate(v0: start.v, w0: start.w)
        XCTAssertTrue(result.converged, "\(result.stopReason)")
        let eta = flow.loss.etaValue
        // Loss <= 1e-10 of its start; the loss is quadratic in the deviation near the minimum, so
        // the deviation is about 1e-5 of its initial size (which is O(1)).
        for v in result.v.last! { XCTAssertEqual(v, -eta, accuracy: 1e-3) }
        for w in result.w.last! { XCTAssertEqual(w, 1, accuracy: 1e-3) }
        // Gradient flow: the loss never increases (up to the integrator's local error).
        for (a, b) in zip(result.losses, result.losses.dropFirst()) {
            XCTAssertLessThanOrEqual(b, a * (1 + 1e-7) + 1e-14)
        }
        XCTAssertGreaterThan(result.statistics.acceptedSteps, 0)
    }

    func testSteppersAgreeToTheirTolerances() throws {
        let (flow, start) = try setting()
        var options = FlowOptions()
        options.ode.endTime = 20
        options.ode.grid = .linear(points: 21)
        options.stopRelativeLoss = 0
        options.ode.absoluteTolerance = 1e-10
        options.ode.relativeTolerance = 1e-10
        var results: [Stepper: FlowTrajectory] = [:]
        for stepper in [Stepper.rkf45, .rk8pd, .msbdf, .tsit5, .auto] {
            options.ode.stepper = stepper
            results[stepper] = try flow.integrate(v0: start.v, w0: start.w, options: options)
        }
        // This flow is not stiff: auto keeps tsit5, whose output times come from its continuous extension.
        XCTAssertEqual(results[.auto]!.phases, [StepperPhase(name: "tsit5", start: 0)])
        XCTAssertEqual(results[.auto]!.v, results[.tsit5]!.v)
        XCTAssertLessThan(results[.tsit5]!.statistics.rhsEvaluations, results[.rkf45]!.statistics.rhsEvaluations)
        let reference = results[.rk8pd]!
        for stepper in [Stepper.rkf45, .msbdf, .tsit5] {
            let other = results[stepper]!
            XCTAssertEqual(other.times, reference.times)
            for i in reference.times.indices {
                for j in 0..<5 {
                    // Local tolerance 1e-10 per step; global error grows over the run. msbdf
                    // (variable order BDF) is the loosest, see the ODE target's tests.
                    XCTAssertEqual(other.v[i][j], reference.v[i][j], accuracy: 1e-6, "\(stepper) t=\(reference.times[i])")
                    XCTAssertEqual(other.w[i][j], reference.w[i][j], accuracy: 1e-6, "\(stepper) t=\(reference.times[i])")
                }
            }
        }
        XCTAssertGreaterThan(results[.msbdf]!.statistics.jacobianEvaluations, 0)
    }

    func testJacobianIsMinusHessianOfTheLoss() throws {
        let (flow, start) = try setting()
        let system = flow.system
        let eta = flow.loss.etaValue
        let y = start.v.map { $0 + eta } + start.w.map { $0 - 1 }
        let m = y.count
        var jac = [Double](repeating: 0, count: m * m), dfdt = [Double](repeating: 0, count: m)
        try y.withUnsafeBufferPointer { yb in
            try jac.withUnsafeMutableBufferPointer { jb in
                try dfdt.withUnsafeMutableBufferPointer { try system.jacobian!(0, yb, jb, $0) }
            }
        }
        func rhs(_ x: [Double]) throws -> [Double] {
            var out = [Double](repeating: 0, count: m)
            try x.withUnsafeBufferPointer { xb in try out.withUnsafeMutableBufferPointer { try system.rightHandSide(0, xb, $0) } }
            return out
        }
        let h = 1e-6
        for j in 0..<m {
            var plus = y, minus = y
            plus[j] += h; minus[j] -= h
            let column = zip(try rhs(plus), try rhs(minus)).map { ($0 - $1) / (2 * h) }
            for i in 0..<m {
                XCTAssertEqual(jac[i * m + j], column[i], accuracy: 1e-5 * max(1, abs(column[i])))
            }
        }
    }

    func testWrongInitialLengthIsRefused() throws {
        let (flow, _) = try setting()
        XCTAssertThrowsError(try flow.integrate(v0: [0.1], w0: [0.1]))
    }

    /// MODEL.md section 6 setting: at (d, n, k) = (10, 20, 20) the initial population loss is
    /// carried by diverging prompts (about 2e10), the flow is stiff, and "converged" must still mean
    /// at the construction, not a fraction of the tail-dominated start.
    /// The default stepper (auto) detects the stiffness and switches to msbdf, and says when.
    func testStiffTailDominatedFlowReachesTheConstructionWithAnImplicitStepper() throws {
        let loss = try ReducedLoss(n: 20, d: 10, k: 20, eta: paperStepSize(n: 20, d: 10))
        let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
        let start = AssumptionInitialisation(d: 10, seed: 0, vRange: ranges.v, wRange: ranges.w)
        for stepper in [Stepper.msbdf, .auto] {
            var options = FlowOptions()
            options.ode.stepper = stepper
            let result = try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)
            XCTAssertGreaterThan(result.losses[0], 1e9)
            XCTAssertTrue(result.converged, "\(stepper): \(result.stopReason)")
            XCTAssertEqual(result.phases.map(\.name), stepper == .auto ? ["tsit5", "msbdf"] : ["msbdf"])
            let eta = loss.etaValue
            for v in result.v.last! { XCTAssertEqual(v, -eta, accuracy: 1e-4) }
            for w in result.w.last! { XCTAssertEqual(w, 1, accuracy: 1e-4) }
        }
    }
}
