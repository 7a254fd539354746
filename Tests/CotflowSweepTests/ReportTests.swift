@testable import CotflowExperiments
import XCTest

final class ReportTests: XCTestCase {
    /// Records of a grid from a function of the point.
    func records(_ grid: SweepGrid, _ metrics: [String], _ f: (SweepPoint) -> [Double], failing: Set<Int> = []) -> [SweepRecord] {
        grid.points.map { p in
            failing.contains(p.index)
                ? SweepRecord(index: p.index, values: p.values, metrics: metrics.map { _ in .nan }, status: "flow failed: step too small")
                : SweepRecord(index: p.index, values: p.values, metrics: f(p), status: SweepRecord.ok)
        }
    }

    func testReportNamesThePlantedChanges() throws {
        let grid = try SweepGrid(specs: ["k=1:12:12"])
        let metrics = ["eval_loss", "time", "converged", "blowup", "smooth"]
        let report = sweepReport(records: records(grid, metrics) { p in
            let k = p["k"]!
            return [
                (k - 8) * (k - 8) + 1,                   // falls until k = 8, then rises
                k <= 5 ? 1 + 0.01 * k : 1000 + k,         // jumps between k = 5 and k = 6
                k >= 11 ? 0 : 1,                          // stops converging at k = 11
                k >= 10 ? .nan : k,                       // stops being finite at k = 10
                2 * k,                                    // rises throughout
            ]
        }, grid: grid, metricNames: metrics)
        let expected = [
            "sweep over k in {1, 2, ..., 12} (12 values): 12 points, 12 ok, 0 failed",
            "eval_loss stops falling with k between k = 8 and k = 9 (minimum 1 at k = 8)",
            "time: rises throughout; largest change between k = 5 and k = 6: 1.05 -> 1006 (grows by a factor 958)",
            "converged = 0 at 2 of 12 points: k = 11; k = 12",
            "converged: changes at 1 place",
            "converged drops from 1 to 0 between k = 10 and k = 11",
            "blowup stops being finite between k = 9 and k = 10",
            "smooth: rises throughout; largest change between k = 1 and k = 2",
        ]
        for line in expected { XCTAssertTrue(report.contains(line), "missing '\(line)' in\n\(report)") }
        XCTAssertFalse(report.contains("eval_loss stops rising"), report)
    }

    func testLogScaleForPositiveMetricsSpanningDecades() throws {
        // 1, 2, 4, ..., then x1000 between k = 4 and k = 5: the largest relative change would be
        // any step (all near 100%), the largest change in log scale is the jump.
        let grid = try SweepGrid(specs: ["k=1:8:8"])
        let report = sweepReport(records: records(grid, ["loss"]) { p in
            let k = p["k"]!
            return [Foundation.pow(2, k) * (k >= 5 ? 1000 : 1)]
        }, grid: grid, metricNames: ["loss"])
        XCTAssertTrue(report.contains("loss: rises throughout; largest change between k = 4 and k = 5: 16 -> 32000 (grows by a factor 2e+03)"), report)
    }

    func testTwoAxesFailuresAndConstants() throws {
        let grid = try SweepGrid(specs: ["a=1,2,3", "b=10,20"])
        let report = sweepReport(records: records(grid, ["m", "c"], { p in
            let a = p["a"]!, b = p["b"]!
            return [b == 20 && a == 3 ? -50 : a + b, 7]
        }, failing: [1]), grid: grid, metricNames: ["m", "c"])
        XCTAssertTrue(report.contains("6 points, 5 ok, 1 failed"), report)
        XCTAssertTrue(report.contains("failed at a = 1, b = 20: flow failed: step too small"), report)
        XCTAssertTrue(report.contains("along a:"), report)
        XCTAssertTrue(report.contains("along b:"), report)
        XCTAssertTrue(report.contains("m: largest change between a = 2 and a = 3 at b = 20: 22 -> -50 (changes sign)"), report)
        XCTAssertTrue(report.contains("c: constant"), report)
    }

    func testMissingPointsAndEmptyRecords() throws {
        let grid = try SweepGrid(specs: ["k=1:4:4"])
        let some = Array(records(grid, ["m"]) { [$0["k"]!] }.prefix(2))
        let report = sweepReport(records: some, grid: grid, metricNames: ["m"])
        XCTAssertTrue(report.contains("4 points, 2 ok, 0 failed, 2 missing"), report)
        XCTAssertTrue(sweepReport(records: [], grid: grid, metricNames: ["m"]).contains("0 ok, 0 failed, 4 missing"))
        let single = try SweepGrid(specs: ["k=3"])
        XCTAssertTrue(sweepReport(records: records(single, ["m"]) { _ in [1] }, grid: single, metricNames: ["m"]).hasPrefix("sweep over k in {3} (1 value): 1 point"))
    }

    func testSeedIsAReplicateAxis() throws {
        // Along sigma the metric rises; across seeds it jitters (+-10%) with no order. Trends and
        // reversals along the seed axis would be noise, so only the spread is reported.
        let grid = try SweepGrid(specs: ["sigma=1,2,3", "seed=0:3:4"], integerNames: ["seed"])
        let jitter = [1.0, 1.1, 0.9, 1.05]
        let report = sweepReport(records: records(grid, ["t", "ok"]) { p in
            [p["sigma"]! * jitter[Int(p["seed"]!)], p["seed"]! == 2 && p["sigma"]! == 3 ? 0 : 1]
        }, grid: grid, metricNames: ["t", "ok"])
        XCTAssertTrue(report.contains("along sigma:"), report)
        XCTAssertFalse(report.contains("along seed"), report)
        XCTAssertFalse(report.contains("with seed"), report)
        XCTAssertTrue(report.contains("across seed (replicates, unordered):"), report)
        XCTAssertTrue(report.contains("  t: spread up to 18.2% at sigma = 1 (0.9 to 1.1)"), report)
        XCTAssertTrue(report.contains("  ok: differs between replicates at 1 of 3 settings"), report)
        // Named otherwise, the same axis is ordered again.
        let ordered = sweepReport(records: records(grid, ["t", "ok"]) { p in [p["sigma"]! * jitter[Int(p["seed"]!)], 1] },
                                  grid: grid, metricNames: ["t", "ok"], replicateAxes: [])
        XCTAssertTrue(ordered.contains("along seed:"), ordered)
    }
}
