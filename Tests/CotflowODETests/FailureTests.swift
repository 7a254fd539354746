import Foundation
import XCTest
@testable import CotflowCore

final class FailureTests: XCTestCase {
    func testJacobianSteppersWithoutJacobianAreRefused() {
        let noJacobian = ODESystem(dimension: 1, rightHandSide: { _, y, dydt in dydt[0] = -y[0] })
        for stepper in Stepper.allCases {
            let options = ODEOptions(endTime: 1, stepper: stepper)
            if stepper.requiresJacobian {
                XCTAssertThrowsError(try ODE.solve(noJacobian, from: 0, initial: [1], options: options)) { error in
                    XCTAssertEqual(error as? ODEConfigurationError, .missingJacobian(stepper.rawValue))
                    XCTAssertEqual("\(error)",
                                   "stepper \(stepper.rawValue) needs the Jacobian; this system provides none")
                }
            } else {
                XCTAssertNoThrow(try ODE.solve(noJacobian, from: 0, initial: [1], options: options), "\(stepper)")
            }
        }
        XCTAssertEqual(Set(Stepper.allCases.filter(\.requiresJacobian)),
                       [.rk1imp, .rk2imp, .rk4imp, .bsimp, .msbdf])
    }

    func testInvalidSettingsAreRefused() {
        let cases: [(ODEOptions, [Double])] = [
            (ODEOptions(endTime: 0), [1]),
            (ODEOptions(endTime: 1), [1, 2]),
            (ODEOptions(endTime: 1), [.nan]),
            (ODEOptions(endTime: 1, absoluteTolerance: 0, relativeTolerance: 0), [1]),
            (ODEOptions(endTime: 1, grid: .logarithmic(points: 10, first: 0)), [1]),
            (ODEOptions(endTime: 1, grid: .linear(points: 1)), [1]),
            (ODEOptions(endTime: 1, grid: .times([0.5, 0.2])), [1]),
        ]
        for (options, y0) in cases {
            XCTAssertThrowsError(try ODE.solve(Systems.decay, from: 0, initial: y0, options: options)) { error in
                XCTAssertTrue(error is ODEConfigurationError, "\(error)")
            }
        }
    }

    /// A NaN right-hand side ends the run with the finite trajectory so far.
    func testNonFiniteRightHandSideKeepsPartialTrajectory() throws {
        for stepper in [Stepper.rkf45, .rk8pd, .msadams] {
            let options = ODEOptions(endTime: 3, stepper: stepper, grid: .linear(points: 31))
            do {
                _ = try ODE.solve(Systems.nanAfterOne, from: 0, initial: [1], options: options)
                XCTFail("NaN right-hand side was not detected by \(stepper)")
            } catch let failure as ODEFailure {
                guard case .nonFiniteRightHandSide(let time) = failure.reason else {
                    return XCTFail("unexpected reason \(failure.reason)")
                }
                XCTAssertGreaterThan(time, 1)
                let partial = failure.partial
                XCTAssertGreaterThanOrEqual(partial.times.count, 11, "\(stepper)")  // grid points up to t = 1
                XCTAssertEqual(partial.times.count, partial.states.count)
                XCTAssertTrue(partial.states.joined().allSatisfy(\.isFinite))
                XCTAssertLessThanOrEqual(partial.finalTime!, 1 + 1e-12)
                XCTAssertEqual(partial.finalState![0], exp(-partial.finalTime!), accuracy: 1e-6)
                if case .failed = partial.stopReason {} else { XCTFail("partial stop reason \(partial.stopReason)") }
            }
        }
    }

    func testThrowingRightHandSide() throws {
        struct Boom: Error {}
        let system = ODESystem(dimension: 1, rightHandSide: { t, y, dydt in
            if t > 0.5 { throw Boom() }
            dydt[0] = -y[0]
        })
        XCTAssertThrowsError(try ODE.solve(system, from: 0, initial: [1], options: ODEOptions(endTime: 1))) { error in
            guard let failure = error as? ODEFailure, case .callbackThrew(let inner) = failure.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(inner is Boom)
            XCTAssertEqual(failure.partial.times.first, 0)
            XCTAssertLessThanOrEqual(failure.partial.finalTime!, 0.5)
        }
    }

