import Foundation
import XCTest

/// Runs every example executable as a user would, at its `--quick` size, and checks its outputs:
/// exit status 0, a `results.json` whose verdicts are the expected findings, at least one
/// data file (`.tsv` or `.csv`) and, when gnuplot is on PATH, at least one `.svg` figure.
final class ExamplesTests: XCTestCase {
    /// Seconds after which a quick run is stopped and the test fails (each should take ~15 s at most
    /// in the optimised test build; the whole class should stay under ~90 s).
    static let timeout: TimeInterval = 60

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The built executable `name`, found next to the test bundle (walking up from it).
    private func executable(_ name: String) throws -> URL {
        var dir = Bundle(for: ExamplesTests.self).bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        let url = dir.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw Missing(description: "executable '\(name)' not found next to the test bundle \(Bundle(for: ExamplesTests.self).bundleURL.path)")
        }
        return url
    }

    private func temporaryDirectory(_ label: String) -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cotflow-example-\(label)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private static var gnuplotOnPath: Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/gnuplot") }
    }

    /// Runs `name --quick --out <temp>` and checks what it wrote; returns the output directory.
    @discardableResult
    private func checkExample(_ name: String, expected: [(String, String)], file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let exe = try executable(name)
        let scratch = temporaryDirectory(name)
        let out = scratch.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        // Output goes to files, not pipes: a chatty example cannot block on a full pipe.
        let stdoutURL = scratch.appendingPathComponent("stdout.txt"), stderrURL = scratch.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL), stderrHandle = try FileHandle(forWritingTo: stderrURL)
        defer { try? stdoutHandle.close(); try? stderrHandle.close() }

        let process = Process()
        process.executableURL = exe
        process.arguments = ["--quick", "--out", out.path]
        process.currentDirectoryURL = scratch
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        let started = Date()
        try process.run()
        while process.isRunning && Date().timeIntervalSince(started) < Self.timeout { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            XCTFail("\(name) --quick did not finish within \(Int(Self.timeout)) s", file: file, line: line)
            return out
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        let stdout = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        let context = "\(name) --quick (\(String(format: "%.1f", seconds)) s)\nstdout:\n\(stdout.suffix(3000))\nstderr:\n\(stderr.suffix(3000))"
        XCTAssertEqual(process.terminationStatus, 0, "exit status; \(context)", file: file, line: line)
        XCTAssertFalse(stderr.contains("Fatal error"), "crashed; \(context)", file: file, line: line)

        let resultsURL = out.appendingPathComponent("results.json")
        guard let data = FileManager.default.contents(atPath: resultsURL.path) else {
            XCTFail("no results.json in \(out.path); \(context)", file: file, line: line)
            return out
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            XCTFail("results.json does not parse as a JSON object; \(context)", file: file, line: line)
            return out
        }
        XCTAssertEqual(json["example"] as? String, name, file: file, line: line)
        let verdicts = (json["verdicts"] as? [[String: Any]]) ?? []
        XCTAssertGreaterThanOrEqual(verdicts.count, 1, "results.json has no verdict; \(context)", file: file, line: line)
        for verdict in verdicts {
            XCTAssertNotNil(verdict["claim"] as? String, "verdict without a claim: \(verdict)", file: file, line: line)
            let word = verdict["verdict"] as? String ?? "nil"
            XCTAssertTrue(["HOLDS", "DOES NOT HOLD", "INCONCLUSIVE"].contains(word), "unknown verdict word \(word)", file: file, line: line)
        }
        // The findings themselves: each expected claim (by a fragment of its text) is present with its verdict.
        for (fragment, word) in expected {
            let matching = verdicts.filter { ($0["claim"] as? String)?.contains(fragment) == true }
            XCTAssertEqual(matching.count, 1, "expected one verdict whose claim contains '\(fragment)'; \(context)", file: file, line: line)
            if let v = matching.first {
                XCTAssertEqual(v["verdict"] as? String, word, "verdict on '\(fragment)': \(v["detail"] as? String ?? "")", file: file, line: line)
            }
        }

        // Claim rows for notes/reproduction.md: well formed, and each a row of the committed table
        // that names this example.
        let committed = try ReproductionTests.committedRows()
        for claim in (json["claims"] as? [[String: Any]]) ?? [] {
            let row = claim["row"] as? Int ?? 0
            for key in ["claim", "tested_by", "measured", "verdict"] {
                XCTAssertFalse((claim[key] as? String ?? "").isEmpty, "claim row \(row) without \(key)", file: file, line: line)
            }
            let match = committed.first { $0.row == row }
            XCTAssertEqual(match?.source, "example:\(name)", "claim row \(row) of \(name) is not a row of notes/reproduction-rows.json for this example", file: file, line: line)
        }

        let files = (FileManager.default.enumerator(atPath: out.path)?.allObjects as? [String]) ?? []
        let dataFiles = files.filter { $0.hasSuffix(".tsv") || $0.hasSuffix(".csv") }
        XCTAssertFalse(dataFiles.isEmpty, "no .tsv/.csv data file in \(out.path) (files: \(files))", file: file, line: line)
        if Self.gnuplotOnPath {
            XCTAssertTrue(files.contains { $0.hasSuffix(".svg") },
                          "gnuplot is on PATH but no .svg figure was written (files: \(files)); \(context)", file: file, line: line)
        }
        return out
    }

    // Expected verdicts at the quick sizes; they agree with the full-size runs (notes/reproduction.md).
    func testCoTVersusNoCoT() throws {
        let out = try checkExample("cot-vs-nocot", expected: [("beats the no-CoT optimum", "HOLDS"), ("no-CoT training reaches its optimum", "HOLDS")])
        // Issue 24: the no-CoT optimum is a labelled reference line, not a data series.
        let script = try String(contentsOf: out.appendingPathComponent("loss_vs_k.gp"), encoding: .utf8)
        let data = try String(contentsOf: out.appendingPathComponent("loss_vs_k.tsv"), encoding: .utf8)
        XCTAssertTrue(script.contains("with lines dt 3 lw 1.5 lc rgb \"#505050\" title 'no-CoT optimum d(d+1)/(n+d+1) = "), script)
        XCTAssertFalse(data.contains("series 'no-CoT optimum'"), data)
    }
    func testTrainingDynamics() throws {
        try checkExample("training-dynamics", expected: [
            ("reduced SGD training follows the reduced flow's loss", "HOLDS"),
            ("reduced SGD training passes through the flow's stages", "HOLDS"),
            ("reduced SGD training ends at the construction", "HOLDS"),
            ("the reduced flow reaches the construction", "HOLDS"),
        ])
    }
    func testWeightsHeatmap() throws {
        try checkExample("weights-heatmap", expected: [("full training at the paper's setting", "DOES NOT HOLD"),
                                                       ("where training is not tail-dominated", "HOLDS")])
    }
    func testOODGeneralization() throws {
        try checkExample("ood-generalization", expected: [("generalises to well-conditioned Sigma", "HOLDS"),
                                                          ("it breaks where the GD chain stops contracting", "HOLDS")])
    }
    func testLoopedVersusSingle() throws {
        try checkExample("looped-vs-single", expected: [("significantly improve over the same layer without looping", "HOLDS"),
                                                        ("from a small random initialisation", "DOES NOT HOLD"),
                                                        ("with a curriculum over the loops and gradient clipping", "HOLDS")])
    }
    /// The shared options: --help lists the example's main sizes; a size it does not have is refused.
    func testExampleOptions() throws {
        func run(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
            try runExecutable(executable(name), arguments)
        }
        let help = try run("cot-vs-nocot", ["--help"])
        XCTAssertEqual(help.0, 0)
        XCTAssertTrue(help.1.contains("USAGE: cot-vs-nocot") && help.1.contains("--seed") && help.1.contains("Main sizes of this example: --d."), help.1)
        let refused = try run("cot-vs-nocot", ["--k", "3"])
        XCTAssertEqual(refused.0, 64)
        XCTAssertTrue(refused.1.contains("--k is not a size of this example (its sizes: --d)"), refused.1)
        let bad = try run("ood-generalization", ["--d", "0"])
        XCTAssertEqual(bad.0, 64)
        XCTAssertTrue(bad.1.contains("--d must be at least 1"), bad.1)
    }

    /// Issue 22: the largest seed is valid (seed offsets wrap past 2^64 - 1, where `seed + 1`
    /// trapped), and a size beyond memory is refused before any allocation (320 GB aborted), as bad
    /// input (64), as cotflow refuses it.
    func testExtremeSeedAndSizeNeverTrap() throws {
        let (status, text) = try runExecutable(executable("cot-vs-nocot"), ["--seed", "18446744073709551615", "--d", "100000"])
        XCTAssertEqual(status, 64, text)
        XCTAssertTrue(text.contains("of memory, above the limit"), text)
    }

    func testExactChain() throws {
        try checkExample("exact-chain", expected: [("optimal one-step step size", "HOLDS"),
                                                   ("the construction of Theorem 3.2", "HOLDS"),
                                                   ("k = Theta(log d) CoT steps bring the exact mean loss", "HOLDS"),
                                                   ("also reaches 0.1 at d = 10", "DOES NOT HOLD"),
                                                   ("exact mean loss of the GD chain falls with every step", "DOES NOT HOLD"),
                                                   ("median loss of the GD chain falls with every step", "HOLDS"),
                                                   ("long chain below that of a short one", "DOES NOT HOLD")])
    }
    func testStageSweep() throws {
        try checkExample("stage-sweep", expected: [("grow without bound like log(1/sigma)", "DOES NOT HOLD"),
                                                   ("not tail-dominated at any n/d", "HOLDS"),
                                                   ("average to the exact population loss", "HOLDS")])
    }
}
