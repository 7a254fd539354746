import CotflowCore
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

    /// Help reaches argument-parser (it printed a CommandError), enumerated options list their
    /// values, and the one error mapping gives 64 for bad input, including a parameter file's task fields.
    func testHelpListsValuesAndErrorsMapToExitCodes() throws {
        for arguments in [["ode", "--help"], ["help", "ode"]] {
            let help = try cotflow(arguments)
            XCTAssertEqual(help.status, 0, "\(arguments): \(help.stderr)")
            // Words as printed, whatever the line wrapping.
            let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            XCTAssertTrue(words.contains("values: auto, tsit5, rk2, rk4,"), help.stdout)
            XCTAssertTrue(words.contains("values: log, linear, steps; default: log"), help.stdout)
        }
        let grid = try cotflow(["ode", "--grid", "weekly"])
        XCTAssertEqual(grid.status, 64)
        XCTAssertTrue(grid.stderr.contains("Please provide one of 'log', 'linear' or 'steps'"), grid.stderr)
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/parameters.json"
        try #"{"d": "2", "V": [], "W": []}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let eval = try cotflow(["eval", "--load", file, "--prompts", "4"])
        XCTAssertEqual(eval.status, 64, eval.stderr)
        XCTAssertTrue(eval.stderr.contains(#""d" must be an integer"#), eval.stderr)
    }

    /// Issue 24: `ode --grid linear` with the default --t-end 1e6 kept 2 rows (the flow stops long
    /// before): it is refused; with --t-end the figure's t axis is linear, and log for --grid log.
    /// `sweep --flow-time` refuses --steps and an optimizer without a time map.
    func testLinearGridNeedsAnEndAndDrawsALinearTimeAxis() throws {
        let refused = try cotflow(["ode", "--grid", "linear"])
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--grid linear spaces --points times evenly up to --t-end"), refused.stderr)
        let dir = temporaryDirectory()
        let task = ["--d", "3", "--n", "12", "--k", "2"]
        let linear = try cotflow(["ode"] + task + ["--grid", "linear", "--t-end", "20", "--points", "50", "--out", dir + "/linear", "--plot"])
        XCTAssertEqual(linear.status, 0, linear.stderr)
        let linearScript = try String(contentsOfFile: dir + "/linear/figure.gp", encoding: .utf8)
        XCTAssertFalse(linearScript.contains("set logscale x"), linearScript)
        XCTAssertTrue(linearScript.contains("set format x \"%h\""), linearScript)
        let log = try cotflow(["ode"] + task + ["--out", dir + "/log", "--plot"])
        XCTAssertEqual(log.status, 0, log.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/log/figure.gp", encoding: .utf8).contains("set logscale x"))

        let sweep = ["sweep", "--job", "train", "--vary", "learning_rate=0.01,0.1", "--out", dir + "/sweep", "--flow-time", "1"]
        let steps = try cotflow(sweep + ["--optimizer", "sgd", "--steps", "10"])
        XCTAssertEqual(steps.status, 64, steps.stderr)
        XCTAssertTrue(steps.stderr.contains("drop --steps"), steps.stderr)
        let adam = try cotflow(sweep + ["--optimizer", "adam"])
        XCTAssertEqual(adam.status, 64, adam.stderr)
        XCTAssertTrue(adam.stderr.contains("time map"), adam.stderr)
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
            (["ode", "--stepper", "euler"], "is invalid for '--stepper <stepper>'. Please provide one of"),
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
        // A record whose held-out prompts overflowed has no mean: an empty cell beside the count.
        let rows = trajectory.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let mean = try XCTUnwrap(rows[0].firstIndex(of: "eval_loss_mean")), over = try XCTUnwrap(rows[0].firstIndex(of: "eval_loss_overflowed"))
        let overflowed = rows.dropFirst().filter { (Int($0[over]) ?? 0) > 0 }
        XCTAssertFalse(overflowed.isEmpty, trajectory)
        for row in overflowed { XCTAssertEqual(row[mean], "") }
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
        let changePoints = try XCTUnwrap(run.json["change_point_stages"] as? [[String: Any]])
        XCTAssertEqual(stages.compactMap { $0["name"] as? String }, ["plateau", "transition", "convergence"])  // eta from summary.json
        XCTAssertGreaterThan(changePoints.count, 1)
        for key in ["t_start", "t_end", "loss_start", "loss_end", "rate", "name"] { XCTAssertNotNil(stages[0][key], key) }
    }

    /// Issue 24, item 2: one stage table. At (d, n, k) = (5, 40, 5) its plateau ends inside the flat
    /// part of the loss (where ln(loss) falls at most at a fifth of its steepest rate, the change
    /// points' criterion of flat, over windows of 10% of the span) and covers most of it (the old
    /// criterion, loss below 0.9 x its start, ended it at 0.41 of a flat part 1.6 long); the names of
    /// both tables are unique; the text quotes the numbers of the table and of --json.
    func testHeadlinePlateauEndsInsideTheFlatPart() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(["ode", "--d", "5", "--n", "40", "--k", "5", "--grid", "linear", "--t-end", "10", "--points", "1001", "--out", dir]).status, 0)
        let json = try cotflow(["stages", dir + "/trajectory.csv", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let stages = try XCTUnwrap(json.json["stages"] as? [[String: Any]])
        let names = stages.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["plateau", "transition", "convergence"])
        let changeNames = (json.json["change_point_stages"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(Set(changeNames).count, changeNames.count, "\(changeNames)")
        let plateauEnd = try XCTUnwrap(json.json["plateau_end"] as? Double)
        XCTAssertEqual(stages[0]["t_end"] as? Double, plateauEnd)

        // The flat part, from the trajectory alone.
        let rows = try String(contentsOfFile: dir + "/trajectory.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map { Double($0)! } }
        let t = rows.map { $0[0] }, y = rows.map { Foundation.log($0[1]) }
        let h = 0.05 * (t.last! - t[0])
        func rate(at x: Double) -> Double {  // least-squares slope of ln(loss) over [x - h, x + h]
            let i = t.indices.filter { abs(t[$0] - x) <= h }
            let mt = i.map { t[$0] }.reduce(0, +) / Double(i.count), my = i.map { y[$0] }.reduce(0, +) / Double(i.count)
            return i.map { (t[$0] - mt) * (y[$0] - my) }.reduce(0, +) / i.map { (t[$0] - mt) * (t[$0] - mt) }.reduce(0, +)
        }
        let rates = t.map(rate(at:)), steepest = -rates.min()!
        let flatEnd = t[rates.firstIndex { -$0 > 0.2 * steepest }!]
        XCTAssertLessThanOrEqual(-rate(at: plateauEnd), 0.2 * steepest)
        XCTAssertLessThanOrEqual(plateauEnd, flatEnd)
        XCTAssertGreaterThanOrEqual(plateauEnd, 0.5 * flatEnd, "the plateau covers most of the flat part (flat to \(flatEnd))")

        // The text quotes the table: the plateau end and the start of convergence, as printed in it.
        let text = try cotflow(["stages", dir + "/trajectory.csv"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("plateau end \(fmt(plateauEnd)) "), text.stdout)
        let convergence = try XCTUnwrap(stages[2]["t_start"] as? Double)
        XCTAssertTrue(text.stdout.contains("convergence from \(fmt(convergence)) "), text.stdout)
        XCTAssertTrue(text.stdout.contains("cross-check by change points"), text.stdout)
        // ode prints the same table's plateau end.
        let ode = try cotflow(["ode", "--d", "5", "--n", "40", "--k", "5", "--grid", "linear", "--t-end", "10", "--points", "1001"])
        XCTAssertTrue(ode.stdout.contains("plateau until t = \(fmt(plateauEnd))"), ode.stdout)
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

    /// `ode --w24 free` reports W24, the conserved quantity at both ends and the family member;
    /// a setting whose flow cannot be integrated reliably exits 1 with the cause, never "converged".
    func testODEWithW24FreeAndAnUnreliableSetting() throws {
        let free = try cotflow(["ode", "--d", "3", "--n", "12", "--k", "3", "--w24", "free", "--json"])
        XCTAssertEqual(free.status, 0, free.stderr)
        XCTAssertEqual(free.json["converged"] as? Bool, true)
        let start = try XCTUnwrap(free.json["conserved_quantity_start"] as? Double)
        let end = try XCTUnwrap(free.json["conserved_quantity_end"] as? Double)
        XCTAssertEqual(start, end, accuracy: 1e-6)
        let member = try XCTUnwrap(free.json["family_member"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(free.json["w24"] as? Double), try XCTUnwrap(member["predicted_u"] as? Double), accuracy: 1e-4)
        XCTAssertNotEqual(try cotflow(["ode", "--w24", "loose"]).status, 0)
        XCTAssertNotEqual(try cotflow(["ode", "--w24-initial", "0"]).status, 0)

        let dir = temporaryDirectory()
        let hard = try cotflow(["ode", "--d", "10", "--n", "40", "--k", "40", "--out", dir])
        XCTAssertEqual(hard.status, 1, hard.stderr)
        XCTAssertTrue(hard.stderr.contains("cancels beyond double-double"), hard.stderr)
        XCTAssertFalse(hard.stdout.contains("converged"), hard.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/trajectory.csv"))

        // A sweep records such a point as failed, never ok.
        let sweepDir = temporaryDirectory()
        _ = try cotflow(["sweep", "--vary", "k=2,40", "--d", "10", "--n", "40", "--quiet", "--out", sweepDir])
        let rows = try String(contentsOfFile: sweepDir + "/sweep.tsv", encoding: .utf8).split(separator: "\n")
        let k40 = try XCTUnwrap(rows.first { $0.split(separator: "\t").dropFirst().first == "40" })
        XCTAssertTrue(k40.contains("flow failed: the loss polynomial"), String(k40))
        XCTAssertFalse(k40.hasSuffix("\tok"), String(k40))
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
        for file in ["sweep.tsv", "sweep.json", "report.txt", "report.json"] {
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
            ["sweep", "--job", "flow", "--learning-rate", "0.1", "--vary", "k=1,2", "--out", dir],   // a training option on the flow job
            ["sweep", "--job", "flow", "--vary", "learning_rate=0.1,0.2", "--out", dir],             // not an axis of the flow job
            ["sweep", "--job", "train", "--learning-rate", "0.1", "--vary", "learning_rate=0.1,0.2", "--out", dir],
            ["sweep", "--vary", "k=1,2", "--vary", "d=2,3", "--vary", "n=9,10", "--vary", "init_scale=0.05,0.1", "--out", dir],  // 4 axes besides seed
            ["sweep", "--vary", "k=1,2", "--vary", "d=2,3", "--vary", "n=9,10", "--vary", "init_scale=0.05,0.1", "--vary", "seed=0,1", "--out", dir],
            ["sweep", "--vary", "k=1,2", "--jobs", "0", "--out", dir],
            ["sweep", "--job", "exact", "--vary", "k=20,40", "--out", dir],                          // above the exact limit
        ]
        for arguments in cases {
            let run = try cotflow(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertFalse(run.stderr.isEmpty, "\(arguments)")
            XCTAssertFalse(run.stderr.contains("Fatal error"), "\(arguments)")
        }
        // W24: the initial value is the flow's axis w24_initial; the other jobs refuse it, saying why.
        let w24Cases: [([String], String)] = [
            (["sweep", "--vary", "w24=-2,-1", "--out", dir], "the initial W24 is the axis w24_initial"),
            (["sweep", "--job", "train", "--vary", "w24_initial=-2,-1", "--out", dir], "axis of --job flow only"),
            (["sweep", "--job", "compare", "--w24", "free", "--vary", "k=2,3", "--out", dir], "apply to --job flow only"),
            (["sweep", "--w24-initial", "-1", "--vary", "w24_initial=-2,-1", "--out", dir], "give one"),
            (["sweep", "--vary", "w24_initial=0,1", "--out", dir], "1e-3 <= |W24| <= 1e3"),
        ]
        for (arguments, message) in w24Cases {
            let run = try cotflow(arguments)
            XCTAssertEqual(run.status, 64, "\(arguments)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    func testTrainingSweepEmitsAnSbatchScriptAndPlots() throws {
        let dir = temporaryDirectory()
        let script = dir + "/sweep.sbatch"
        let args = ["sweep", "--job", "train", "--d", "3", "--n", "12", "--k", "2", "--params", "reduced", "--init", "assumption",
                    "--optimizer", "sgd", "--steps", "100", "--batch-size", "32", "--held-out", "200",
                    "--vary", "learning_rate=0.1,1,10", "--vary", "seed=0,1", "--out", dir + "/out"]
        let emit = try cotflow(args + ["--emit-sbatch", script, "--shards", "3"])
        XCTAssertEqual(emit.status, 0, emit.stderr)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.contains("#SBATCH --array=0-2"), text)
        // The tasks run the written description with the binary named by its absolute path.
        let exec = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("exec ") }).split(separator: " ")
        XCTAssertTrue(exec[1].hasPrefix("/") && FileManager.default.isExecutableFile(atPath: String(exec[1])), text)
        XCTAssertEqual(Array(exec[2...4]), ["sweep", "--from", Substring(dir + "/out/sweep-description.json")], text)
        XCTAssertTrue(text.contains("--resume --quiet --jobs"), text)
        XCTAssertFalse(text.contains("--vary") || text.contains("--emit-sbatch"), text)
        // Running it here (1-D in learning rate, seeds as replicates) with --plot writes the figure's data and script.
        let run = try cotflow(args + ["--plot", "--quiet", "--jobs", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("converged -> diverged between learning_rate = 0.1 and 1"), run.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/sweep_plot.gp"))
        XCTAssertTrue(try String(contentsOfFile: dir + "/out/sweep.tsv", encoding: .utf8).hasPrefix("index\tlearning_rate\tseed\t"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/report.json"))
    }

    /// `sweep --from` on the description that --emit-sbatch wrote reproduces the unsharded sweep,
    /// sharded and merged too; a `%` in --out is `%%` in `#SBATCH --output`; and --emit-sbatch
    /// refuses a directory that holds another grid.
    func testSweepFromEmittedDescriptionReproducesTheSweep() throws {
        let base = temporaryDirectory()
        let out = base + "/grid%1", whole = base + "/whole", again = base + "/again"
        let args = ["sweep", "--vary", "init_scale=0.02:0.2:3:log", "--vary", "k=2,4", "--d", "4", "--n", "16", "--points", "50"]
        let emit = try cotflow(args + ["--out", out, "--emit-sbatch", base + "/sweep.sbatch", "--shards", "2"])
        XCTAssertEqual(emit.status, 0, emit.stderr)
        let script = try String(contentsOfFile: base + "/sweep.sbatch", encoding: .utf8)
        XCTAssertTrue(script.contains("#SBATCH --output=\(base)/grid%%1/slurm-%A_%a.out"), script)
        XCTAssertEqual(try cotflow(args + ["--quiet", "--out", whole]).status, 0)
        for i in 0..<2 {
            let run = try cotflow(["sweep", "--from", out + "/sweep-description.json", "--shard", "\(i)/2", "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertEqual(try cotflow(["merge", out]).status, 0)
        let unsharded = try cotflow(["sweep", "--from", out + "/sweep-description.json", "--quiet", "--out", again])
        XCTAssertEqual(unsharded.status, 0, unsharded.stderr)
        for file in ["sweep.tsv", "sweep.json", "report.txt", "report.json"] {
            let expected = try Data(contentsOf: URL(fileURLWithPath: whole + "/" + file))
            XCTAssertEqual(expected, try Data(contentsOf: URL(fileURLWithPath: out + "/" + file)), file)
            XCTAssertEqual(expected, try Data(contentsOf: URL(fileURLWithPath: again + "/" + file)), file)
        }
        // The same grid may be emitted again (another shard count too); another grid is refused.
        XCTAssertEqual(try cotflow(args + ["--out", out, "--emit-sbatch", base + "/same.sbatch", "--shards", "3"]).status, 0)
        let other = try cotflow(["sweep", "--vary", "k=1,2", "--out", out, "--emit-sbatch", base + "/other.sbatch"])
        XCTAssertEqual(other.status, 64, other.stderr)
        XCTAssertTrue(other.stderr.contains("holds another sweep"), other.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/other.sbatch"))
        let mixed = try cotflow(["sweep", "--from", out + "/sweep-description.json", "--vary", "k=1,2"])
        XCTAssertEqual(mixed.status, 64, mixed.stderr)
    }

    /// Out of distribution (issue 14): the exact GD loss with a spectrum and a condition number, the
    /// construction's eval-loss equal to it, moments with --symbolic in n and p_r, and bad spectra refused.
    func testExactWithCovariance() throws {
        let gd = try cotflow(["exact", "gd-loss", "--d", "3", "--n", "10", "--k", "2", "--spectrum", "1/2,1,2", "--json"])
        XCTAssertEqual(gd.status, 0, gd.stderr)
        let construction = try cotflow(["exact", "eval-loss", "--d", "3", "--n", "10", "--k", "2", "--spectrum", "1/2,1,2", "--json"])
        XCTAssertEqual(construction.status, 0, construction.stderr)
        XCTAssertNotNil(gd.json["exact"] as? String)
        XCTAssertEqual(gd.json["exact"] as? String, construction.json["exact"] as? String)
        XCTAssertEqual(gd.json["error_bound"] as? Double, 0)
        let identity = try cotflow(["exact", "gd-loss", "--d", "4", "--n", "9", "--k", "3", "--json"])
        let kappaOne = try cotflow(["exact", "gd-loss", "--d", "4", "--n", "9", "--k", "3", "--condition-number", "1", "--json"])
        XCTAssertEqual(identity.json["exact"] as? String, kappaOne.json["exact"] as? String)
        let kappa = try cotflow(["exact", "gd-loss", "--d", "4", "--n", "9", "--k", "3", "--condition-number", "3", "--json"])
        XCTAssertEqual(kappa.status, 0, kappa.stderr)
        XCTAssertGreaterThan(kappa.json["error_bound"] as? Double ?? 0, 0)
        let moment = try cotflow(["exact", "moment", "--d", "3", "--n", "5", "--powers", "2", "--spectrum", "1,2,3", "--symbolic", "--json"])
        XCTAssertEqual(moment.json["exact"] as? String, "600")  // 25 * 14 + 5 * 36 + 5 * 14
        XCTAssertEqual(moment.json["symbolic"] as? String, "n^2 p2 + n p1^2 + n p2")
        // A flow's end point (`cotflow ode` summary.json) with equal eigenvalues, evaluated exactly off distribution.
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let equal = dir + "/equal.json", unequal = dir + "/unequal.json"
        try #"{"v": [-0.5, -0.5], "w": [1.25, 1.25], "u": -0.75}"#.write(toFile: equal, atomically: true, encoding: .utf8)
        try #"{"v": [-0.5, -0.4], "w": [1.25, 1.25]}"#.write(toFile: unequal, atomically: true, encoding: .utf8)
        let fromFile = try cotflow(["exact", "eval-loss", "--d", "2", "--n", "6", "--k", "3", "--spectrum", "1,3", "--from", equal, "--json"])
        let fromOptions = try cotflow(["exact", "eval-loss", "--d", "2", "--n", "6", "--k", "3", "--spectrum", "1,3",
                                       "--v=-1/2", "--w", "5/4", "--u=-3/4", "--json"])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertNotNil(fromFile.json["exact"] as? String)
        XCTAssertEqual(fromFile.json["exact"] as? String, fromOptions.json["exact"] as? String)
        for (arguments, message) in [
            (["exact", "eval-loss", "--d", "2", "--from", unequal], "not all equal"),
            (["exact", "gd-loss", "--d", "3", "--spectrum", "1,2"], "--spectrum needs d = 3"),
            (["exact", "gd-loss", "--d", "2", "--spectrum", "1,-2"], "must be positive"),
            (["exact", "gd-loss", "--condition-number", "0.5"], "--condition-number must be at least 1"),
            (["exact", "eval-loss", "--d", "2", "--spectrum", "1,2", "--condition-number", "2"], "at most one of"),
        ] {
            let run = try cotflow(arguments)
            XCTAssertEqual(run.status, 64, "\(arguments)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    /// `train --curriculum` records its stages in summary.json; `hessian` reads the parameters back.
    func testLoopedCurriculumSummaryAndHessian() throws {
        let dir = temporaryDirectory()
        let run = try cotflow(["train", "--objective", "looped", "--curriculum", "--curriculum-ramp", "0.6", "--clip-norm", "5",
                               "--d", "2", "--n", "6", "--k", "3", "--steps", "10", "--batch-size", "64", "--held-out", "20",
                               "--quiet", "--out", dir])
        XCTAssertEqual(run.status, 0, run.stderr)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let curriculum = try XCTUnwrap(summary["curriculum"] as? [String: Any])
        XCTAssertEqual(curriculum["over"] as? String, "loops")
        XCTAssertEqual(curriculum["start"] as? Int, 1)
        let stages = try XCTUnwrap(curriculum["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.map { $0["from_step"] as? Int }, [0, 3, 6])
        XCTAssertEqual(stages.map { $0["length"] as? Int }, [1, 2, 3])
        XCTAssertEqual(summary["clip_norm"] as? Double, 5)
        XCTAssertNotNil(summary["clipped_steps"] as? Int)
        let hessian = try cotflow(["hessian", "--load", dir + "/parameters.json", "--d", "2", "--n", "6", "--k", "3",
                                   "--prompts", "8", "--batches", "3", "--json"])
        XCTAssertEqual(hessian.status, 0, hessian.stderr)
        XCTAssertEqual((hessian.json["eigenvalues"] as? [Any])?.count, 2 * 36)
        for (arguments, message) in [(["train", "--curriculum-ramp", "0.5"], "need --curriculum"),
                                     (["train", "--objective", "nocot", "--curriculum"], "a curriculum applies to the looped and cot objectives"),
                                     (["train", "--curriculum", "--curriculum-ramp", "1"], "the ramp fraction must be in [0, 1)"),
                                     (["train", "--curriculum", "--k", "3", "--curriculum-start", "4"], "the start length must be in 1...k = 1...3 (got 4)"),
                                     (["train", "--clip-norm", "0"], "the gradient clipping norm must be finite and > 0")] {
            let bad = try cotflow(arguments)
            XCTAssertEqual(bad.status, 64, "\(arguments)")
            XCTAssertTrue(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }
}