    func testMaximumStepsExceeded() throws {
        let options = ODEOptions(endTime: 100, maximumSteps: 25, grid: .everyStep)
        XCTAssertThrowsError(try ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: options)) { error in
            guard let failure = error as? ODEFailure, case .maximumStepsExceeded(25) = failure.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(failure.partial.statistics.acceptedSteps, 25)
            XCTAssertEqual(failure.partial.times.count, 26)  // t0 and every accepted step
            XCTAssertLessThan(failure.partial.finalTime!, 100)
        }
    }

    func testStepBelowMinimum() throws {
        let options = ODEOptions(endTime: 2, stepper: .rkf45, minimumStep: 1e-6)
        XCTAssertThrowsError(try ODE.solve(Systems.blowUp, from: 0, initial: [1], options: options)) { error in
            guard let failure = error as? ODEFailure,
                  case .stepBelowMinimum(let step, let minimum, let time) = failure.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertLessThan(step, minimum)
            XCTAssertLessThan(time, 1)
            XCTAssertGreaterThan(time, 0.99)
            XCTAssertTrue(failure.partial.states.joined().allSatisfy(\.isFinite))
        }
        // Without a minimum step GSL itself gives up near the singularity ("no progress").
        for stepper in [Stepper.rkf45, .msbdf, .bsimp] {
            let options = ODEOptions(endTime: 2, stepper: stepper)
            XCTAssertThrowsError(try ODE.solve(Systems.blowUp, from: 0, initial: [1], options: options)) { error in
                guard let failure = error as? ODEFailure, case .gsl(let gslError) = failure.reason else {
                    return XCTFail("\(error)")
                }
                XCTAssertNotEqual(gslError.status, 0)
                XCTAssertFalse(gslError.reason.isEmpty)
                XCTAssertTrue(failure.partial.states.joined().allSatisfy(\.isFinite))
                XCTAssertEqual(failure.partial.finalTime!, 1, accuracy: 1e-4, "\(stepper)")
            }
        }
    }

    /// A finite right-hand side whose state overflows: the non-finite state is caught after the step.
    func testNonFiniteState() throws {
        let huge = ODESystem(dimension: 1, rightHandSide: { _, _, dydt in dydt[0] = 1e307 })
        let options = ODEOptions(endTime: 100, initialStep: 1, grid: .linear(points: 101))
        XCTAssertThrowsError(try ODE.solve(huge, from: 0, initial: [0], options: options)) { error in
            guard let failure = error as? ODEFailure, case .nonFiniteState(let time) = failure.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(failure.partial.finalTime, time)
            XCTAssertTrue(failure.partial.states.joined().allSatisfy(\.isFinite))
            XCTAssertGreaterThan(failure.partial.times.count, 2)
        }
    }

    func testBadJacobian() throws {
        struct Singular: Error {}
        let nanJacobian = ODESystem(
            dimension: 1, rightHandSide: { _, y, dydt in dydt[0] = -y[0] },
            jacobian: { _, _, dfdy, _ in dfdy[0] = .nan })
        let throwingJacobian = ODESystem(
            dimension: 1, rightHandSide: { _, y, dydt in dydt[0] = -y[0] },
            jacobian: { _, _, _, _ in throw Singular() })
        for stepper in [Stepper.bsimp, .msbdf, .rk2imp] {
            let options = ODEOptions(endTime: 1, stepper: stepper)
            XCTAssertThrowsError(try ODE.solve(nanJacobian, from: 0, initial: [1], options: options)) { error in
                guard let failure = error as? ODEFailure, case .nonFiniteJacobian = failure.reason else {
                    return XCTFail("\(stepper): \(error)")
                }
                XCTAssertEqual(failure.partial.times, [0])
            }
            XCTAssertThrowsError(try ODE.solve(throwingJacobian, from: 0, initial: [1], options: options)) { error in
                guard let failure = error as? ODEFailure, case .callbackThrew(let inner) = failure.reason else {
                    return XCTFail("\(stepper): \(error)")
                }
                XCTAssertTrue(inner is Singular)
            }
        }
    }
}
