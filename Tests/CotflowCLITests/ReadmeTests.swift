import CotflowCore
import Foundation
import XCTest

/// Issue 24, item 6: the README's commands run in order on a fresh clone (scripts/check-readme.sh
/// runs them, CI runs it); here the cheap static half: no two README commands, the main command
/// included, write the same `--out` directory (a later one would exit 64 on the earlier run's files).
extension CLITests {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The README's indented code-block lines (continuations joined), outside fenced blocks.
    static func readmeCommands() throws -> [String] {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var commands: [String] = [], fenced = false, continued = ""
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") { fenced.toggle(); continue }
            guard !fenced, line.hasPrefix("    ") else { continue }
            var command = continued + String(line.dropFirst(4))
            if command.hasSuffix("\\") { command.removeLast(); continued = command; continue }
            continued = ""
            commands.append(command)
        }
        return commands
    }

    func testReadmeCommandsWriteDistinctDirectories() throws {
        let commands = try Self.readmeCommands()
        XCTAssertTrue(commands.contains("bash scripts/setup-and-run.sh"))
        // The main command's directories (scripts/setup-and-run.sh).
        let script = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("scripts/setup-and-run.sh"), encoding: .utf8)
        var writers: [(directory: String, command: String)] = []
        func outs(_ line: String) -> [String] {
            let words = line.components(separatedBy: " ").filter { !$0.isEmpty }
            return words.indices.filter { words[$0] == "--out" && $0 + 1 < words.count }.map { words[$0 + 1] }
        }
        for line in script.components(separatedBy: "\n") where line.contains("\"$bin\"") { writers += outs(line).map { ($0, line) } }
        for command in commands where command.contains("$B ") {
            // Shards of one sweep share their directory by design; --resume continues a run.
            if command.contains("--shard ") || command.contains("--resume") { continue }
            writers += outs(command).map { ($0, command) }
        }
        XCTAssertGreaterThan(writers.count, 10)
        for (directory, group) in Dictionary(grouping: writers, by: \.directory) where group.count > 1 {
            XCTFail("README commands write \(directory) twice: \(group.map(\.command))")
        }
        // The check that runs every block is in CI, after the tests.
        let ci = try String(contentsOf: Self.repositoryRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let test = try XCTUnwrap(ci.range(of: "bash scripts/test.sh")), readme = try XCTUnwrap(ci.range(of: "bash scripts/check-readme.sh"))
        XCTAssertLessThan(test.lowerBound, readme.lowerBound)
    }

    /// Issue 24, item 6: --emit-sbatch refuses a directory holding another grid's sweep run (not
    /// only another description), and merge exits 64 on shard sets of different counts.
    func testEmitSbatchRefusesAnotherSweepsRunAndMergeOfMixedShardsIsBadInput() throws {
        let base = temporaryDirectory(), out = base + "/lr"
        let first = try cotflow(["sweep", "--vary", "k=1,2", "--d", "3", "--n", "8", "--points", "40", "--quiet", "--out", out])
        XCTAssertEqual(first.status, 0, first.stderr)
        let emit = try cotflow(["sweep", "--vary", "k=1,2,3", "--d", "3", "--n", "8", "--points", "40", "--out", out,
                                "--emit-sbatch", base + "/lr.sbatch", "--shards", "2"])
        XCTAssertEqual(emit.status, 64, emit.stderr)
        XCTAssertTrue(emit.stderr.contains("holds another sweep"), emit.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/lr.sbatch"))

        let mixed = base + "/mixed", grid = ["sweep", "--vary", "k=1,2,3,4", "--d", "3", "--n", "8", "--points", "40", "--quiet", "--out", mixed]
        for shard in ["0/2", "1/2", "0/3"] { XCTAssertEqual(try cotflow(grid + ["--shard", shard]).status, 0, shard) }
        let merge = try cotflow(["merge", mixed])
        XCTAssertEqual(merge.status, 64, merge.stderr)
        XCTAssertTrue(merge.stderr.contains("different shard counts"), merge.stderr)
    }
}

