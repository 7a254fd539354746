import CotflowExamplesSupport
import Foundation
import XCTest

/// notes/reproduction.md is generated: its table is the rendering of notes/reproduction-rows.json.
final class ReproductionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func committedRows() throws -> [ClaimRow] {
        let path = root.appendingPathComponent("notes/reproduction-rows.json").path
        return try ReproductionTable.rows(json: try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
    }

    func testCommittedTableIsCurrent() throws {
        let rows = try Self.committedRows()
        let document = try String(contentsOf: Self.root.appendingPathComponent("notes/reproduction.md"), encoding: .utf8)
        XCTAssertEqual(try ReproductionTable.render(document: document, rows: rows), document,
                       "notes/reproduction.md is not the rendering of notes/reproduction-rows.json: run `swift run -c release reproduction-table`")
        XCTAssertEqual(rows.map(\.row), Array(1...rows.count), "rows are numbered 1, 2, ... without gaps")
        for row in rows {
            for (field, text) in [("claim", row.claim), ("tested_by", row.testedBy), ("measured", row.measured), ("verdict", row.verdict)] {
                XCTAssertFalse(text.trimmingCharacters(in: .whitespaces).isEmpty, "row \(row.row): empty \(field)")
            }
            XCTAssertTrue(row.source == "command" || row.source.hasPrefix("example:"), "row \(row.row): source \(row.source)")
        }
    }

    func testExampleRowsReplaceMeasurementsAndKeepTheClaimText() throws {
        let committed = [ClaimRow(row: 1, claim: "paper claim (abstract)", testedBy: "example `x`", measured: "old", verdict: "**holds**", source: "example:x"),
                         ClaimRow(row: 2, claim: "by a command", testedBy: "`cotflow exact`", measured: "exact", verdict: "**holds**", source: "command")]
        let measured = [ClaimRow(row: 1, claim: "x's wording", testedBy: "example `x`", measured: "a = 1", verdict: "**holds**", source: "example:x"),
                        ClaimRow(row: 1, claim: "x's second", testedBy: "example `x`", measured: "b = 2", verdict: "**does not hold**", source: "example:x"),
                        ClaimRow(row: 3, claim: "new", testedBy: "example `y`", measured: "c", verdict: "inconclusive", source: "example:y")]
        let rows = ReproductionTable.updating(committed, with: measured)
        XCTAssertEqual(rows.map(\.row), [1, 2, 3])
        XCTAssertEqual(rows[0].claim, "paper claim (abstract)")
        XCTAssertEqual(rows[0].measured, "*x's wording*: a = 1 *x's second*: b = 2")
        XCTAssertEqual(rows[0].verdict, "**holds** (x's wording); **does not hold** (x's second)")
        XCTAssertEqual(rows[1], committed[1])
        let document = "intro\n\(ReproductionTable.begin)\nold table\n\(ReproductionTable.end)\nafter\n"
        let rendered = try ReproductionTable.render(document: document, rows: rows)
        XCTAssertTrue(rendered.contains("| 1 | paper claim (abstract) | example `x` | *x's wording*: a = 1 *x's second*: b = 2 | **holds** (x's wording); **does not hold** (x's second) |"), rendered)
        XCTAssertFalse(rendered.contains("old table"))
        XCTAssertTrue(rendered.hasSuffix("\(ReproductionTable.end)\nafter\n"))
        // A cell with a pipe stays one cell.
        XCTAssertTrue(ReproductionTable.table([ClaimRow(row: 1, claim: "|v|", testedBy: "t", measured: "m", verdict: "v", source: "command")])
            .contains("| 1 | \\|v\\| | t | m | v |"))
    }
}
