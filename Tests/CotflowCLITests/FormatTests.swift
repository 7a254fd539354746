import Foundation
import XCTest

/// Every file the commands write matches its table in notes/formats.md: the same columns or
/// top-level keys, of the documented types.
extension CLITests {
    struct Documented {
        var pattern: NSRegularExpression
        var name: String
        var type: String
        var optional: Bool
    }

    /// The tables of notes/formats.md by section (`ode: trajectory.csv`, `provenance`, ...).
    static func formats() throws -> [String: [Documented]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("notes/formats.md"), encoding: .utf8)
        var sections: [String: [Documented]] = [:], current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("### ") { current = String(line.dropFirst(4)); sections[current!] = []; continue }
            if line.hasPrefix("## ") { current = nil; continue }
            guard let section = current, line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            var regex = NSRegularExpression.escapedPattern(for: name)
            regex = regex.replacingOccurrences(of: "_j", with: "_[0-9]+")
                .replacingOccurrences(of: "<set>", with: "(reduced|full)")
                .replacingOccurrences(of: "\\*", with: "[a-z0-9_]+")
            let type = cells[1]
            sections[section]!.append(Documented(pattern: try NSRegularExpression(pattern: "^" + regex + "$"), name: name,
                                                 type: type, optional: type.contains("(optional)")))
        }
        return sections
    }

    private func matches(_ d: Documented, _ name: String) -> Bool {
        d.pattern.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// The columns of `path` are those of `section`, every cell of its documented type.
    func checkCSV(_ path: String, against section: String, _ formats: [String: [Documented]], file: StaticString = #filePath, line: UInt = #line) throws {
        let documented = try XCTUnwrap(formats[section], "no section '\(section)' in notes/formats.md", file: file, line: line)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        for d in documented where !d.optional {
            XCTAssertTrue(header.contains { matches(d, $0) }, "\(path): no column \(d.name) documented in \(section)", file: file, line: line)
        }
        var types: [String] = []
        for column in header {
            let d = documented.first { $0.name == column } ?? documented.first { matches($0, column) }
            XCTAssertNotNil(d, "\(path): column \(column) is not in notes/formats.md (\(section))", file: file, line: line)
            types.append(d?.type ?? "")
        }
        for row in lines.dropFirst() {
            // Text cells are quoted and contain no commas in these files except inside quotes.
            var cells: [String] = [], cell = "", quoted = false
            for c in row { if c == "\"" { quoted.toggle() } else if c == ",", !quoted { cells.append(cell); cell = "" } else { cell.append(c) } }
            cells.append(cell)
            XCTAssertEqual(cells.count, header.count, "\(path): \(row)", file: file, line: line)
            for (value, type) in zip(cells, types) {
                if type.hasPrefix("int") { XCTAssertNotNil(Int(value), "\(path): '\(value)' is not an integer", file: file, line: line) }
                if type.hasPrefix("float") { XCTAssertTrue(value.isEmpty || Double(value) != nil, "\(path): '\(value)' is not a number", file: file, line: line) }
            }
        }
    }

    /// The top-level keys of `path` are those of `sections`, each of its documented type.
    func checkJSON(_ path: String, against sections: [String], _ formats: [String: [Documented]], file: StaticString = #filePath, line: UInt = #line) throws {
        let documented = try sections.flatMap { try XCTUnwrap(formats[$0], "no section '\($0)' in notes/formats.md", file: file, line: line) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], file: file, line: line)
        for d in documented where !d.optional && !d.name.contains("*") {
            XCTAssertNotNil(object[d.name], "\(path): no key \(d.name) documented in \(sections)", file: file, line: line)
        }
        // Top-level values are on lines indented by two spaces.
        for raw in text.split(separator: "\n").map(String.init) where raw.hasPrefix("  \"") && !raw.hasPrefix("   ") {
            let key = String(raw.dropFirst(3).prefix { $0 != "\"" })
            var value = String(raw.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces)
            if value.hasSuffix(",") { value.removeLast() }
            // An exact name wins over a pattern (eval_loss_tail_dominated over eval_loss_*).
            guard let d = documented.first(where: { $0.name == key }) ?? documented.first(where: { matches($0, key) }) else {
                XCTFail("\(path): key \(key) is not in notes/formats.md (\(sections))", file: file, line: line)
                continue
            }
            let isInt = value.range(of: "^-?[0-9]+$", options: .regularExpression) != nil
            let isFloat = value.range(of: "^-?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?$", options: .regularExpression) != nil && !isInt
            let type = d.type.replacingOccurrences(of: " (optional)", with: "")
            let ok: Bool
            switch type {
            case "int": ok = isInt
            case "int or null": ok = isInt || value == "null"
            case "float": ok = isFloat || value == "null"
            case "float or null": ok = isFloat || value == "null"
            case "string": ok = value.hasPrefix("\"")
            case "string or null": ok = value.hasPrefix("\"") || value == "null"
            case "bool": ok = value == "true" || value == "false"
            case "array": ok = value.hasPrefix("[")
            case "array or null": ok = value.hasPrefix("[") || value == "null"
            case "object": ok = value.hasPrefix("{")
            case "object or null": ok = value.hasPrefix("{") || value == "null"
            default: ok = false; XCTFail("notes/formats.md: unknown type '\(d.type)' of \(d.name)", file: file, line: line)
            }
            XCTAssertTrue(ok, "\(path): \(key) = \(value.prefix(40)) is not of the documented type \(d.type)", file: file, line: line)
        }
    }

    func testEveryOutputFileMatchesNotesFormats() throws {
        let formats = try Self.formats()
        let base = temporaryDirectory()
        let small = ["--d", "3", "--n", "12", "--k", "2"]
        let ode = base + "/ode", train = base + "/train", eval = base + "/eval", compare = base + "/compare", stages = base + "/stages"
        let fullFlow = base + "/full-flow"
        for arguments in [["ode"] + small + ["--out", ode, "--plot"],
                          ["train"] + small + ["--init", "assumption", "--steps", "20", "--record-every", "10", "--batch-size", "32",
                                               "--held-out", "64", "--quiet", "--out", train],
                          ["eval", "--load", train + "/parameters.json", "--prompts", "100", "--out", eval],
                          ["compare"] + small + ["--steps", "40", "--record-every", "10", "--batch-size", "32", "--held-out", "200",
                                                 "--quiet", "--out", compare],
                          ["stages", ode + "/trajectory.csv", "--out", stages],
                          ["ode", "--params", "full"] + small + ["--prompts", "64", "--t-end", "1", "--quiet", "--out", fullFlow]] {
            let run = try cotflow(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        }
        let provenance = "provenance", runProvenance = "run provenance"
        try checkCSV(ode + "/trajectory.csv", against: "ode: trajectory.csv", formats)
        try checkJSON(ode + "/summary.json", against: [runProvenance, "ode: summary.json"], formats)
        try checkCSV(ode + "/figure_data.csv", against: "plot: figure_data.csv", formats)
        try checkCSV(train + "/trajectory.csv", against: "train: trajectory.csv", formats)
        try checkJSON(train + "/summary.json", against: [runProvenance, "train: summary.json"], formats)
        try checkJSON(train + "/parameters.json", against: [runProvenance, "train: parameters.json"], formats)
        try checkJSON(train + "/initial_parameters.json", against: [runProvenance, "train: parameters.json"], formats)
        try checkCSV(eval + "/per_prompt.csv", against: "eval: per_prompt.csv", formats)
        try checkJSON(eval + "/summary.json", against: [runProvenance, "eval: summary.json"], formats)
        try checkCSV(compare + "/comparison.csv", against: "compare: comparison.csv", formats)
        try checkCSV(compare + "/ode_trajectory.csv", against: "ode: trajectory.csv", formats)
        try checkCSV(compare + "/train_reduced_trajectory.csv", against: "train: trajectory.csv", formats)
        try checkJSON(compare + "/summary.json", against: [runProvenance, "compare: summary.json"], formats)
        try checkCSV(stages + "/stages.csv", against: "stages: stages.csv", formats)
        try checkCSV(stages + "/change_point_stages.csv", against: "stages: stages.csv", formats)
        try checkJSON(stages + "/stages.json", against: [runProvenance, "stages: stages.json"], formats)
        // Issue 24, item 9: the full-matrix flow's files have their own documented columns and keys (not train's).
        try checkCSV(fullFlow + "/trajectory.csv", against: "ode --params full: trajectory.csv", formats)
        try checkJSON(fullFlow + "/summary.json", against: [runProvenance, "ode --params full: summary.json"], formats)

        // Python reads every CSV: pandas when installed (integer columns as int64), else the csv module.
        let csvs = [ode + "/trajectory.csv", ode + "/figure_data.csv", train + "/trajectory.csv", eval + "/per_prompt.csv",
                    compare + "/comparison.csv", stages + "/stages.csv"]
        let script = """
        import sys
        try:
            import pandas as pd
        except ImportError:
            pd = None
        import csv
        for path in sys.argv[1:]:
            if pd is not None:
                df = pd.read_csv(path)
                assert len(df) > 0, path
                for c in ("step", "prompt", "chain_diverges", "index", "panel"):
                    if c in df.columns:
                        assert str(df[c].dtype) == "int64", (path, c, df[c].dtype)
            else:
                rows = list(csv.DictReader(open(path, newline="")))
                assert len(rows) > 0, path
        print("pandas" if pd is not None else "csv")
        """
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("python3 is not installed: the CSV files were checked against notes/formats.md only")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + csvs
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, message)
    }
}
