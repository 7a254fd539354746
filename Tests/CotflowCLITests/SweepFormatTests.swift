import Foundation
import XCTest

/// The files of `cotflow sweep` and `merge` match their tables in notes/formats.md, a metric that
/// was not reached is an empty cell (never `nan`), and a sweep reruns from its own summary.json.
extension CLITests {
    /// The columns of a sweep table are documented, required ones present, every cell of its type
    /// (`... or empty`: an empty cell is a metric not reached).
    func checkTSV(_ path: String, against section: String, _ formats: [String: [Documented]], file: StaticString = #filePath, line: UInt = #line) throws {
        let documented = try XCTUnwrap(formats[section], "no section '\(section)' in notes/formats.md", file: file, line: line)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: "\t").map(String.init)
        func find(_ column: String) -> Documented? {
            documented.first { $0.name == column }
                ?? documented.first { $0.pattern.firstMatch(in: column, range: NSRange(column.startIndex..., in: column)) != nil }
        }
        for d in documented where !d.optional && !d.name.contains("*") {
            XCTAssertTrue(header.contains(d.name), "\(path): no column \(d.name) documented in \(section)", file: file, line: line)
        }
        let types = header.map { column -> String in
            let d = find(column)
            XCTAssertNotNil(d, "\(path): column \(column) is not in notes/formats.md (\(section))", file: file, line: line)
            return d?.type.replacingOccurrences(of: " (optional)", with: "") ?? ""
        }
        for row in lines.dropFirst() {
            let cells = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(cells.count, header.count, "\(path): \(row)", file: file, line: line)
            for (value, type) in zip(cells, types) {
                XCTAssertNotEqual(value.lowercased(), "nan", "\(path): a missing value is an empty cell, not nan", file: file, line: line)
                if value.isEmpty, type.hasSuffix("or empty") { continue }
                if type.hasPrefix("int") { XCTAssertNotNil(Int(value), "\(path): '\(value)' is not an integer (\(type))", file: file, line: line) }
                if type.hasPrefix("float") { XCTAssertNotNil(Double(value), "\(path): '\(value)' is not a number (\(type))", file: file, line: line) }
            }
        }
    }

    /// The `settings` object of a sweep file, written as a top-level object so that `checkJSON` reads its keys.
    func settingsObject(of path: String) throws -> String {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try XCTUnwrap(lines.firstIndex(of: "  \"settings\": {"))
        let end = try XCTUnwrap(lines[start...].firstIndex { $0 == "  }," })
        let body = lines[(start + 1)..<end].map { String($0.dropFirst(2)) }
        let out = temporaryDirectory() + "-settings.json"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        try (["{"] + body + ["}"]).joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
        return out
    }

    func testSweepFilesMatchNotesFormats() throws {
        let formats = try Self.formats()
        let base = temporaryDirectory()
        // A flow whose end time is too short to reach 1e-3 of its start (t_loss_1e-3 not reached),
        // a training sweep with diverged runs (no stage boundaries), an exact sweep, and a sharded run.
        let flow = base + "/flow", train = base + "/train", exact = base + "/exact", sharded = base + "/sharded"
        let flowArgs = ["sweep", "--d", "3", "--n", "12", "--k", "2", "--t-end", "3", "--points", "50",
                        "--vary", "init_scale=0.02,0.05,0.1", "--vary", "seed=0,1", "--quiet"]
        for arguments in [flowArgs + ["--out", flow],
                          ["sweep", "--job", "train", "--d", "3", "--n", "12", "--k", "2", "--params", "reduced", "--init", "assumption",
                           "--optimizer", "sgd", "--steps", "60", "--batch-size", "32", "--held-out", "200",
                           "--vary", "learning_rate=0.1,10", "--quiet", "--out", train],
                          ["sweep", "--job", "exact", "--d", "4", "--vary", "k=1:4:4", "--vary", "n=8,16", "--quiet", "--out", exact],
                          flowArgs + ["--shard", "1/2", "--out", sharded]] {
            let run = try cotflow(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        }
        for dir in [flow, train, exact] {
            try checkTSV(dir + "/sweep.tsv", against: "sweep: sweep.tsv", formats)
            try checkTSV(dir + "/shard-0-of-1.tsv", against: "sweep: sweep.tsv", formats)
            try checkJSON(dir + "/sweep.json", against: ["sweep: sweep.json"], formats)
            try checkJSON(try settingsObject(of: dir + "/sweep.json"), against: ["sweep: settings"], formats)
            try checkJSON(dir + "/report.json", against: ["sweep: report.json"], formats)
            try checkJSON(dir + "/summary.json", against: ["run provenance", "sweep: summary.json"], formats)
        }
        try checkTSV(sharded + "/shard-1-of-2.tsv", against: "sweep: sweep.tsv", formats)
        try checkJSON(sharded + "/summary-shard-1-of-2.json", against: ["run provenance", "sweep: summary.json"], formats)
        // Metrics not reached are there as empty cells (and null in JSON), so the checks above saw some.
        let flowTable = try String(contentsOfFile: flow + "/sweep.tsv", encoding: .utf8)
        XCTAssertTrue(flowTable.contains("\t\t"), flowTable)
        XCTAssertTrue(try String(contentsOfFile: flow + "/sweep.json", encoding: .utf8).contains("\"t_loss_1e-3\": null"))
        let trainTable = try String(contentsOfFile: train + "/sweep.tsv", encoding: .utf8)
        XCTAssertTrue(trainTable.split(separator: "\n")[2].contains("\t\t"), trainTable)

        // The sweep reruns from its own summary.json, and reproduces.
        let rerun = try cotflow(["rerun", flow])
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("REPRODUCES"), rerun.stdout)
        XCTAssertTrue(rerun.stdout.contains("sweep.json"), rerun.stdout)
    }
}
