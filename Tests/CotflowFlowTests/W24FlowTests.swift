import CotflowExact
@testable import CotflowModel
import CotflowCore
import XCTest

/// The reduced flow with W24 = u free (MODEL.md section 8).
final class W24FlowTests: XCTestCase {
    private func setting(_ w24: W24Mode) throws -> (ReducedFlow, AssumptionInitialisation) {
        let loss = try ReducedLoss(n: 40, d: 5, k: 5, eta: paperStepSize(n: 40, d: 5))
        let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
        return (ReducedFlow(loss: loss, w24: w24), AssumptionInitialisation(d: 5, seed: 11, vRange: ranges.v, wRange: ranges.w))
    }

    /// The exact loss L(v, w, u) and its gradient against the transformer's forward pass with
    /// V31 = diag(v), W13 = diag(w), W24 = u: central differences of the teacher-forced CoT loss on
    /// common prompts, averaged over independent batches (3 standard errors).
    func testLossAndGradientMatchFiniteDifferencesOfTheTransformer() throws {
        let (d, n, k) = (3, 10, 3)
        let eta = paperStepSize(n: n, d: d)
        let v: [Double] = [-0.3, -0.5, -0.65], w: [Double] = [0.4, 0.75, 1.1], u = -0.8
        let exact = try ReducedLoss(n: n, d: d, k: k, eta: eta)
        let pi = v.map { eta.doubleValue - u * $0 }, z = w.map { $0 + u }
        let r = exact.evaluate(pi: pi, z: z, u: u, freeU: true)
        let gradient = r.gradientV + r.gradientW + [r.gradientU]

        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        func forwardLoss(_ theta: [Double], _ batch: PromptBatch) -> Double {
            var v31 = [Double](repeating: 0, count: d * d), w13 = v31
            for j in 0..<d { v31[j * d + j] = theta[j]; w13[j * d + j] = theta[d + j] }
            var parameters = TransformerParameters.reduced(d: d, v31: v31, w13: w13)
            parameters.W24 = theta[2 * d]
            return Objectives.compute(.cot, parameters: parameters, task: task, batch: batch, gradient: false).loss
        }
        let theta = v + w + [u], h = 1e-4
        var losses: [Double] = [], differences: [[Double]] = []
        for b in 0..<300 {
            let batch = PromptBatch.sample(task: task, count: 400, random: Random(seed: 99, stream: [StreamLabel.monteCarlo, UInt64(b)]), includeData: false)
            losses.append(forwardLoss(theta, batch))
            differences.append((0..<theta.count).map { i in
                var plus = theta, minus = theta
                plus[i] += h; minus[i] -= h
                return (forwardLoss(plus, batch) - forwardLoss(minus, batch)) / (2 * h)
            })
        }
        let loss = SampleSummary(losses)
        XCTAssertLessThan(loss.standardError, 0.02 * r.loss)
        XCTAssertEqual(loss.mean, r.loss, accuracy: 3 * loss.standardError)
        for i in theta.indices {
            let g = SampleSummary(differences.map { $0[i] })
            XCTAssertEqual(g.mean, gradient[i], accuracy: 3 * g.standardError, "component \(i): forward pass \(g.mean) ± \(g.standardError), exact \(gradient[i])")
        }
        // The u component is not trivially small: the test can tell u = -0.8 from u = -1.
        XCTAssertGreaterThan(abs(gradient[2 * d]), 10 * SampleSummary(differences.map { $0[2 * d] }).standardError)
    }

