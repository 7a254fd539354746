import CotflowStages
import Foundation
import XCTest

/// The block-manifold landmark of a random start: the last entry of the distance from the block
/// manifold into [0, fraction x its start].
final class BlockManifoldStageTests: XCTestCase {
    let eta = 40.0 / 51.0

    /// MechanisticTests' synthetic curve: plateau end ln(49/9) = 1.69, products at -eta from ln(3781) = 8.24.
    func curve(_ times: [Double]) -> (losses: [Double], v: [[Double]], w: [[Double]]) { MechanisticTests.synthetic(times: times, eta: eta) }

    func testBlockManifoldBoundaryAndStage() throws {
        let times = Synthetic.linearGrid(201, to: 10)
        let (losses, v, w) = curve(times)
        // distance = 2 e^{-t}: 10% of its start at t = ln 10 = 2.303 (between the plateau end and the products).
        let distance = times.map { 2 * Foundation.exp(-$0) }
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta, manifoldDistance: distance)
        let reached = try XCTUnwrap(b.blockManifoldReached)
        // Linear interpolation of an exponential on a grid of step 0.05: within 0.05 of ln 10.
        XCTAssertEqual(reached, Foundation.log(10), accuracy: 0.05)
        let stages = try MechanisticDetector.stages(times: times, losses: losses, boundaries: b)
        XCTAssertEqual(stages.map(\.name), [.plateau, .transition, .blockManifold, .convergence])
        XCTAssertEqual(stages[2].tStart, reached)
        // Without a distance the stages are the reduced model's.
        let plain = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta)
        XCTAssertNil(plain.blockManifoldReached)
        XCTAssertEqual(try MechanisticDetector.stages(times: times, losses: losses, boundaries: plain).count, 3)
    }

    func testNoLandmarkOnTheManifoldOrOutsideTheBandAtTheEnd() throws {
        let times = Synthetic.linearGrid(101, to: 10)
        let (losses, v, w) = curve(times)
        // Starts on the manifold (an Assumption 4.1 point): no landmark.
        let zero = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta,
                                                      manifoldDistance: times.map { _ in 0 })
        XCTAssertNil(zero.blockManifoldReached)
        // Comes back out of the band at the end: not reached.
        let back = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta,
                                                      manifoldDistance: times.map { $0 < 9 ? Foundation.exp(-$0) : 1 })
        XCTAssertNil(back.blockManifoldReached)
        // A stricter fraction moves the landmark later: 1% of the start at t = ln 100.
        var options = MechanisticOptions()
        options.blockManifoldFraction = 0.01
        let strict = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta, options: options,
                                                        manifoldDistance: times.map { Foundation.exp(-$0) })
        XCTAssertEqual(strict.blockManifoldReached ?? .nan, Foundation.log(100), accuracy: 0.1)
        XCTAssertThrowsError(try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta,
                                                                manifoldDistance: [1, 2]))
    }
}
