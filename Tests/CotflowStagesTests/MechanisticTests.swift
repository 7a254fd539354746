import CotflowStages
import Foundation
import XCTest

final class MechanisticTests: XCTestCase {
    let eta = 40.0 / 51.0

    /// ln L: slope -0.05 on [0, 2], -2 on [2, 5], -3 after; w_j = 1 and the products
    /// -v_j w_j / eta = 1 / (1 + a_j e^{-t}), a = 49, 99, 199, with d = 3 coordinates: the largest
    /// reaches a tenth at t = ln(49 / 9) (the plateau end), the smallest is within 5% of 1 from
    /// t = ln(199 x 19) on (the products reached).
    func synthetic(times: [Double]) -> (losses: [Double], v: [[Double]], w: [[Double]]) { Self.synthetic(times: times, eta: eta) }

    static func synthetic(times: [Double], eta: Double) -> (losses: [Double], v: [[Double]], w: [[Double]]) {
        let losses = times.map { Foundation.exp(Synthetic.logLoss($0, y0: Foundation.log(4), changePoints: [2, 5], slopes: [-0.05, -2, -3])) }
        let v = times.map { t in [49.0, 99, 199].map { a in -eta / (1 + a * Foundation.exp(-t)) } }
        let w = times.map { _ in [1.0, 1.0, 1.0] }
        return (losses, v, w)
    }
    static let plateauEnd = Foundation.log(49.0 / 9), productReached = Foundation.log(199.0 * 19)

    func testBoundariesAtKnownTimes() throws {
        let times = Synthetic.linearGrid(201, to: 10)
        let (losses, v, w) = synthetic(times: times)
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        // Linear interpolation of a logistic on a grid of step 0.05.
        XCTAssertEqual(b.plateauEnd ?? .nan, Self.plateauEnd, accuracy: 0.01)
        XCTAssertEqual(b.productReached ?? .nan, Self.productReached, accuracy: 0.01)
        // The local slope (window +-0.5) is within 10% of -3 from just after t = 5 on.
        let start = try XCTUnwrap(b.exponentialStart)
        XCTAssertGreaterThan(start, 5)
        XCTAssertLessThanOrEqual(start, 5.5)

        // Three stages, cut at the plateau end and the products' arrival; the exponential start cuts none.
        let stages = try MechanisticDetector.stages(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(stages.map(\.name), [.plateau, .transition, .convergence])
        XCTAssertEqual(stages.map(\.tEnd), [b.plateauEnd!, b.productReached!, 10])
        XCTAssertEqual(stages.map(\.tStart), [0, b.plateauEnd!, b.productReached!])
        XCTAssertEqual(stages[2].rate, -3, accuracy: 1e-9)
        XCTAssertEqual(stages[0].lossStart, 4, accuracy: 1e-12)
        XCTAssertEqual(stages[0].lossEnd, 4 * Foundation.exp(-0.05 * b.plateauEnd!), accuracy: 1e-9)
        XCTAssertEqual(Set(stages.map(\.label)).count, stages.count, "names unique within the table")
    }

    func testLogGridGivesTheSameBoundaries() throws {
        let times = Synthetic.logGrid(400, to: 10)
        let (losses, v, w) = synthetic(times: times)
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(b.plateauEnd ?? .nan, Self.plateauEnd, accuracy: 0.02)
        XCTAssertEqual(b.productReached ?? .nan, Self.productReached, accuracy: 0.05)
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
        // ln L = -t^2 / 10 keeps curving: no exponential regime; products at a fifth of -eta from
        // t = 3 on (from a hundredth before), never within 5%: plateau, then transition to the end.
        let losses = times.map { Foundation.exp(-$0 * $0 / 10) }
        let v = times.map { t in [t < 3 ? -eta / 100 : -eta / 5] }, w = times.map { _ in [1.0] }
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertNil(b.productReached)
        XCTAssertNil(b.exponentialStart)
        // The crossing of 0.1 between the points at 2.9 (0.01) and 3.0 (0.2).
        XCTAssertEqual(b.plateauEnd ?? .nan, 2.9 + 0.1 * 0.09 / 0.19, accuracy: 1e-9)
        let stages = try MechanisticDetector.stages(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertEqual(stages.map(\.name), [.plateau, .transition])
        XCTAssertEqual(stages.last?.tEnd, 10)

        // A flat curve with small products: no boundary at all, one plateau stage.
        let flat = times.map { _ in 2.0 }, small = times.map { _ in [-eta / 100] }
        let b2 = try MechanisticDetector.boundaries(times: times, losses: flat, v: small, w: w, eta: eta)
        XCTAssertEqual(b2, MechanisticBoundaries())
        let one = try MechanisticDetector.stages(times: times, losses: flat, v: small, w: w, eta: eta)
        XCTAssertEqual(one.map(\.name), [.plateau])
        XCTAssertEqual(one[0].rate, 0, accuracy: 1e-12)

        // Products past a tenth at t0: no plateau, the table opens with the transition; products
        // at -eta at t0: one convergence stage.
        let (l3, _, _) = synthetic(times: times)
        let half = times.map { _ in [-eta / 2] }
        XCTAssertEqual(try MechanisticDetector.boundaries(times: times, losses: l3, v: half, w: w, eta: eta).plateauEnd, 0)
        XCTAssertEqual(try MechanisticDetector.stages(times: times, losses: l3, v: half, w: w, eta: eta).map(\.name), [.transition])
        let v4 = times.map { _ in [-eta] }
        let b4 = try MechanisticDetector.boundaries(times: times, losses: l3, v: v4, w: w, eta: eta)
        XCTAssertEqual(b4.productReached, 0)
        XCTAssertEqual(try MechanisticDetector.stages(times: times, losses: l3, v: v4, w: w, eta: eta).map(\.name), [.convergence])
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
