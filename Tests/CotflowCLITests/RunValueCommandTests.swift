import CotflowCore
import CotflowExact
import CotflowModel
import CotflowStages
import Foundation
import XCTest

/// eval, hessian, ode --params full, stages and exact as run values: their summaries decode into
/// the library's types and encode back to the same bytes, rerun solves each in-process from
/// another working directory (input files named relative to the first), and every command
/// refuses to overwrite another run's files without --force.
extension CLITests {
    private func json(_ path: String) throws -> JSONValue { try JSONReader.parse(String(contentsOfFile: path, encoding: .utf8)) }

    /// In a fresh directory: train (with --plot), then eval, hessian, the full-matrix flow and stages, every
    /// path relative to it. Returns the directory.
    private func runEveryCommand() throws -> String {
        let base = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(base)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let commands = [
            ["train", "--d", "2", "--n", "8", "--k", "2", "--steps", "20", "--batch-size", "16", "--held-out", "32", "--quiet", "--out", "t", "--plot"],
            ["eval", "--load", "t/parameters.json", "--prompts", "64", "--spectrum", "1,2", "--out", "e"],
            ["hessian", "--load", "t/parameters.json", "--d", "2", "--n", "8", "--k", "2", "--prompts", "32", "--batches", "2", "--batch-size", "8", "--out", "h"],
            ["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "32", "--t-end", "1", "--points", "20", "--quiet", "--out", "f"],
            ["stages", "f/trajectory.csv", "--out", "s"],
        ]
        for arguments in commands {
            let run = try cotflow(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        }
        return base
    }

    func testEveryCommandsSummaryDecodesIntoTheLibraryTypesAndEncodesBackUnchanged() throws {
        let base = try runEveryCommand()

        let evalJSON = try json(base + "/e/summary.json")
        let eval = try RunSummary<EvaluationRun, EvaluationMetrics>(json: evalJSON)
        // d, n, k and eta resolved from the parameter file (no option given), the file recorded as given and absolute.
        XCTAssertEqual([eval.run.d, eval.run.n, eval.run.k], [2, 8, 2])
        XCTAssertEqual(eval.run.eta.description, "8/11")
        XCTAssertEqual(eval.run.load, InputFile("t/parameters.json", directory: base))
        XCTAssertEqual(eval.run.covariance, .spectrum("1,2"))
        XCTAssertEqual(eval.result.source, "t/parameters.json")
        XCTAssertEqual(eval.result.evalLoss.hasThreshold, false)
        XCTAssertNotNil(eval.result.exactGDLoss)
        XCTAssertEqual(try eval.json().rendered(), evalJSON.rendered())

        let hessianJSON = try json(base + "/h/summary.json")
        let hessian = try RunSummary<HessianRun, HessianMetrics>(json: hessianJSON)
        XCTAssertEqual(hessian.provenance.arguments.first, "hessian")
        XCTAssertEqual(hessian.run.objective, .looped)
        XCTAssertEqual(hessian.result.eigenvalues.count, 2 * 36)
        XCTAssertEqual(hessian.result.blockNorms.pairs.map(\.name).first, "V11")
        XCTAssertEqual(hessian.result.gradientNoise?.batches, 2)
        XCTAssertEqual(try hessian.json().rendered(), hessianJSON.rendered())

        let flowJSON = try json(base + "/f/summary.json")
        let flow = try RunSummary<FullFlowRun, FullFlowMetrics>(json: flowJSON)
        // The full-matrix flow's own defaults where no option was given; --t-end as given.
        XCTAssertEqual(flow.run.options.ode.absoluteTolerance, FullMatrixFlow.defaultOptions.ode.absoluteTolerance)
        XCTAssertEqual(flow.run.options.ode.endTime, 1)
        XCTAssertEqual(flow.result.prompts, 32)
        XCTAssertLessThan(flow.result.finalLoss, flow.result.initialLoss)
        XCTAssertEqual(try flow.json().rendered(), flowJSON.rendered())

        let stagesJSON = try json(base + "/s/stages.json")
        let stages = try RunSummary<StagesRun, StagesMetrics>(json: stagesJSON)
        XCTAssertEqual(stages.run.file.given, "f/trajectory.csv")
        XCTAssertEqual(stages.result.eta, 8.0 / 11)
        XCTAssertEqual(stages.result.stages.first?.index, 1)
        XCTAssertEqual(try stages.json().rendered(), stagesJSON.rendered())
        // A summary of one computation is not another's.
        XCTAssertThrowsError(try RunSummary<HessianRun, HessianMetrics>(json: evalJSON))
    }

    func testExactJSONIsTheEncodingOfTheLibrarysValue() throws {
        let run = try cotflow(["exact", "gd-loss", "--d", "3", "--n", "4", "--k", "6", "--spectrum", "1,2,3", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let value = try GDLossRun(d: 3, n: 4, k: 6, eta: paperStepSize(n: 4, d: 3), covariance: .spectrum("1,2,3")).solve()
        XCTAssertEqual(run.stdout, try JSONValue.encoding(value).rendered() + "\n")
        XCTAssertEqual(run.json["grows_with_k"] as? Bool, value.growsWithK)
        let text = try cotflow(["exact", "eval-loss", "--k", "5", "--v", "-0.7", "--w", "1.1", "--u", "-0.9", "--condition-number", "2"])
        let evalLoss = try EvalLossRun(d: 10, n: 40, k: 5, eta: paperStepSize(n: 40, d: 10), v: Rational.parse("-0.7"), w: Rational.parse("1.1")!,
                                       u: Rational.parse("-0.9")!, covariance: .conditionNumber(2)).solve()
        XCTAssertEqual(text.stdout, evalLoss.text + "\n")
    }

    func testRerunSolvesEveryCommandInProcessFromAnotherDirectory() throws {
        let base = try runEveryCommand(), elsewhere = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(elsewhere)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let expected: [String: (computation: String, files: Set<String>)] = [
            "t": ("train", ["summary.json", "trajectory.csv", "parameters.json", "initial_parameters.json"]),
            "e": ("eval", ["summary.json", "per_prompt.csv"]),
            "h": ("hessian", ["summary.json", "eigenvalues.csv"]),
            "f": ("ode_full", ["summary.json", "trajectory.csv", "parameters.json", "initial_parameters.json"]),
            "s": ("stages", ["stages.json", "stages.csv", "change_point_stages.csv"]),
        ]
        for (dir, (computation, files)) in expected.sorted(by: { $0.key < $1.key }) {
            let rerun = try cotflow(["rerun", base + "/" + dir, "--json"])
            XCTAssertEqual(rerun.status, 0, "\(dir): \(rerun.stdout) \(rerun.stderr)")
            XCTAssertEqual(rerun.json["reproduces"] as? Bool, true, dir)
            XCTAssertEqual(Set(rerun.json["files"] as? [String] ?? []), files, dir)
            // The figure's data is listed, not compared: a rerun draws no figures.
            XCTAssertEqual(rerun.json["figure_data_not_compared"] as? [String] ?? ["?"], dir == "t" ? ["figure.tsv", "figure_data.csv"] : [], dir)
            XCTAssertTrue(rerun.stderr.contains("the recorded \(computation) run"), rerun.stderr)
        }
        // A recorded input file that is gone is named, and nothing is run.
        try FileManager.default.removeItem(atPath: base + "/t/parameters.json")
        let missing = try cotflow(["rerun", base + "/e", "--out", elsewhere + "/again"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("parameters.json"), missing.stderr)
    }

    func testHessianAndFullFlowRefuseToOverwriteAnotherRunWithoutForce() throws {
        let base = try runEveryCommand()
        for (arguments, out) in [(["hessian", "--load", base + "/t/parameters.json", "--d", "2", "--n", "8", "--k", "2", "--prompts", "16"], base + "/h"),
                                 (["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "16", "--t-end", "0.5", "--quiet"], base + "/f")] {
            let before = try String(contentsOfFile: out + "/summary.json", encoding: .utf8)
            let refused = try cotflow(arguments + ["--out", out])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
            XCTAssertEqual(try String(contentsOfFile: out + "/summary.json", encoding: .utf8), before)
            let forced = try cotflow(arguments + ["--out", out, "--force"])
            XCTAssertEqual(forced.status, 0, forced.stderr)
            let summary = try JSONReader.parse(String(contentsOfFile: out + "/summary.json", encoding: .utf8))
            XCTAssertEqual(summary["arguments"]?.arrayValue?.compactMap(\.stringValue), arguments + ["--out", out, "--force"])
            XCTAssertEqual(summary["prompts"]?.intValue, 16)
        }
    }

    /// A sweep run in shards into one directory has no summary.json: rerun solves every shard's
    /// recorded run, merges again when the directory holds the merge, and compares every file
    /// (the shards' and the merged TSV tables included); a changed cell is found.
    func testRerunOfAShardedSweepSolvesEveryShardAndMergesAgain() throws {
        let dir = temporaryDirectory() + "/sweep"
        for i in 0..<2 {
            let shard = try cotflow(["sweep", "--vary", "k=1:3:3", "--d", "2", "--n", "6", "--shard", "\(i)/2", "--quiet", "--out", dir])
            XCTAssertEqual(shard.status, 0, shard.stderr)
        }
        let unmerged = try cotflow(["rerun", dir, "--json", "--out", dir + "/rerun-shards"])
        XCTAssertEqual(unmerged.status, 0, unmerged.stdout + unmerged.stderr)
        XCTAssertEqual(Set(unmerged.json["files"] as? [String] ?? []),
                       ["shard-0-of-2.json", "shard-0-of-2.tsv", "shard-1-of-2.json", "shard-1-of-2.tsv",
                        "summary-shard-0-of-2.json", "summary-shard-1-of-2.json"])
        XCTAssertEqual(try cotflow(["merge", dir]).status, 0)
        let merged = try cotflow(["rerun", dir, "--json"])
        XCTAssertEqual(merged.status, 0, merged.stdout + merged.stderr)
        XCTAssertEqual(merged.json["reproduces"] as? Bool, true)
        let files = Set(merged.json["files"] as? [String] ?? [])
        XCTAssertTrue(files.isSuperset(of: ["sweep.json", "sweep.tsv", "report.json", "summary-shard-1-of-2.json"]), "\(files)")
        XCTAssertTrue(merged.stderr.contains("merging the shards again"), merged.stderr)
        // One changed cell of the merged table is a difference.
        let table = dir + "/sweep.tsv"
        var lines = try String(contentsOfFile: table, encoding: .utf8).components(separatedBy: "\n")
        var cells = lines[1].components(separatedBy: "\t")
        cells[2] = String(Double(cells[2])! * (1 + 1e-12))
        lines[1] = cells.joined(separator: "\t")
        try lines.joined(separator: "\n").write(toFile: table, atomically: true, encoding: .utf8)
        let changed = try cotflow(["rerun", dir, "--json", "--out", dir + "/rerun-changed"])
        XCTAssertEqual(changed.status, 1, changed.stdout + changed.stderr)
        XCTAssertTrue((changed.json["differences"] as? [String] ?? []).contains { $0.hasPrefix("sweep.tsv, line 2") }, changed.stdout)
    }

    /// A summary is input like any file: a tampered run (a negative size or step count, an empty
    /// batch) is refused as the command line would be (64), before anything is created.
    func testRerunValidatesTheRecordedRunBeforeCreatingAnything() throws {
        let dir = temporaryDirectory() + "/train"
        let trained = try cotflow(["train", "--d", "2", "--n", "6", "--k", "2", "--steps", "4", "--batch-size", "8", "--held-out", "16", "--quiet", "--out", dir])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let original = try String(contentsOfFile: dir + "/summary.json", encoding: .utf8)
        for (from, to) in [("\"d\": 2", "\"d\": -2"), ("\"steps\": 4,", "\"steps\": -4,"), ("\"batchSize\": 8,", "\"batchSize\": 0,")] {
            XCTAssertTrue(original.contains(from), from)
            try original.replacingOccurrences(of: from, with: to).write(toFile: dir + "/summary.json", atomically: true, encoding: .utf8)
            let rerun = try cotflow(["rerun", dir])
            XCTAssertEqual(rerun.status, 64, to + ": " + rerun.stderr)
            XCTAssertTrue(rerun.stderr.contains("is not a valid run"), rerun.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/rerun"), to)
        }
    }
}