    /// Every tier agrees with exact rational arithmetic within its error bound, and the gradient
    /// and Hessian with exact central differences.
    func testEvaluationIsWithinItsBoundAndDerivativesMatchExactDifferences() throws {
        let loss = try ReducedLoss(n: 20, d: 4, k: 6, eta: paperStepSize(n: 20, d: 4))
        let v: [Double] = [-0.2, -0.45, -0.7, 0.1], w: [Double] = [0.3, 0.9, 1.2, 0.05], u = -1.3
        let eta = loss.eta
        let pi = v.map { loss.etaValue - u * $0 }, z = w.map { $0 + u }
        let r = loss.evaluate(pi: pi, z: z, u: u, freeU: true)
        let exactAtState = loss.exactLoss(pi: pi, z: z, u: u)
        XCTAssertLessThanOrEqual(abs(r.loss - exactAtState.doubleValue), r.lossErrorBound)
        let uR = Rational(exactly: u)
        let vR = pi.map { (eta - Rational(exactly: $0)) / uR }, wR = z.map { Rational(exactly: $0) - uR }
        XCTAssertEqual(loss.exactLoss(v: vR, w: wR, u: uR), exactAtState)
        // Central differences of the exact loss in (v, w, u); step 1e-6 (error O(h^2) of a polynomial).
        let theta = vR + wR + [uR], h = Rational(1, 1_000_000)
        func L(_ t: [Rational]) -> Rational { loss.exactLoss(v: Array(t[0..<4]), w: Array(t[4..<8]), u: t[8]) }
        let g = r.gradientV + r.gradientW + [r.gradientU]
        for i in theta.indices {
            var plus = theta, minus = theta
            plus[i] += h; minus[i] -= h
            let difference = ((L(plus) - L(minus)) / (Rational(2) * h)).doubleValue
            XCTAssertEqual(g[i], difference, accuracy: 1e-8 * max(1, abs(difference)), "component \(i)")
        }
        // Hessian against central differences of the gradient in (v, w, u).
        let hess = loss.hessian(pi: pi, z: z, u: u)
        let size = 9, step = 1e-6
        let base = v + w + [u]
        func grad(_ t: [Double]) -> [Double] {
            let e = loss.evaluate(pi: (0..<4).map { loss.etaValue - t[8] * t[$0] }, z: (0..<4).map { t[4 + $0] + t[8] }, u: t[8], freeU: true)
            return e.gradientV + e.gradientW + [e.gradientU]
        }
        for j in 0..<size {
            var plus = base, minus = base
            plus[j] += step; minus[j] -= step
            let column = zip(grad(plus), grad(minus)).map { ($0 - $1) / (2 * step) }
            for i in 0..<size {
                XCTAssertEqual(hess[i * size + j], column[i], accuracy: 1e-5 * max(1, abs(column[i])), "H[\(i), \(j)]")
            }
        }
    }

    /// The analytic Jacobian of the W24-free system equals central differences of its right-hand side.
    func testJacobianOfTheFreeSystem() throws {
        let (flow, start) = try setting(.free(initial: -1.2))
        let system = flow.system
        let y = flow.state(v: start.v.map { $0 - 0.3 }, w: start.w.map { $0 + 0.4 }, u: -1.2)
        let m = y.count
        XCTAssertEqual(m, 11)
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
        for j in 0..<m {
            var plus = y, minus = y
            plus[j] += 1e-6; minus[j] -= 1e-6
            let column = zip(try rhs(plus), try rhs(minus)).map { ($0 - $1) / 2e-6 }
            for i in 0..<m { XCTAssertEqual(jac[i * m + j], column[i], accuracy: 1e-5 * max(1, abs(column[i])), "J[\(i), \(j)]") }
        }
    }

