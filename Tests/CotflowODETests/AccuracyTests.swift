import Foundation
import XCTest
@testable import CotflowCore

final class AccuracyTests: XCTestCase {
    /// Error bound as a multiple of the tolerance. The standard control bounds the local error of
    /// each step, so the global error grows with the number of steps: most for the first-order rk1imp,
    /// more for rk2imp and the multistep methods than for the higher-order Runge-Kutta methods.
    static func errorFactor(_ stepper: Stepper) -> Double {
        switch stepper {
        case .rk1imp: return 1e4
        case .rk2imp, .msadams, .msbdf: return 1e3
        default: return 30
        }
    }

    /// Every stepper solves exponential decay and the oscillator within a multiple of the tolerance.
    func testAllSteppersAgainstExactSolutions() throws {
        let tolerance = 1e-6
        for stepper in Stepper.allCases {
            let factor = Self.errorFactor(stepper)
            let options = ODEOptions(endTime: 5, stepper: stepper, absoluteTolerance: tolerance,
                                     relativeTolerance: tolerance, grid: .linear(points: 11))
            let decay = try ODE.solve(Systems.decay, from: 0, initial: [1], options: options)
            XCTAssertTrue(decay.stopReason.isReachedEndTime, "\(stepper)")
            XCTAssertEqual(decay.times.count, 11)
            let decayError = zip(decay.times, decay.states).map { abs($1[0] - exp(-$0)) }.max()!
            XCTAssertLessThan(decayError, factor * tolerance, "\(stepper) decay")

            var oscillatorOptions = options
            oscillatorOptions.endTime = 10
            let oscillator = try ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: oscillatorOptions)
            let oscillatorError = zip(oscillator.times, oscillator.states)
                .map { max(abs($1[0] - cos($0)), abs($1[1] + sin($0))) }.max()!
            XCTAssertLessThan(oscillatorError, factor * tolerance, "\(stepper) oscillator")

            let stats = oscillator.statistics
            XCTAssertGreaterThan(stats.acceptedSteps, 0)
            XCTAssertGreaterThanOrEqual(stats.rhsEvaluations, stats.acceptedSteps, "\(stepper)")
            XCTAssertGreaterThan(stats.lastStepSize, 0)
            if stepper.requiresJacobian {
                XCTAssertGreaterThan(stats.jacobianEvaluations, 0, "\(stepper)")
            } else {
                XCTAssertEqual(stats.jacobianEvaluations, 0, "\(stepper)")
            }
        }
    }

    /// The stiff linear system: msbdf and bsimp are accurate and take far fewer steps than rkf45.
    func testStiffLinearSystem() throws {
        func exact(_ t: Double) -> [Double] {
            [exp(-t) + exp(-1e4 * t), exp(-t) - exp(-1e4 * t)]
        }
        var steps: [Stepper: Int] = [:]
        for stepper in [Stepper.msbdf, .bsimp, .rkf45] {
            let options = ODEOptions(endTime: 10, stepper: stepper, absoluteTolerance: 1e-8,
                                     relativeTolerance: 1e-6, grid: .logarithmic(points: 20, first: 1e-5))
            let solution = try ODE.solve(Systems.stiffLinear, from: 0, initial: [2, 0], options: options)
            XCTAssertTrue(solution.stopReason.isReachedEndTime)
            for (t, y) in zip(solution.times, solution.states) {
                let e = exact(t)
                XCTAssertEqual(y[0], e[0], accuracy: 5e-5 * abs(e[0]) + 1e-7, "\(stepper) t = \(t)")
                XCTAssertEqual(y[1], e[1], accuracy: 5e-5 * abs(e[0]) + 1e-7, "\(stepper) t = \(t)")
            }
            steps[stepper] = solution.statistics.acceptedSteps
        }
        XCTAssertLessThan(steps[.msbdf]! * 20, steps[.rkf45]!, "\(steps)")
        XCTAssertLessThan(steps[.bsimp]! * 20, steps[.rkf45]!, "\(steps)")
    }

    /// Robertson kinetics to t = 40 against the classical reference values.
    func testRobertson() throws {
        let reference = [0.7158270687, 9.185534764e-6, 0.2841637457]
        for stepper in [Stepper.msbdf, .bsimp] {
            let options = ODEOptions(endTime: 40, stepper: stepper, absoluteTolerance: 1e-12,
                                     relativeTolerance: 1e-8, grid: .logarithmic(points: 30, first: 1e-6))
            let solution = try ODE.solve(Systems.robertson, from: 0, initial: [1, 0, 0], options: options)
            let y = try XCTUnwrap(solution.finalState)
            for i in 0..<3 {
                XCTAssertEqual(y[i], reference[i], accuracy: 1e-5 * reference[i], "\(stepper) y\(i)")
            }
            XCTAssertEqual(y.reduce(0, +), 1, accuracy: 1e-7, "mass conservation")
            XCTAssertGreaterThan(solution.statistics.jacobianEvaluations, 0)
            XCTAssertLessThan(solution.statistics.acceptedSteps, 2000, "\(stepper)")
        }
    }
}
