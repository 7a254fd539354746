import CotflowStages
import Foundation
import XCTest

final class MechanisticTests: XCTestCase {
    let eta = 40.0 / 51.0

    /// ln L: slope -0.05 on [0, 2], -2 on [2, 5], -3 after; products max_j |v_j w_j + eta| / eta
    /// = 0.5 e^{-t / 1.5} (reaching 0.05 at t = 1.5 ln 10), with d = 3 coordinates.
    func synthetic(times: [Double]) -> (losses: [Double], v: [[Double]], w: [[Double]]) {
        let losses = times.map { Foundation.exp(Synthetic.logLoss($0, y0: Foundation.log(4), changePoints: [2, 5], slopes: [-0.05, -2, -3])) }
        let v = times.map { t in [1.0, 0.5, 0.25].map { scale in -eta * (1 - scale * 0.5 * Foundation.exp(-t / 1.5)) } }
        let w = times.map { _ in [1.0, 1.0, 1.0] }
        return (losses, v, w)
    }

    func testBoundariesAtKnownTimes() throws {
        let times = Synthetic.linearGrid(201, to: 10)
        let (losses, v, w) = synthetic(times: times)
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        // ln(0.9) = -0.10536: 0.1 is lost on [0, 2], the rest at slope -2.
        let plateauEnd = 2 + (-Foundation.log(0.9) - 0.1) / 2
        XCTAssertEqual(b.plateauEnd ?? .nan, plateauEnd, accuracy: 1e-9)
        XCTAssertEqual(b.productReached ?? .nan, 1.5 * Foundation.log(10), accuracy: 0.01)
        // The local slope (window +-0.5) is within 10% of -3 from just after t = 5 on.
        let start = try XCTUnwrap(b.exponentialStart)
        XCTAssertGreaterThan(start, 5)
        XCTAssertLessThanOrEqual(start, 5.5)

        let stages = try MechanisticDetector.stages(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(stages.map(\.name), [.plateau, .transition, .alignment, .exponentialConvergence])
        XCTAssertEqual(stages.map(\.tEnd), [b.plateauEnd!, b.productReached!, start, 10])
        XCTAssertEqual(stages.map(\.tStart), [0, b.plateauEnd!, b.productReached!, start])
        XCTAssertEqual(stages[3].rate, -3, accuracy: 1e-9)
        XCTAssertEqual(stages[0].lossStart, 4, accuracy: 1e-12)
        XCTAssertEqual(stages[0].lossEnd, 0.9 * 4, accuracy: 1e-9)
    }

    func testLogGridGivesTheSameBoundaries() throws {
        let times = Synthetic.logGrid(400, to: 10)
        let (losses, v, w) = synthetic(times: times)
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        // Interpolation across the kink at t = 2 (grid spacing 0.046 there) shifts the crossing a little.
        XCTAssertEqual(b.plateauEnd ?? .nan, 2 + (-Foundation.log(0.9) - 0.1) / 2, accuracy: 0.05)
        XCTAssertEqual(b.productReached ?? .nan, 1.5 * Foundation.log(10), accuracy: 0.01)
        XCTAssertEqual(b.exponentialStart ?? .nan, 5.25, accuracy: 0.3)
    }

    /// The products enter the band, leave it and enter again: the second entry counts.
    func testProductMustStayWithinTolerance() throws {
        let times = Synthetic.linearGrid(101, to: 10)
        let losses = times.map { Foundation.exp(-$0) }
        let gap: (Double) -> Double = { t in t < 2 ? 0.5 : (t < 4 ? 0.01 : (t < 6 ? 0.2 : 0.01)) }
        let v = times.map { [-eta * (1 - gap($0)), -eta] }
        let w = times.map { _ in [1.0, 1.0] }
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(b.productReached ?? .nan, 6, accuracy: 0.1)
        // w far from 1 with v w = -eta still counts: the product is what is tested.
        let v2 = times.map { _ in [-eta / 2] }, w2 = times.map { _ in [2.0] }
        XCTAssertEqual(try MechanisticDetector.boundaries(times: times, losses: losses, v: v2, w: w2, eta: eta).productReached, 0)
        // Never within tolerance at the end: nil.
        let v3 = times.map { _ in [-eta / 2] }
        XCTAssertNil(try MechanisticDetector.boundaries(times: times, losses: losses, v: v3, w: w2.map { _ in [1.0] }, eta: eta).productReached)
    }

    func testMissingAndOutOfOrderBoundariesMergeStages() throws {
        let times = Synthetic.linearGrid(101, to: 10)
        // ln L = -t^2 / 10 keeps curving: no exponential regime; the loss falls 10% at t = 1.03.
        let losses = times.map { Foundation.exp(-$0 * $0 / 10) }
        let v = times.map { _ in [-eta / 2] }, w = times.map { _ in [1.0] }
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertNil(b.productReached)
        XCTAssertNil(b.exponentialStart)
        XCTAssertEqual(b.plateauEnd ?? .nan, (10 * -Foundation.log(0.9)).squareRoot(), accuracy: 0.01)
        let stages = try MechanisticDetector.stages(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(stages.map(\.name), [.plateau, .transition])
        XCTAssertEqual(stages.last?.tEnd, 10)

        // A flat curve: no boundary at all, one plateau stage.
        let flat = times.map { _ in 2.0 }
        let b2 = try MechanisticDetector.boundaries(times: times, losses: flat, v: v, w: w, eta: eta)
        XCTAssertEqual(b2, MechanisticBoundaries())
        let one = try MechanisticDetector.stages(times: times, losses: flat, v: v, w: w, eta: eta)
        XCTAssertEqual(one.map(\.name), [.plateau])
        XCTAssertEqual(one[0].rate, 0, accuracy: 1e-12)

        // Products reached (at t0) before the plateau ends: that boundary is dropped (out of
        // order), and the transition runs from the plateau end to the exponential regime.
        let (l3, _, _) = synthetic(times: times)
        let v4 = times.map { _ in [-eta] }
        let b4 = try MechanisticDetector.boundaries(times: times, losses: l3, v: v4, w: w, eta: eta)
        XCTAssertEqual(b4.productReached, 0)
        let s4 = try MechanisticDetector.stages(times: times, losses: l3, v: v4, w: w, eta: eta)
        XCTAssertEqual(s4.map(\.name), [.plateau, .transition, .exponentialConvergence])
        XCTAssertEqual(s4.map(\.tEnd), [b4.plateauEnd!, b4.exponentialStart!, 10])
    }

    func testInputChecks() {
        let t = [0.0, 1, 2, 3, 4, 5]
        let l = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
        let v = t.map { _ in [-0.5] }, w = t.map { _ in [1.0] }
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertEqual(message { _ = try MechanisticDetector.boundaries(times: t, losses: l, v: v, w: w, eta: 0.5) }, "no error")
        XCTAssertTrue(message { _ = try MechanisticDetector.boundaries(times: t, losses: l, v: Array(v.dropLast()), w: w, eta: 0.5) }.contains("one row per time"))
        XCTAssertTrue(message { _ = try MechanisticDetector.boundaries(times: t, losses: l, v: v, w: w, eta: 0) }.contains("eta"))
        XCTAssertTrue(message { _ = try MechanisticDetector.boundaries(times: t, losses: l, v: v, w: w.map { _ in [1, 2] }, eta: 0.5) }.contains("row 1"))
        XCTAssertTrue(message { _ = try MechanisticDetector.boundaries(times: t, losses: [1, 0.9, -1, 0.7, 0.6, 0.5], v: v, w: w, eta: 0.5) }.contains("row 3"))
        XCTAssertTrue(message { _ = try MechanisticDetector.stages(times: [0, 2, 1, 3, 4, 5], losses: l, v: v, w: w, eta: 0.5) }.contains("strictly increasing"))
        XCTAssertTrue(message { _ = try MechanisticDetector.stages(times: [0, 1], losses: [1, 1], v: [[1], [1]], w: [[1], [1]], eta: 0.5) }.contains("at least 5"))
    }
}
