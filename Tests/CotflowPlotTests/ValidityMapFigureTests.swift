@testable import CotflowPlot
import CotflowExperiments
import Foundation
import XCTest

final class ValidityMapFigureTests: XCTestCase {
    /// The compare job's figure over (n_over_d, k): a map of the deviation from the flow with a
    /// letter per cell (A follows, N does-not-follow: the modal regime over the seeds) and the
    /// boundary drawn between the cells of different regimes; the legend names the letters.
    func testMapOfTheDeviationWithTheBoundary() throws {
        let grid = try SweepGrid(specs: ["n_over_d=2,4", "k=2,4,6", "seed=0,1"], integerNames: SweepJob.integerAxes)
        let names = CompareMetrics.names
        let deviation = names.firstIndex(of: "max_rel_loss_deviation")!, start = names.firstIndex(of: "initial_cot_loss")!
        let records = grid.points.map { p -> SweepRecord in
            var metrics = [Double](repeating: .nan, count: names.count)
            metrics[start] = 1
            // Does not follow at n/d = 2 from k = 4 on.
            metrics[deviation] = p["n_over_d"]! == 2 && p["k"]! >= 4 ? 0.5 + 0.1 * p["k"]! : 0.01 * (1 + p["seed"]!)
            return SweepRecord(index: p.index, values: p.values, metrics: metrics, status: SweepRecord.ok)
        }
        let report = PhaseReport(grid: grid, metricNames: names, records: records, settings: ExperimentSettings(job: .compare))
        guard case .map(let map) = SweepFigure(report, metric: nil) else { return XCTFail("no map") }
        XCTAssertEqual(map.metric, "max_rel_loss_deviation")
        XCTAssertEqual(map.regimes, ["A", "N", "N", "A", "A", "A"])
        XCTAssertEqual(map.legend, "A follows, N does-not-follow")
        XCTAssertTrue(map.logScale)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cotflow-validity-map-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("sweep_plot").path
        XCTAssertFalse(try Plotter.renderRegimeMap(map, to: base, options: Plotter.Options(searchPath: "/nonexistent-cotflow-dir")).rendered)
        // log10 of the seeds' median deviation, row n_over_d = 2 first.
        let data = try String(contentsOfFile: base + ".tsv", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        let expected = [[0.015, 0.9, 1.1], [0.015, 0.015, 0.015]].map { $0.map { Foundation.log10($0) } }
        let read = data.map { $0.split(separator: "\t").map { Double($0)! } }
        XCTAssertEqual(read.count, 2)
        for (r, e) in zip(read, expected) { for (x, y) in zip(r, e) { XCTAssertEqual(x, y, accuracy: 1e-12) } }
        let script = try String(contentsOfFile: base + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("letters: A follows, N does-not-follow; black lines: regime boundaries"), script)
        XCTAssertEqual(script.components(separatedBy: "set label 'N'").count - 1, 2)
        XCTAssertEqual(script.components(separatedBy: "set label 'A'").count - 1, 4)
        // Boundaries: (0,0)|(0,1) vertical; (0,1)/(1,1) and (0,2)/(1,2) horizontal.
        XCTAssertEqual(script.components(separatedBy: "nohead front lw 2.5").count - 1, 3)
    }
}
