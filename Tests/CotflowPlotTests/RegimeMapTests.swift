@testable import CotflowPlot
import Foundation
import XCTest

final class RegimeMapTests: XCTestCase {
    /// A 2 x 3 map: log10 data row by row, one label per cell and one boundary segment per pair of
    /// neighbouring cells in different regimes; a size mismatch is refused.
    func testDataLabelsAndBoundariesWithoutGnuplot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cotflow-regime-map-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let map = RegimeMap(title: "lr sweep", rowAxis: "d", columnAxis: "learning_rate", rowValues: [5, 10],
                            columnValues: [0.01, 0.1, 1], values: [1, 10, 100, 0.1, .nan, 1000], metric: "final_cot_loss",
                            logScale: true, regimes: ["C", "C", "D", "C", "D", "D"])
        let base = dir.appendingPathComponent("map").path
        let outcome = try Plotter.renderRegimeMap(map, to: base, options: Plotter.Options(searchPath: "/nonexistent-cotflow-dir"))
        XCTAssertFalse(outcome.rendered)
        let data = try String(contentsOfFile: base + ".tsv", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(data, ["0.0\t1.0\t2.0", "-1.0\tNaN\t3.0"])
        let script = try String(contentsOfFile: base + ".gp", encoding: .utf8)
        XCTAssertEqual(script.components(separatedBy: "set label ").count - 1, 6)
        // Boundaries: (0,1)|(0,2), (1,0)|(1,1) vertical; (0,1)/(1,1) horizontal.
        XCTAssertEqual(script.components(separatedBy: "nohead front lw 2.5").count - 1, 3)
        XCTAssertTrue(script.contains("set xtics ('0.01' 0, '0.1' 1, '1' 2)"), script)
        var bad = map
        bad.regimes = ["C"]
        XCTAssertThrowsError(try Plotter.renderRegimeMap(bad, to: base))
    }
}
