import Foundation
import XCTest
@testable import CotflowCore

final class GridAndStopTests: XCTestCase {
    func testLinearGridHitsRequestedTimesExactly() throws {
        for stepper in [Stepper.rkf45, .msbdf, .bsimp] {
            let options = ODEOptions(endTime: 3, stepper: stepper, grid: .linear(points: 7))
            let solution = try ODE.solve(Systems.decay, from: 1, initial: [1], options: options)
            XCTAssertEqual(solution.times, (0..<7).map { 1 + 2 * Double($0) / 6 }, "\(stepper)")
            XCTAssertEqual(solution.times.last, 3)
        }
    }

    func testLogarithmicGrid() throws {
        let options = ODEOptions(endTime: 100, stepper: .msbdf, grid: .logarithmic(points: 7, first: 1e-3))
        let solution = try ODE.solve(Systems.decay, from: 0, initial: [1], options: options)
        let expected = try XCTUnwrap(ODE.outputTimes(options.grid, t0: 0, end: 100))
        XCTAssertEqual(solution.times, expected)
        XCTAssertEqual(solution.times.count, 7)
        XCTAssertEqual(solution.times[0], 0)
        XCTAssertEqual(solution.times[1], 1e-3)
        XCTAssertEqual(solution.times.last, 100)
        for k in 2..<solution.times.count {  // ratio 10 between consecutive points after t0
            XCTAssertEqual(solution.times[k] / solution.times[k - 1], 10, accuracy: 1e-9)
        }
        for (t, y) in zip(solution.times, solution.states) {
            XCTAssertEqual(y[0], exp(-t), accuracy: 1e-6)
        }
    }

    func testExplicitTimesAndEveryStep() throws {
        let options = ODEOptions(endTime: 2, grid: .times([0.25, 1, 1.5]))
        let solution = try ODE.solve(Systems.decay, from: 0, initial: [1], options: options)
        XCTAssertEqual(solution.times, [0, 0.25, 1, 1.5, 2])

        let steps = try ODE.solve(Systems.decay, from: 0, initial: [1],
                                  options: ODEOptions(endTime: 2, grid: .everyStep))
        XCTAssertEqual(steps.times.count, steps.statistics.acceptedSteps + 1)
        XCTAssertEqual(steps.times.last, 2)
        XCTAssertTrue(zip(steps.times, steps.times.dropFirst()).allSatisfy { $0 < $1 })
    }

    func testMaximumStep() throws {
        for stepper in [Stepper.rk8pd, .msbdf] {
            let options = ODEOptions(endTime: 1, stepper: stepper, maximumStep: 0.01, grid: .everyStep)
            let solution = try ODE.solve(Systems.decay, from: 0, initial: [1], options: options)
            let steps = zip(solution.times, solution.times.dropFirst()).map { $1 - $0 }
            XCTAssertLessThanOrEqual(steps.max()!, 0.01 * (1 + 1e-12), "\(stepper)")
            XCTAssertGreaterThanOrEqual(solution.statistics.acceptedSteps, 100)
        }
    }

    func testStopPredicateEndsRunEarly() throws {
        let options = ODEOptions(endTime: 10, grid: .linear(points: 101))
        let solution = try ODE.solve(Systems.decay, from: 0, initial: [1], options: options, stop: { _, y in
            y[0] < 0.1 ? StopDecision("loss below 0.1") : nil
        })
        guard case .predicate(let decision) = solution.stopReason else {
            return XCTFail("\(solution.stopReason)")
        }
        XCTAssertEqual(decision.reason, "loss below 0.1")
        let t = try XCTUnwrap(solution.finalTime)
        XCTAssertGreaterThan(t, log(10))
        XCTAssertLessThan(t, 3)
        XCTAssertLessThan(solution.finalState![0], 0.1)
        XCTAssertEqual(solution.finalState![0], exp(-t), accuracy: 1e-7)
        // Grid points before the stop are all there (0, 0.1, ..., 2.3).
        XCTAssertEqual(solution.times.filter { $0 <= log(10) }.count, 24)
    }

    /// A problem value integrates as its parts do, bit for bit.
    func testProblemValueSolvesAsItsParts() throws {
        let options = ODEOptions(endTime: 2, stepper: .rk8pd, grid: .linear(points: 5))
        let a = try ODE.solve(ODEProblem(Systems.decay, from: 0.5, initial: [2], options: options))
        let b = try ODE.solve(Systems.decay, from: 0.5, initial: [2], options: options)
        XCTAssertEqual(a.times, b.times)
        XCTAssertEqual(a.states, b.states)
        XCTAssertEqual(a.times.first, 0.5)
        XCTAssertEqual(a.statistics, b.statistics)
    }

    /// The predicate may keep state: stop once the loss stopped changing.
    func testStatefulStopPredicate() throws {
        var previousLoss = Double.infinity
        let solution = try ODE.solve(
            Systems.decay, from: 0, initial: [1],
            options: ODEOptions(endTime: 1000, grid: .everyStep),
            stop: { _, y in
                let loss = y[0] * y[0]
                defer { previousLoss = loss }
                return abs(previousLoss - loss) < 1e-12 ? StopDecision("loss stopped changing") : nil
            })
        guard case .predicate(let decision) = solution.stopReason else { return XCTFail("\(solution.stopReason)") }
        XCTAssertEqual(decision.reason, "loss stopped changing")
        XCTAssertLessThan(solution.finalTime!, 1000)
    }

    /// Independent integrations may run concurrently: each owns its GSL objects.
    func testConcurrentIntegrations() throws {
        let count = 8
        let results = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
        defer { results.deallocate() }
        nonisolated(unsafe) let output = results  // each iteration writes its own slot
        DispatchQueue.concurrentPerform(iterations: count) { i in
            let stepper: Stepper = i.isMultiple(of: 2) ? .bsimp : .rk8pd
            let options = ODEOptions(endTime: Double(i + 1), stepper: stepper, absoluteTolerance: 1e-10,
                                     relativeTolerance: 1e-10)
            let solution = try? ODE.solve(Systems.oscillator, from: 0, initial: [1, 0], options: options)
            output[i] = solution?.finalState?[0] ?? .nan
        }
        for i in 0..<count {
            XCTAssertEqual(results[i], cos(Double(i + 1)), accuracy: 1e-7)
        }
    }
}
