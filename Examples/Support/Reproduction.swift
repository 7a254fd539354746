import CotflowCore
import Foundation

/// One row of the reproduction table in notes/reproduction.md: a claim of the paper, what tests
/// it, what was measured and the verdict. Examples write their rows into results.json
/// (`claims`); rows tested by a command alone are kept in notes/reproduction-rows.json.
public struct ClaimRow: Sendable, Equatable {
    public var row: Int
    public var claim: String
    public var testedBy: String
    public var measured: String
    public var verdict: String
    /// `example:<name>` for rows an example measures, `command` for the others.
    public var source: String

    public init(row: Int, claim: String, testedBy: String, measured: String, verdict: String, source: String) {
        self.row = row
        self.claim = claim
        self.testedBy = testedBy
        self.measured = measured
        self.verdict = verdict
        self.source = source
    }

    public var json: JSONValue {
        .object([("row", .int(row)), ("claim", .string(claim)), ("tested_by", .string(testedBy)),
                 ("measured", .string(measured)), ("verdict", .string(verdict)), ("source", .string(source))])
    }

    init(_ object: [String: Any], in file: String) throws {
        guard let row = object["row"] as? Int, let claim = object["claim"] as? String, let testedBy = object["tested_by"] as? String,
              let measured = object["measured"] as? String, let verdict = object["verdict"] as? String else {
            throw CotflowError("\(file): a claim row needs row (integer), claim, tested_by, measured and verdict (strings)")
        }
        self.init(row: row, claim: claim, testedBy: testedBy, measured: measured, verdict: verdict,
                  source: object["source"] as? String ?? "command")
    }
}

/// Builds the table of notes/reproduction.md from claim rows: `reproduction-table` updates
/// notes/reproduction-rows.json from the examples' results.json and writes the table between
/// the two markers of notes/reproduction.md; ExamplesTests checks the committed file is current.
public enum ReproductionTable {
    public static let begin = "<!-- begin generated table: edit notes/reproduction-rows.json and run `swift run -c release reproduction-table` -->"
    public static let end = "<!-- end generated table -->"

