@testable import CotflowCore
import Foundation
import XCTest

final class OutputComparisonTests: XCTestCase {
    private func parsed(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func testJSONNumbersWithinTheToleranceAndTimingsSkipped() throws {
        let a = try parsed(#"{"loss": 1.0, "seconds": 3, "out": "a", "list": [1, 2], "name": "x", "none": null}"#)
        let b = try parsed(#"{"loss": 1.0000001, "seconds": 9, "out": "b", "list": [1, 2], "name": "x", "none": null}"#)
        var exact = OutputComparison(tolerance: 0)
        exact.compareJSON(a, b, path: "summary.json")
        XCTAssertEqual(exact.differences, ["summary.json.loss: 1.0 against 1.0000001"])
        XCTAssertFalse(exact.reproduces)
        var loose = OutputComparison(tolerance: 1e-6)
        loose.compareJSON(a, b, path: "summary.json")
        XCTAssertTrue(loose.reproduces)

        var shapes = OutputComparison(tolerance: 0)
        shapes.compareJSON(try parsed(#"{"a": [1, 2], "b": "x", "c": 1}"#), try parsed(#"{"a": [1], "b": "y", "d": 1}"#), path: "s")
        XCTAssertEqual(shapes.differences, ["s.a: 2 against 1 entries", "s.b: \"x\" against \"y\"", "s.c: present in only one run",
                                            "s.d: present in only one run"])
    }

    func testCSVCellsAndNaN() {
        var c = OutputComparison(tolerance: 1e-9)
        c.compareCSV("t,loss\n0,nan\n1,2.0\n", "t,loss\n0,nan\n1,2.0000000001\n", name: "x.csv")
        XCTAssertTrue(c.reproduces)
        c.compareCSV("t,loss\n0,1\n", "t,loss\n0,1.5\n", name: "y.csv")
        c.compareCSV("t\n", "t\n0\n", name: "z.csv")
        XCTAssertEqual(c.differences, ["y.csv, line 2: '0,1' against '0,1.5'", "z.csv: 2 against 3 lines"])
    }

    func testDirectories() throws {
        let root = NSTemporaryDirectory() + "cotflow-rerun-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        let a = root + "/a", b = root + "/b"
        try writeText(#"{"x": 1}"#, to: a + "/summary.json")
        try writeText(#"{"x": 1}"#, to: b + "/summary.json")
        try writeText("t\n0\n", to: a + "/trajectory.csv")
        try writeText("t\n1\n", to: a + "/figure_data.csv")
        try writeText("t\t1\n", to: a + "/figure.tsv")
        try writeText("plot", to: a + "/figure.gp")
        try writeText("t\t1\n", to: a + "/sweep.tsv")
        try writeText("t\t1\n", to: b + "/sweep.tsv")
        try writeText("t\n0\n", to: a + "/missing.csv")
        try writeText("t\n0\n", to: b + "/trajectory.csv")
        try writeText("not json", to: a + "/broken.json")
        try writeText("not json", to: b + "/broken.json")
        let c = OutputComparison(original: a, rerun: b, tolerance: 0)
        XCTAssertEqual(c.compared, ["broken.json", "summary.json", "sweep.tsv", "trajectory.csv"])
        XCTAssertEqual(c.figureData, ["figure.tsv", "figure_data.csv"])
        XCTAssertEqual(c.differences, ["broken.json: not valid JSON", "missing.csv: not written by the rerun"])
    }
}