    /// W24 frozen at -1 reproduces the paper's flow: a reference right-hand side written with the
    /// original double formulas in (p, q) = (v + eta, w - 1) gives the same trajectory.
    func testFrozenAtMinusOneReproducesThePaperFlow() throws {
        let (flow, start) = try setting(.fixed(-1))
        let loss = flow.loss
        let c = loss.coefficients
        let (a1, a2, a3, a4) = (c["a1"]!.doubleValue, c["a2"]!.doubleValue, c["a3"]!.doubleValue, c["a4"]!.doubleValue)
        let (b1, b2, cc) = (c["b1"]!.doubleValue, c["b2"]!.doubleValue, c["c"]!.doubleValue)
        let eta = loss.etaValue, d = 5
        let reference = ODESystem(dimension: 2 * d) { _, y, dydt in
            var sq = 0.0, svv = 0.0, sqvv = 0.0, sqq = 0.0, svp = 0.0
            for j in 0..<d {
                let p = y[j], q = y[d + j], v = p - eta
                sq += q; svv += v * v; sqvv += q * v * v; sqq += q * q; svp += v * p
            }
            let fq = 2 * a1 * sq * svv + a2 * sqvv - b1 * svp, fvv = a1 * sq * sq + a3 * sqq
            let fqvv = a2 * sq, fqq = a3 * svv, fvp = -b1 * sq
            for j in 0..<d {
                let p = y[j], q = y[d + j], v = p - eta
                dydt[j] = -(fvv * 2 * v + fqvv * 2 * q * v + a4 * 2 * q * q * v + fvp * (v + p) - b2 * q * (v + p) + cc * 2 * p)
                dydt[d + j] = -(fq + fqvv * v * v + fqq * 2 * q + a4 * 2 * q * v * v - b2 * v * p)
            }
        }
        var options = FlowOptions()
        options.ode.endTime = 10
        options.ode.grid = .linear(points: 11)
        options.stopRelativeLoss = 0
        options.ode.initialStep = 1e-3
        let flowResult = try flow.integrate(v0: start.v, w0: start.w, options: options)
        let y0 = start.v.map { $0 + eta } + start.w.map { $0 - 1 }
        let ode = try ODE.solve(reference, from: 0, initial: y0, options: ODEOptions(
            endTime: 10, stepper: options.ode.stepper, absoluteTolerance: options.ode.absoluteTolerance,
            relativeTolerance: options.ode.relativeTolerance, initialStep: 1e-3, grid: .linear(points: 11)))
        XCTAssertEqual(flowResult.times, ode.times)
        for (i, y) in ode.states.enumerated() {
            XCTAssertEqual(flowResult.u[i], -1)
            for j in 0..<d {
                XCTAssertEqual(flowResult.v[i][j], y[j] - eta, accuracy: 1e-9)
                XCTAssertEqual(flowResult.w[i][j], y[d + j] + 1, accuracy: 1e-9)
            }
        }
        // A fixed W24 is not a state variable.
        XCTAssertEqual(flow.system.dimension, 2 * d)
    }

    /// sum w_j^2 + u^2 - sum v_j^2 is constant along the W24-free flow to the integration tolerance,
    /// while u itself moves.
    func testConservedQuantityIsConstantAlongTheFlow() throws {
        let (flow, start) = try setting(.free(initial: -1))
        var options = FlowOptions()
        options.ode.endTime = 20
        options.ode.grid = .linear(points: 41)
        options.stopRelativeLoss = 0
        options.ode.absoluteTolerance = 1e-12
        options.ode.relativeTolerance = 1e-12
        let result = try flow.integrate(v0: start.v, w0: start.w, options: options)
        let c0 = result.conservedQuantity(at: 0)
        // Local error 1e-12 per step over some hundred steps.
        for i in result.times.indices { XCTAssertEqual(result.conservedQuantity(at: i), c0, accuracy: 1e-9, "t = \(result.times[i])") }
        XCTAssertGreaterThan(abs(result.u.last! + 1), 0.03, "u must move for the test to mean anything")
    }

