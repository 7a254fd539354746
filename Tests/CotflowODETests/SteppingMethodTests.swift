import Foundation
import XCTest
@testable import CotflowCore

/// The stepper seam, dense output and the automatic switch to a stiff method.
final class SteppingMethodTests: XCTestCase {
    /// Largest |y(t) - (cos t, -sin t)| over a solution of the oscillator.
    private func oscillatorError(_ solution: ODESolution) -> Double {
        zip(solution.times, solution.states).map { t, y in max(abs(y[0] - cos(t)), abs(y[1] + sin(t))) }.max()!
    }

    func testSwiftAndGSLSteppersAgreeOnAKnownSolution() throws {
        var options = ODEOptions(endTime: 10, absoluteTolerance: 1e-10, relativeTolerance: 1e-10, grid: .linear(points: 11))
        options.interpolateOutput = false
        var errors: [String: Double] = [:]
        for stepper in [Stepper.tsit5, .rkf45, .rkck, .auto] {
            options.stepper = stepper
            let solution = try ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: options)
            XCTAssertEqual(solution.times.count, 11)
            XCTAssertEqual(solution.phases.map(\.name), [stepper == .auto ? "tsit5" : stepper.rawValue])
            errors[stepper.rawValue] = oscillatorError(solution)
        }
        // Global error of a run of about 1/h steps with local error 1e-10: well below 1e-7.
        for (name, error) in errors { XCTAssertLessThan(error, 1e-7, name) }
        // A method given as a value through the seam: the same result as its name.
        options.stepper = .rkf45
        let byValue = try ODE.solve(ODEProblem(Systems.oscillator, initial: [1, 0], options: options), method: GSLStepping(.rkck))
        XCTAssertEqual(oscillatorError(byValue), errors["rkck"]!)
        XCTAssertEqual(byValue.phases.map(\.name), ["rkck"])
    }

    func testDenseOutputMeetsTheToleranceBetweenSteps() throws {
        // 2001 output times on [0, 20]: most fall inside steps of tsit5 (about 0.1 at this tolerance).
        var options = ODEOptions(endTime: 20, stepper: .tsit5, absoluteTolerance: 1e-9, relativeTolerance: 1e-9,
                                 grid: .linear(points: 2001))
        let dense = try ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: options)
        options.interpolateOutput = false
        let hits = try ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: options)
        XCTAssertEqual(dense.times, hits.times)
        XCTAssertLessThan(dense.statistics.acceptedSteps * 5, hits.statistics.acceptedSteps)
        XCTAssertLessThan(dense.statistics.rhsEvaluations * 5, hits.statistics.rhsEvaluations)
        // The interpolant adds an error of the order of one step's local error to the global error
        // of the step ends; the global error after ~200 steps is a few hundred tolerances at most.
        let steps = Double(dense.statistics.acceptedSteps)
        XCTAssertLessThan(oscillatorError(dense), steps * 1e-9)
        // Against the exact-hit run, output by output: within the sum of both runs' errors.
        let apart = zip(dense.states, hits.states).map { max(abs($0[0] - $1[0]), abs($0[1] - $1[1])) }.max()!
        XCTAssertLessThan(apart, oscillatorError(dense) + oscillatorError(hits))
        XCTAssertGreaterThan(apart, 0)
    }

    func testAutoSwitchesToMSBDFOnAStiffProblemAndSaysWhen() throws {
        let options = ODEOptions(endTime: 1, stepper: .auto, absoluteTolerance: 1e-10, relativeTolerance: 1e-8, grid: .linear(points: 11))
        let solution = try ODE.solve(Systems.stiffLinear, from: 0, initial: [2, 0], options: options)
        XCTAssertEqual(solution.phases.map(\.name), ["tsit5", "msbdf"])
        XCTAssertEqual(solution.phases[0].start, 0)
        // The fast mode e^{-1e4 t} has decayed by the switch: the explicit method was stability-bound.
        XCTAssertGreaterThan(solution.phases[1].start, 1e-4)
        XCTAssertLessThan(solution.phases[1].start, 0.1)
        XCTAssertGreaterThan(solution.statistics.jacobianEvaluations, 0)
        for (t, y) in zip(solution.times, solution.states) where t >= 0.01 {
            XCTAssertEqual(y[0], exp(-t), accuracy: 1e-6)
            XCTAssertEqual(y[1], exp(-t), accuracy: 1e-6)
        }
        // tsit5 alone needs far more right-hand sides.
        var forced = options
        forced.stepper = .tsit5
        let explicit = try ODE.solve(Systems.stiffLinear, from: 0, initial: [2, 0], options: forced)
        XCTAssertEqual(explicit.phases.map(\.name), ["tsit5"])
        XCTAssertGreaterThan(explicit.statistics.rhsEvaluations, 4 * solution.statistics.rhsEvaluations)
    }

    func testAutoSwitchesOnRobertson() throws {
        let options = ODEOptions(endTime: 40, stepper: .auto, absoluteTolerance: 1e-10, relativeTolerance: 1e-6, grid: .linear(points: 5))
        let solution = try ODE.solve(Systems.robertson, from: 0, initial: [1, 0, 0], options: options)
        XCTAssertEqual(solution.phases.map(\.name), ["tsit5", "msbdf"])
        let y = solution.finalState!
        // Mass is conserved; the reference value y1(40) = 0.7158 (Hairer and Wanner, II, IV.1).
        XCTAssertEqual(y.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(y[0], 0.7158, accuracy: 1e-4)
    }

    func testAutoStaysExplicitWhereTheProblemIsNotStiff() throws {
        let options = ODEOptions(endTime: 50, stepper: .auto, absoluteTolerance: 1e-10, relativeTolerance: 1e-8, grid: .linear(points: 6))
        for (system, y0) in [(Systems.oscillator, [1.0, 0]), (Systems.decay, [1.0])] {
            let solution = try ODE.solve(system, from: 0, initial: y0, options: options)
            XCTAssertEqual(solution.phases, [StepperPhase(name: "tsit5", start: 0)])
            XCTAssertEqual(solution.statistics.jacobianEvaluations, 0)
        }
    }

    func testAutoWithoutJacobianKeepsTheExplicitMethod() throws {
        let noJacobian = ODESystem(dimension: 2, rightHandSide: Systems.stiffLinear.rightHandSide)
        let options = ODEOptions(endTime: 0.01, stepper: .auto, absoluteTolerance: 1e-10, relativeTolerance: 1e-8, grid: .linear(points: 3))
        let solution = try ODE.solve(noJacobian, from: 0, initial: [2, 0], options: options)
        XCTAssertEqual(solution.phases.map(\.name), ["tsit5"])
        XCTAssertEqual(solution.finalState![0], exp(-0.01), accuracy: 1e-6)
    }
}
