@testable import CotflowPlot
import Foundation
import XCTest

final class HeatmapTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cotflow-heatmap-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["COTFLOW_KEEP_PLOTS"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Two 4 x 4 maps with blocks [0, 1), [1, 3), [3, 4); one NaN entry.
    func maps() -> [(title: String, rows: Int, cols: Int, values: [Double])] {
        var b = (0..<16).map { Double($0 % 5) - 2 }
        b[5] = .nan
        return [("V 'before'", 4, 4, (0..<16).map { Double($0) / 100 }), ("V after", 4, 4, b)]
    }

    func testDataScriptAndBlockLinesWithoutGnuplot() throws {
        let base = directory.appendingPathComponent("maps").path
        let outcome = try Plotter.renderHeatmaps(maps(), to: base + ".png", title: "weights", blockLines: [1, 3],
                                                 options: Plotter.Options(searchPath: "/nonexistent-cotflow-dir"))
        XCTAssertFalse(outcome.rendered)
        XCTAssertEqual(outcome.files, [base + ".tsv", base + ".gp"])
        XCTAssertTrue(outcome.message.contains("gnuplot was not found"), outcome.message)
        XCTAssertTrue(outcome.message.contains("1 non-finite entry drawn blank"), outcome.message)
        let data = try String(contentsOfFile: base + ".tsv", encoding: .utf8)
        let rows = data.split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, 8)
        XCTAssertTrue(rows.allSatisfy { $0.split(separator: "\t").count == 4 })
        XCTAssertTrue(data.contains("\n\n\n# index 1"))
        let script = try String(contentsOfFile: base + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("index 0 matrix with image"))
        XCTAssertTrue(script.contains("index 1 matrix with image"))
        // Symmetric colour ranges per map, and two block lines per axis per map.
        XCTAssertTrue(script.contains("set cbrange [-0.15:0.15]"), script)
        XCTAssertTrue(script.contains("set cbrange [-2.0:2.0]"), script)
        XCTAssertEqual(script.components(separatedBy: "\nset arrow").count - 1, 8)
        XCTAssertTrue(script.contains("'V ''before''  (|max| 0.15)'"), script)
    }

    func testRendersWithGnuplotWhenAvailable() throws {
        guard Plotter.gnuplotPath() != nil else { throw XCTSkip("gnuplot is not installed") }
        let base = directory.appendingPathComponent("maps").path
        let outcome = try Plotter.renderHeatmaps(maps(), to: base, title: "weights", blockLines: [1, 3])
        XCTAssertTrue(outcome.rendered, outcome.message)
        XCTAssertTrue(outcome.files.contains(base + ".svg"), outcome.message)
    }

    func testRejectsMismatchedSizes() {
        XCTAssertThrowsError(try Plotter.renderHeatmaps([("bad", 2, 3, [1, 2, 3])], to: directory.appendingPathComponent("x").path,
                                                        title: "t"))
        XCTAssertThrowsError(try Plotter.renderHeatmaps([], to: directory.appendingPathComponent("x").path, title: "t"))
    }
}