    /// The end point is the zero-loss family member Vt = (eta/u) I, Wt = -u I whose conserved
    /// quantity equals the start's.
    func testEndPointIsTheFamilyMemberTheConservedQuantityPredicts() throws {
        let (flow, start) = try setting(.free(initial: -1))
        let result = try flow.integrate(v0: start.v, w0: start.w)
        XCTAssertTrue(result.converged, "\(result.stopReason)")
        let eta = flow.loss.etaValue
        let predicted = FlowTrajectory.familyMember(conserved: result.conservedQuantity(at: 0), d: 5, eta: eta, sign: -1)
        // The conserved quantity of the predicted member is the start's.
        XCTAssertEqual(FlowTrajectory.conservedQuantity(v: Array(repeating: eta / predicted, count: 5), w: Array(repeating: -predicted, count: 5), u: predicted),
                       result.conservedQuantity(at: 0), accuracy: 1e-12)
        // Loss 1e-10 of its start: deviations about 1e-5.
        XCTAssertEqual(result.u.last!, predicted, accuracy: 1e-4)
        for v in result.v.last! { XCTAssertEqual(v, eta / predicted, accuracy: 1e-4) }
        for w in result.w.last! { XCTAssertEqual(w, -predicted, accuracy: 1e-4) }
        XCTAssertGreaterThan(abs(predicted + 1), 0.03, "the member differs from Theorem 3.2's")
    }

    /// `converged` is a true statement: at settings where the loss polynomial cancels badly
    /// (large k or eta) the flow either converges, with the exact loss at its end point below the
    /// threshold and equal to the reported one, or fails with a cause.
    func testConvergedIsTrueOrTheFlowFails() throws {
        let settings: [(d: Int, n: Int, k: Int, eta: Rational, stepper: Stepper)] = [
            (10, 40, 40, paperStepSize(n: 40, d: 10), .rkf45),
            (5, 40, 5, Rational(100), .msbdf),
            (5, 40, 5, Rational(3), .msbdf),
        ]
        var failures = 0, convergences = 0
        for s in settings {
            let loss = try ReducedLoss(n: s.n, d: s.d, k: s.k, eta: s.eta)
            let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
            let start = AssumptionInitialisation(d: s.d, seed: 0, vRange: ranges.v, wRange: ranges.w)
            var options = FlowOptions()
            options.ode.stepper = s.stepper
            do {
                let r = try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)
                XCTAssertTrue(r.converged, "\(s): \(r.stopReason)")
                let exact = loss.exactLoss(v: r.v.last!.map { Rational(exactly: $0) }, w: r.w.last!.map { Rational(exactly: $0) }).doubleValue
                XCTAssertGreaterThanOrEqual(r.finalLoss, 0)
                XCTAssertEqual(exact, r.finalLoss, accuracy: 1e-3 * r.finalLoss + 1e-300, "\(s)")
                XCTAssertLessThanOrEqual(r.finalLoss, 1e-10 * min(r.losses[0], Double(s.d)) * (1 + 1e-12))
                convergences += 1
            } catch let failure as FlowFailure {
                XCTAssertTrue(failure.reason.description.contains("cancels beyond double-double"), "\(s): \(failure.reason)")
                XCTAssertFalse(failure.partial.converged)
                XCTAssertTrue(failure.partial.losses.allSatisfy { $0 >= 0 })
                failures += 1
            }
        }
        // Both outcomes occur among these settings (the paper's (10, 40, 40) fails).
        XCTAssertGreaterThan(failures, 0)
        XCTAssertGreaterThan(convergences, 0)
    }

    /// The advice of a failure is right: where rkf45 (forced; the default auto switches by itself)
    /// runs out of steps on a stiff flow it names msbdf and bsimp, and bsimp converges there
    /// (msbdf and auto: ReducedFlowTests).
    func testStiffFailureAdviceNamesAStepperThatWorks() throws {
        let loss = try ReducedLoss(n: 20, d: 10, k: 20, eta: paperStepSize(n: 20, d: 10))
        let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
        let start = AssumptionInitialisation(d: 10, seed: 0, vRange: ranges.v, wRange: ranges.w)
        var options = FlowOptions()
        options.ode.stepper = .rkf45
        options.ode.maximumSteps = 2000
        XCTAssertThrowsError(try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)) { error in
            XCTAssertTrue("\(error)".contains("--stepper msbdf or bsimp"), "\(error)")
        }
        options.ode.maximumSteps = 1_000_000
        options.ode.stepper = .bsimp
        let result = try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)
        XCTAssertTrue(result.converged, "\(result.stopReason)")
    }
}