extension CLITests {
    /// Issue 24, item 10: the README's Hessian example runs at a converged point, where every
    /// eigenvalue is resolved (it was at a looped run's stall, with 286 of 288 unresolved).
    func testReadmeHessianExampleIsAtAConvergedPoint() throws {
        let commands = try Self.readmeCommands()
        let hessian = try XCTUnwrap(commands.first { $0.contains("$B hessian ") })
        let words = hessian.components(separatedBy: "#")[0].components(separatedBy: " ").filter { !$0.isEmpty }
        let load = try XCTUnwrap(words.firstIndex(of: "--load").map { words[$0 + 1] })
        let source = (load as NSString).deletingLastPathComponent
        let train = try XCTUnwrap(commands.first { $0.contains("$B train ") && $0.contains("--out \(source)") }, "no README command writes \(source)")
        let base = temporaryDirectory()
        func arguments(_ line: String) -> [String] {
            Array(line.components(separatedBy: "#")[0].components(separatedBy: " ").filter { !$0.isEmpty }.dropFirst())
                .map { $0.hasPrefix("out/") ? base + "/" + $0 : $0 }
        }
        let trained = try cotflow(arguments(train) + ["--quiet"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let run = try cotflow(arguments(hessian) + ["--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.json["near_zero_eigenvalues"] as? Int, 0, "unresolved eigenvalues at the README's Hessian point")
        XCTAssertEqual(run.json["negative_eigenvalues"] as? Int, 0, "the trained point is a minimum")
    }

    /// Issue 24, item 9: `ode` records its outcome as `status`, the key train and compare use
    /// (beside `converged` and `stop_reason`), for the reduced and the full-matrix flow.
    func testODESummaryHasTheStatusKeyOfTrainAndCompare() throws {
        let converged = try cotflow(["ode", "--d", "3", "--n", "10", "--k", "2", "--json"])
        XCTAssertEqual(converged.json["status"] as? String, "converged")
        XCTAssertEqual(converged.json["converged"] as? Bool, true)
        let stopped = try cotflow(["ode", "--d", "3", "--n", "10", "--k", "2", "--t-end", "0.5", "--json"])
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertEqual(stopped.json["status"] as? String, "completed")
        XCTAssertEqual(stopped.json["stop_reason"] as? String, "reached end time")
        let full = try cotflow(["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "32", "--t-end", "0.5", "--json", "--quiet"])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertEqual(full.json["status"] as? String, "completed")
    }
}

extension CLITests {
    /// Issue 24, done when: "when does the plateau end, and does full SGD agree?" is answered with
    /// one number per curve, quoted the same way by the report, the figure and the JSON.
    func testComparePlateauEndsAreQuotedTheSameWayByTextFigureAndJSON() throws {
        let out = temporaryDirectory()
        let run = try cotflow(["compare", "--d", "3", "--n", "16", "--k", "2", "--params", "full", "--steps", "600", "--record-every", "30",
                               "--held-out", "400", "--quiet", "--out", out, "--plot"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        let boundaries = try XCTUnwrap(summary["stage_boundaries"] as? [String: Any])
        func end(_ curve: String) throws -> Double {
            try XCTUnwrap((boundaries[curve] as? [String: Any])?["plateau_end"] as? Double, "\(curve) has no plateau end")
        }
        let free = try end("ode_free"), full = try end("full")
        let line = try XCTUnwrap(run.stdout.components(separatedBy: "\n").first { $0.hasPrefix("plateau end (products v_j w_j reach 10% of -eta") }, run.stdout)
        XCTAssertTrue(line.contains("flow t = \(fmt(try end("ode")))"), line)
        XCTAssertTrue(line.contains("flow with W24 free t = \(fmt(free))"), line)
        XCTAssertTrue(line.contains("full SGD t = \(fmt(full)) (" + String(format: "%+.1f%%", 100 * (full - free) / free) + " from the flow with W24 free)"), line)
        if FileManager.default.fileExists(atPath: out + "/comparison.gp") {
            let script = try String(contentsOfFile: out + "/comparison.gp", encoding: .utf8)
            XCTAssertTrue(script.contains("# Panel 1: CoT loss (shaded: the flow's stages); " + line.replacingOccurrences(of: "; notes/stages.md", with: "")), script)
        }
    }
}
