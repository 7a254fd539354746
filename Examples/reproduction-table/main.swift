import ArgumentParser
import CotflowExamplesSupport
import Foundation

// Assembles the table of notes/reproduction.md: claim rows from the examples' results.json
// (full-size runs; --quick results are refused) replace their rows in notes/reproduction-rows.json,
// whose rows are then written as the table between the markers of notes/reproduction.md.

struct ReproductionTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduction-table",
        abstract: "Write the table of notes/reproduction.md from the examples' results.json and notes/reproduction-rows.json.")

    @Option(help: "Directory of the examples' outputs (one subdirectory per example with results.json). (default: out/examples)")
    var results = "out/examples"
    @Option(help: "The committed claim rows. (default: notes/reproduction-rows.json)") var rows = "notes/reproduction-rows.json"
    @Option(help: "The document with the table. (default: notes/reproduction.md)") var document = "notes/reproduction.md"
    @Flag(help: "Only check that the document is current with respect to the rows file; write nothing (exit 1 if not).")
    var check = false

    func run() throws {
        func read(_ path: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            return data
        }
        var table = try ReproductionTable.rows(json: read(rows), file: rows)
        let text = String(decoding: try read(document), as: UTF8.self)
        if check {
            guard try ReproductionTable.render(document: text, rows: table) == text else {
                print("\(document) is not current with respect to \(rows): run reproduction-table")
                throw ExitCode.failure
            }
            print("\(document) is current")
            return
        }
        var used: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: results)) ?? []).sorted()
        for name in names {
            let path = (results as NSString).appendingPathComponent(name + "/results.json")
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], object["quick"] as? Bool == true {
                throw ValidationError("\(path) is from a --quick run; run the example at its full size first")
            }
            let claims = try ReproductionTable.claims(results: data, file: path)
            if claims.isEmpty { continue }
            table = ReproductionTable.updating(table, with: claims)
            used.append(name)
        }
        try ReproductionTable.json(table).write(toFile: rows, atomically: true, encoding: .utf8)
        try ReproductionTable.render(document: text, rows: table).write(toFile: document, atomically: true, encoding: .utf8)
        print("wrote \(rows) and \(document) (\(table.count) rows; measured rows from \(used.isEmpty ? "no example" : used.joined(separator: ", ")))")
    }
}

ReproductionTableCommand.main()
