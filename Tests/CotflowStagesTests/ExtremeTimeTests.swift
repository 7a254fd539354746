import CotflowCore
import CotflowStages
import Foundation
import XCTest

/// Issue 22: times near the range of a double (1e150 trapped on a NaN rate at 1e155 and named a
/// falling loss "plateau, stall, stall, stall" at 1e150).
final class ExtremeTimeTests: XCTestCase {
    /// A loss that falls, levels off and falls again, on times 1...60 (in units of `scale`).
    private func curve(scale: Double) -> (times: [Double], losses: [Double]) {
        let times = (1...60).map { Double($0) * scale }
        let losses = (1...60).map { i -> Double in
            let t = Double(i)
            return t < 20 ? exp(-0.3 * t) : t < 40 ? exp(-6) * (1 + 0.001 * (t - 20)) : exp(-6.02 - 0.3 * (t - 40))
        }
        return (times, losses)
    }

    func testStagesAtHugeTimesAreThoseAtUnitTimesScaled() throws {
        let unit = try ChangePointDetector.stages(times: curve(scale: 1).times, losses: curve(scale: 1).losses)
        XCTAssertTrue(unit.contains { $0.name == .descent }, "\(unit.map(\.name))")
        for scale in [1e150, 1e155, 1e300] {
            let c = curve(scale: scale)
            let scaled = try ChangePointDetector.stages(times: c.times, losses: c.losses)
            XCTAssertEqual(scaled.map(\.name), unit.map(\.name), "at times x \(scale)")
            for (s, u) in zip(scaled, unit) {
                XCTAssertTrue(s.rate.isFinite, "stage \(s.index) at times x \(scale)")
                // Power-of-two scaling would be exact; a decimal scale changes the last bits only.
                XCTAssertEqual(s.rate * scale, u.rate, accuracy: 1e-9 * max(abs(u.rate), 1e-12))
                XCTAssertEqual(s.tStart / scale, u.tStart, accuracy: 1e-9 * u.tStart)
            }
        }
    }

    func testATimeSpanBelowTheResolutionOfItsTimesIsRefused() {
        // Strictly increasing doubles one ulp apart near 1e20: the resampling grid cannot be resolved.
        var times = [1e20]
        for _ in 1..<10 { times.append(times.last!.nextUp) }
        let losses = (0..<10).map { exp(-Double($0)) }
        XCTAssertThrowsError(try ChangePointDetector.stages(times: times, losses: losses)) { error in
            XCTAssertEqual(error as? StageError, .timeSpanNotResolved(first: times.first!, last: times.last!))
            XCTAssertEqual((error as? ReportableError)?.kind, .input)
        }
    }
}
