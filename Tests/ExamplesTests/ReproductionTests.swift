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
        // Issue 24, item 7: a count at the top, one short line per row, the detail below the table,
        // and every row's numbers named by the command that produced them.
        XCTAssertTrue(document.contains("**\(rows.count) rows: "), "no count of the rows at the top of the table")
        let tableLines = document.components(separatedBy: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| # ") }
        XCTAssertEqual(tableLines.count, rows.count)
        for line in tableLines { XCTAssertLessThan(line.count, 600, "a table row holds its detail: \(line.prefix(80))...") }
        for row in rows {
            XCTAssertTrue(document.contains("**Row \(row.row).** "), "row \(row.row) has no detail below the table")
            if row.source.hasPrefix("example:") {
                XCTAssertEqual(ReproductionTable.producedBy(row), "`swift run -c release \(row.source.dropFirst(8))`")
            }
            // A cotflow command in "tested by" of an example's row is not the source of its numbers: it must say so.
            if row.source.hasPrefix("example:"), row.testedBy.contains("`cotflow ") {
                XCTAssertTrue(row.testedBy.contains("not the numbers quoted") || row.testedBy.contains("reproduces"),
                              "row \(row.row) names a cotflow command beside its example without saying whether it reproduces the numbers")
            }
        }
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
        XCTAssertTrue(rendered.contains("| 1 | paper claim (abstract) | mixed: 1 of 2 verdicts hold | `swift run -c release x` |"), rendered)
        XCTAssertTrue(rendered.contains("- measured: *x's wording*: a = 1 *x's second*: b = 2"), rendered)
        XCTAssertTrue(rendered.contains("**3 rows: 1 holds, 1 mixed, 1 inconclusive.**"), rendered)
        XCTAssertFalse(rendered.contains("old table"))
        XCTAssertTrue(rendered.hasSuffix("\(ReproductionTable.end)\nafter\n"))
        // A cell with a pipe stays one cell.
        XCTAssertTrue(ReproductionTable.table([ClaimRow(row: 1, claim: "|v|", testedBy: "t", measured: "m", verdict: "**holds**", source: "command")])
            .contains("| 1 | \\|v\\| | holds | t |"))
    }
}