    /// The rows of a JSON array of claim rows (notes/reproduction-rows.json), sorted by row.
    public static func rows(json data: Data, file: String) throws -> [ClaimRow] {
        guard let array = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw CotflowError("\(file): expected a JSON array of claim rows")
        }
        return try array.map { try ClaimRow($0, in: file) }.sorted { $0.row < $1.row }
    }

    /// The `claims` rows of an example's results.json.
    public static func claims(results data: Data, file: String) throws -> [ClaimRow] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CotflowError("\(file): not a JSON object")
        }
        let claims = object["claims"] as? [[String: Any]] ?? []
        return try claims.map { try ClaimRow($0, in: file) }
    }

    /// `rows` with the measurement and verdict of every row an example measured replaced by the
    /// example's (the claim and "tested by" texts of a committed row stay); an example's rows with
    /// the same number are joined; new rows are added.
    public static func updating(_ rows: [ClaimRow], with measured: [ClaimRow]) -> [ClaimRow] {
        var byRow = Dictionary(grouping: measured, by: \.row)
        var out = rows.map { row -> ClaimRow in
            guard let new = byRow.removeValue(forKey: row.row) else { return row }
            var updated = row
            let example = joined(new)
            updated.measured = example.measured
            updated.verdict = example.verdict
            updated.source = example.source
            return updated
        }
        out += byRow.values.map(joined)
        return out.sorted { $0.row < $1.row }
    }

    /// One row from an example's rows with the same number: each measurement and verdict is
    /// labelled with the example's own claim, so that a reader sees which verdict is which.
    private static func joined(_ rows: [ClaimRow]) -> ClaimRow {
        var first = rows[0]
        if rows.count > 1 {
            first.measured = rows.map { "*\($0.claim)*: \($0.measured)" }.joined(separator: " ")
            first.verdict = rows.map { "\($0.verdict) (\($0.claim))" }.joined(separator: "; ")
        }
        return first
    }

    /// The rows as the JSON array of notes/reproduction-rows.json.
    public static func json(_ rows: [ClaimRow]) -> String { JSONValue.array(rows.map(\.json)).rendered() + "\n" }

    /// The kind of verdict of a row, for the one-line verdict and the count at the top: read off
    /// its verdict text ("**holds**", "**does not hold**", "consistent", "not tested", ...).
    public static func kind(_ row: ClaimRow) -> String {
        let v = row.verdict
        if v.hasPrefix("not tested") { return "not tested" }
        if v.contains("**consistent**") || v.hasPrefix("consistent") { return "consistent" }
        let holds = v.components(separatedBy: "**holds**").count - 1, fails = v.components(separatedBy: "**does not hold**").count - 1
        let inconclusive = v.contains("inconclusive")
        if holds > 0 && (fails > 0 || inconclusive) { return "mixed" }
        if holds > 0 { return "holds" }
        if fails > 0 { return inconclusive ? "mixed" : "does not hold" }
        if inconclusive { return "inconclusive" }
        return "holds with a caveat"
    }

    /// The one-line verdict of a row: its kind, and for a row of several verdicts how many hold.
    public static func oneLine(_ row: ClaimRow) -> String {
        let parts = row.verdict.components(separatedBy: "; ").filter { $0.hasPrefix("**") || $0.hasPrefix("inconclusive") }
        let k = kind(row)
        guard parts.count > 1 else { return k == "holds with a caveat" ? row.verdict.components(separatedBy: "**").dropFirst().first.map { "holds with a caveat: \($0)" } ?? k : k }
        let held = parts.filter { $0.hasPrefix("**holds**") }.count
        return "\(k): \(held) of \(parts.count) verdicts hold"
    }

    /// The command that produced a row's numbers: the example at its full size, or the row's own commands.
    public static func producedBy(_ row: ClaimRow) -> String {
        row.source.hasPrefix("example:") ? "`swift run -c release \(row.source.dropFirst("example:".count))`" : (kind(row) == "not tested" ? "—" : row.testedBy)
    }

    /// The count at the top: how many rows of each kind.
    public static func count(_ rows: [ClaimRow]) -> String {
        let order = ["holds", "holds with a caveat", "mixed", "does not hold", "inconclusive", "consistent", "not tested"]
        let counts = order.map { k in (k, rows.filter { kind($0) == k }.count) }.filter { $0.1 > 0 }
        return "**\(rows.count) rows: " + counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ") + ".** "
            + "(Mixed: a row with several verdicts, some of which do not hold; the detail below each row says which.)"
    }

    /// The count, the markdown table (one line per row) and the detail of every row below it.
    public static func table(_ rows: [ClaimRow]) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var lines = [count(rows), "", "| # | claim (source) | verdict | numbers from |", "|---|---|---|---|"]
        for r in rows {
            lines.append("| \(r.row) | \(cell(r.claim)) | \(cell(oneLine(r))) | \(cell(producedBy(r))) |")
        }
        lines.append("")
        lines.append("### Detail of each row")
        for r in rows {
            lines += ["", "**Row \(r.row).** \(r.claim)", "", "- tested by: \(r.testedBy)", "- measured: \(r.measured)", "- verdict: \(r.verdict)"]
        }
        return lines.joined(separator: "\n")
    }

    /// `document` with the text between the markers replaced by the table of `rows`.
    public static func render(document: String, rows: [ClaimRow]) throws -> String {
        guard let b = document.range(of: begin), let e = document.range(of: end), b.upperBound <= e.lowerBound else {
            throw CotflowError("notes/reproduction.md has no generated-table markers (\(begin) ... \(end))")
        }
        return String(document[..<b.upperBound]) + "\n" + table(rows) + "\n" + String(document[e.lowerBound...])
    }
}
