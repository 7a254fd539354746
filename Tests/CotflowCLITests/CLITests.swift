import Foundation
import XCTest

/// Runs the `cotflow` executable as a user would.
final class CLITests: XCTestCase {
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// The built executable, next to the test bundle.
    var executable: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("cotflow").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("cotflow")
    }

    func cotflow(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "cotflow-cli-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testBadInputGivesAClearMessageAndNonZeroExit() throws {
        let cases: [([String], String)] = [
            (["train", "--d", "0"], "--d must be from 1 to"),
            (["train", "--n=-3"], "--n must be from 1 to"),
            (["ode", "--k", "0"], "--k must be from 1 to"),
            (["train", "--eta", "0"], "--eta must be positive"),
            (["train", "--eta", "abc"], "--eta must be a decimal or a rational"),
            (["train", "--learning-rate=-1", "--steps", "1"], "--learning-rate must be positive"),
            (["eval", "--construction", "--d", "2", "--spectrum", "1,-1"], "--spectrum needs 2 positive numbers"),
            (["eval", "--load", "/nonexistent/parameters.json"], "nonexistent"),
            (["ode", "--stepper", "euler"], "--stepper must be one of"),
            (["exact", "moment", "--powers", "2,x"], "--powers must be"),
            (["exact", "cot-loss", "--d", "3", "--v", "1,2", "--w", "1"], "--v needs 3 values"),
        ]
        for (arguments, message) in cases {
            let run = try cotflow(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertTrue((run.stderr + run.stdout).contains(message), "\(arguments): \(run.stderr)")
            XCTAssertFalse(run.stderr.contains("Fatal error"), "\(arguments) crashed: \(run.stderr)")
        }
    }

    func testNonPositiveDefiniteCovarianceIsRefused() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/sigma.json"
        try "[[1, 2], [2, 1]]".write(toFile: file, atomically: true, encoding: .utf8)
        let run = try cotflow(["eval", "--construction", "--d", "2", "--covariance", file, "--prompts", "10"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("positive definite"), run.stderr)
    }

    func testDivergingRunStopsAndKeepsItsTrajectory() throws {
        let dir = temporaryDirectory()
        let run = try cotflow(["train", "--d", "3", "--n", "10", "--k", "2", "--optimizer", "sgd",
                               "--learning-rate", "1e6", "--steps", "50", "--record-every", "1",
                               "--held-out", "64", "--batch-size", "16", "--out", dir, "--quiet"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("diverged at step"), run.stderr)
        let trajectory = try String(contentsOfFile: dir + "/trajectory.csv", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(trajectory.split(separator: "\n").count, 2)
        XCTAssertFalse(trajectory.lowercased().contains("nan"))
    }

    func testTrainingIsByteIdenticalForTheSameSeed() throws {
        let arguments = ["train", "--d", "3", "--n", "12", "--k", "3", "--steps", "40", "--record-every", "10",
                         "--batch-size", "32", "--held-out", "128", "--seed", "5", "--quiet"]
        let a = temporaryDirectory(), b = temporaryDirectory(), c = temporaryDirectory()
        XCTAssertEqual(try cotflow(arguments + ["--out", a]).status, 0)
        XCTAssertEqual(try cotflow(arguments + ["--out", b]).status, 0)
        XCTAssertEqual(try cotflow(Array(arguments.dropLast(3)) + ["--seed", "6", "--quiet", "--out", c]).status, 0)
        let x = try Data(contentsOf: URL(fileURLWithPath: a + "/trajectory.csv"))
        XCTAssertEqual(x, try Data(contentsOf: URL(fileURLWithPath: b + "/trajectory.csv")))
        XCTAssertNotEqual(x, try Data(contentsOf: URL(fileURLWithPath: c + "/trajectory.csv")))
        // parameters.json also records the command line (with its --out), so compare the matrices.
        func matrices(_ dir: String) throws -> [[Double]] {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/parameters.json"))) as? [String: Any])
            return [try XCTUnwrap(object["V"] as? [Double]), try XCTUnwrap(object["W"] as? [Double])]
        }
        XCTAssertEqual(try matrices(a), try matrices(b))
        XCTAssertNotEqual(try matrices(a), try matrices(c))
    }

    func testODEAndTrainingStartFromTheSamePoint() throws {
        let common = ["--d", "4", "--n", "16", "--k", "3", "--seed", "9", "--init-scale", "0.1"]
        let ode = try cotflow(["ode"] + common + ["--json"])
        XCTAssertEqual(ode.status, 0, ode.stderr)
        let v0 = try XCTUnwrap(ode.json["v0"] as? [Double]), w0 = try XCTUnwrap(ode.json["w0"] as? [Double])
        for key in ["final_loss", "t_end", "steps", "rhs_evals", "v", "w"] { XCTAssertNotNil(ode.json[key], key) }
        XCTAssertEqual(ode.json["converged"] as? Bool, true)

        let dir = temporaryDirectory()
        let train = try cotflow(["train"] + common + ["--init", "assumption", "--params", "reduced", "--steps", "0",
                                                     "--held-out", "64", "--out", dir, "--quiet"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let lines = try String(contentsOfFile: dir + "/trajectory.csv", encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let first = lines[1].split(separator: ",").map { Double($0)! }
        for j in 1...4 {
            // Diagonals of V31 and W13 in the initial eigenbasis are the ODE's eigenvalues.
            XCTAssertEqual(first[header.firstIndex(of: "v_diag_\(j)")!], v0[j - 1], accuracy: 1e-12)
            XCTAssertEqual(first[header.firstIndex(of: "w_diag_\(j)")!], w0[j - 1], accuracy: 1e-12)
        }
    }

    func testJSONOutputsCarryTheDocumentedKeys() throws {
        let train = try cotflow(["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "20", "--held-out", "64", "--json", "--quiet"])
        XCTAssertEqual(train.status, 0, train.stderr)
        for key in ["eval_loss_mean", "eval_loss_median", "final_cot_loss", "steps", "seconds"] {
            XCTAssertNotNil(train.json[key], key)
        }
        let eval = try cotflow(["eval", "--construction", "--d", "3", "--n", "12", "--k", "2", "--prompts", "200", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        for key in ["eval_loss_mean", "eval_loss_median", "eval_loss_p90", "eval_loss_p99", "diverged_fraction", "exact_gd_loss"] {
            XCTAssertNotNil(eval.json[key], key)
        }
        // The construction runs k exact GD steps: its losses are the GD chain's, prompt by prompt.
        XCTAssertEqual(eval.json["eval_loss_mean"] as? Double, eval.json["gd_loss_mean"] as? Double)
        let moment = try cotflow(["exact", "moment", "--d", "3", "--n", "5", "--powers", "4", "--json"])
        XCTAssertEqual(moment.json["exact"] as? String, "22785")
        XCTAssertEqual(moment.json["value"] as? Double, 22785)
    }

    func testStagesOfAnODETrajectory() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(["ode", "--d", "4", "--n", "16", "--k", "3", "--out", dir]).status, 0)
        let run = try cotflow(["stages", dir + "/trajectory.csv", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let stages = try XCTUnwrap(run.json["stages"] as? [[String: Any]])
        let mechanistic = try XCTUnwrap(run.json["mechanistic_stages"] as? [[String: Any]])
        XCTAssertGreaterThan(stages.count, 1)
        XCTAssertGreaterThan(mechanistic.count, 1)  // eta read from summary.json beside the file
        for key in ["t_start", "t_end", "loss_start", "loss_end", "rate", "name"] { XCTAssertNotNil(stages[0][key], key) }
    }

    func testStagesRejectsMissingAndMalformedFiles() throws {
        let missing = try cotflow(["stages", "/nonexistent/trajectory.csv"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertFalse(missing.stderr.contains("Fatal error"))
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "t,loss\n0,1\n1,abc\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        let bad = try cotflow(["stages", dir + "/bad.csv"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("bad.csv"), bad.stderr)
    }

    func testCompareJSONCarriesDeviationAndStageBoundaries() throws {
        let run = try cotflow(["compare", "--d", "3", "--n", "16", "--k", "2", "--steps", "400", "--record-every", "40",
                               "--held-out", "2000", "--learning-rate", "0.005", "--json", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertNotNil(run.json["max_rel_loss_deviation"] as? Double)
        let boundaries = try XCTUnwrap(run.json["stage_boundaries"] as? [String: Any])
        XCTAssertNotNil(boundaries["ode"])
        XCTAssertNotNil(boundaries["reduced"])
    }

    func testShardedSweepMergesToTheUnshardedSweep() throws {
        let whole = temporaryDirectory(), sharded = temporaryDirectory()
        let grid = ["--vary", "init_scale=0.02:0.2:5:log", "--vary", "k=2,4", "--d", "4", "--n", "16", "--quiet"]
        XCTAssertEqual(try cotflow(["sweep"] + grid + ["--out", whole]).status, 0)
        for i in 0..<3 {
            let run = try cotflow(["sweep"] + grid + ["--shard", "\(i)/3", "--out", sharded])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let merge = try cotflow(["merge", sharded])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        for file in ["sweep.tsv", "sweep.json"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: whole + "/" + file)),
                           try Data(contentsOf: URL(fileURLWithPath: sharded + "/" + file)), file)
        }
        let tsv = try String(contentsOfFile: whole + "/sweep.tsv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(tsv.count, 1 + 10)  // header and one row per grid point
        XCTAssertTrue(tsv[0].contains("plateau_end"))
    }

    func testSweepBadInput() throws {
        let dir = temporaryDirectory()
        let cases: [[String]] = [
            ["sweep", "--vary", "k=5:1:3", "--out", dir],          // lo > hi: no points
            ["sweep", "--vary", "k=1,2", "--shard", "3/3", "--out", dir],
            ["sweep", "--vary", "colour=1,2", "--out", dir],
            ["merge", dir + "/nothing-here"],
        ]
        for arguments in cases {
            let run = try cotflow(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertFalse(run.stderr.isEmpty, "\(arguments)")
            XCTAssertFalse(run.stderr.contains("Fatal error"), "\(arguments)")
        }
    }
}
