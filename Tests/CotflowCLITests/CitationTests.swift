import Foundation
import XCTest

/// CITATION.cff cites the software at the version `cotflow --version` prints and the paper with its
/// three authors (Huang, Wang, Lee, ICLR 2025; arXiv 2502.21212).
extension CLITests {
    func testCitationFileCitesTheSoftwareAndThePaper() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("CITATION.cff").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let version = try cotflow(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(version.isEmpty)
        XCTAssertTrue(text.contains("\nversion: \"\(version)\"\n"), "CITATION.cff does not give the version \(version)")
        XCTAssertTrue(text.contains("\ntype: software\n"))
        for (family, given) in [("Huang", "Jianhao"), ("Wang", "Zixuan"), ("Lee", "Jason D.")] {
            XCTAssertTrue(text.contains("- family-names: \(family)\n        given-names: \(given)\n"), "paper author \(given) \(family)")
        }
        XCTAssertTrue(text.contains("value: \"10.48550/arXiv.2502.21212\""))
        // With PyYAML: the file parses and has the keys CFF 1.2.0 requires.
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return }
        let script = """
        import sys
        try:
            import yaml
        except ImportError:
            print("no yaml"); sys.exit(0)
        c = yaml.safe_load(open(sys.argv[1]))
        for key in ("cff-version", "message", "title", "authors", "version", "license"):
            assert key in c, key
        paper = [r for r in c["references"] if r["type"] == "conference-paper"]
        assert len(paper) == 1 and [a["family-names"] for a in paper[0]["authors"]] == ["Huang", "Wang", "Lee"], paper
        assert paper[0]["year"] == 2025
        pref = c["preferred-citation"]
        assert pref["type"] == "conference-paper" and [a["family-names"] for a in pref["authors"]] == ["Huang", "Wang", "Lee"], pref
        assert str(c["date-released"]).count("-") == 2, c["date-released"]
        print("ok")
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, message)
    }
}
