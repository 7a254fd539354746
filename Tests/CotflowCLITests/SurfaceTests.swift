import Foundation
import XCTest

/// Version, provenance and rerun, negative option values, --plot, eval --load and pandas CSVs.
extension CLITests {
    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testVersionIsTheOneRecordedInSummaries() throws {
        let version = try cotflow(["--version"])
        XCTAssertEqual(version.status, 0)
        let text = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(text.range(of: "^[0-9]+\\.[0-9]+\\.[0-9]+$", options: .regularExpression), text)
        let exact = try cotflow(["exact", "gd-loss", "--d", "2", "--n", "6", "--k", "2", "--json"])
        XCTAssertEqual(exact.json["cotflow_version"] as? String, text)
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--out", dir]).status, 0)
        XCTAssertEqual(try json(dir + "/summary.json")["cotflow_version"] as? String, text)
    }

    func testNegativeNumbersAreOptionValues() throws {
        let spaced = try cotflow(["exact", "cot-loss", "--d", "2", "--n", "8", "--k", "2", "--v", "-0.5", "--w", "0.9", "--json"])
        XCTAssertEqual(spaced.status, 0, spaced.stderr)
        let joined = try cotflow(["exact", "cot-loss", "--d", "2", "--n", "8", "--k", "2", "--v=-0.5", "--w", "0.9", "--json"])
        XCTAssertEqual(spaced.json["exact"] as? String, joined.json["exact"] as? String)
        let range = try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--v-range", "-0.1,-0.05", "--json"])
        XCTAssertEqual(range.status, 0, range.stderr)
        let v0 = try XCTUnwrap(range.json["v0"] as? [Double])
        XCTAssertTrue(v0.allSatisfy { $0 >= -0.1 && $0 <= -0.05 }, "\(v0)")
        let initial = try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--v", "-0.1,-0.2", "--w", "0.1,0.2", "--json"])
        let start = try XCTUnwrap(initial.json["v0"] as? [Double])
        XCTAssertEqual(start[0], -0.1, accuracy: 1e-15)
        XCTAssertEqual(start[1], -0.2, accuracy: 1e-15)
        // A negative size reaches the range check instead of "Missing value".
        let bad = try cotflow(["train", "--d", "-1"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--d must be from 1 to") && bad.stderr.contains("(got -1)"), bad.stderr)
    }

    func testSummariesRecordEverySettingAndRerunReproduces() throws {
        let dir = temporaryDirectory()
        let arguments = ["train", "--d", "3", "--n", "12", "--k", "2", "--init", "assumption", "--params", "reduced",
                         "--optimizer", "sgd", "--learning-rate", "0.01", "--steps", "30", "--record-every", "10",
                         "--batch-size", "32", "--held-out", "64", "--init-scale", "0.1", "--quiet", "--out", dir]
        XCTAssertEqual(try cotflow(arguments).status, 0)
        let summary = try json(dir + "/summary.json")
        XCTAssertEqual(summary["arguments"] as? [String], arguments)
        XCTAssertTrue((summary["command"] as? String)?.hasPrefix("cotflow train --d 3") ?? false)
        XCTAssertEqual(summary["computation"] as? String, "train")
        let settings = try XCTUnwrap((summary["run"] as? [String: Any])?["config"] as? [String: Any])
        XCTAssertEqual(settings["learningRate"] as? Double, 0.01)
        XCTAssertEqual(settings["batchSize"] as? Int, 32)
        XCTAssertEqual(settings["initScale"] as? Double, 0.1)
        XCTAssertEqual(settings["heldOutSize"] as? Int, 64)
        XCTAssertEqual(settings["recordEvery"] as? Int, 10)
        XCTAssertEqual(settings["vRange"] as? [Double], [-0.2, -0.1])
        XCTAssertEqual(summary["eta_exact"] as? String, "3/4")
        XCTAssertEqual(summary["eta"] as? Double, 0.75)
        let parameters = try json(dir + "/parameters.json")
        for (key, value) in [("d", 3), ("n", 12), ("k", 2)] { XCTAssertEqual(parameters[key] as? Int, value, key) }
        XCTAssertEqual(parameters["eta_exact"] as? String, "3/4")

        let ode = temporaryDirectory()
        XCTAssertEqual(try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--rel-tol", "1e-9", "--out", ode]).status, 0)
        let odeRun = try XCTUnwrap(try json(ode + "/summary.json")["run"] as? [String: Any])
        let integration = try XCTUnwrap((odeRun["options"] as? [String: Any])?["ode"] as? [String: Any])
        XCTAssertEqual(integration["relativeTolerance"] as? Double, 1e-9)
        XCTAssertEqual(integration["absoluteTolerance"] as? Double, 1e-10)
        XCTAssertEqual(odeRun["initScale"] as? Double, 0.05)
        XCTAssertEqual(integration["stepper"] as? String, "auto")

        // The result reruns from its own summary.json, bit for bit.
        let rerun = try cotflow(["rerun", dir, "--json"])
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertEqual(rerun.json["reproduces"] as? Bool, true)
        XCTAssertEqual(Set(rerun.json["files"] as? [String] ?? []), ["initial_parameters.json", "parameters.json", "summary.json", "trajectory.csv"])
        // A changed result is caught.
        let trajectory = dir + "/trajectory.csv"
        let text = try String(contentsOfFile: trajectory, encoding: .utf8)
        try text.replacingOccurrences(of: "\n10,", with: "\n11,").write(toFile: trajectory, atomically: true, encoding: .utf8)
        let changed = try cotflow(["rerun", dir, "--out", temporaryDirectory()])
        XCTAssertEqual(changed.status, 1)
        XCTAssertTrue(changed.stdout.contains("DOES NOT REPRODUCE") && changed.stdout.contains("trajectory.csv, line 3"), changed.stdout)
        let none = try cotflow(["rerun", temporaryDirectory()])
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("summary.json: no such file"), none.stderr)
    }

    func testEvalLoadUsesTheTaskOfTheParameterFile() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "5", "--held-out", "32",
                                    "--batch-size", "16", "--quiet", "--out", dir]).status, 0)
        let plain = try cotflow(["eval", "--load", dir + "/parameters.json", "--prompts", "50", "--json"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.json["d"] as? Int, 3)
        XCTAssertEqual(plain.json["n"] as? Int, 12)
        XCTAssertEqual(plain.json["k"] as? Int, 2)
        XCTAssertEqual(plain.json["eta_exact"] as? String, "3/4")
        XCTAssertFalse(plain.stderr.contains("warning"), plain.stderr)
        let overridden = try cotflow(["eval", "--load", dir + "/parameters.json", "--prompts", "50", "--k", "4", "--json"])
        XCTAssertEqual(overridden.json["k"] as? Int, 4)
        XCTAssertTrue(overridden.stderr.contains("--k 4 overrides k = 2 recorded in"), overridden.stderr)
    }

    func testStagesReadsAPandasCSVWithIndexAndTextColumns() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--out", dir]).status, 0)
        // What pandas' df.assign(run="a, b").to_csv(path) writes: an unnamed index and a text column.
        let lines = try String(contentsOfFile: dir + "/trajectory.csv", encoding: .utf8).split(separator: "\n")
        var pandas = "," + lines[0] + ",run\n"
        for (i, line) in lines.dropFirst().enumerated() { pandas += "\(i),\(line),\"a, b\"\n" }
        let path = dir + "/pandas.csv"
        try pandas.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try cotflow(["stages", path, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual((run.json["stages"] as? [Any])?.isEmpty, false)
        XCTAssertNotNil(run.json["mechanistic_boundaries"] as? [String: Any], "eta from summary.json beside the file")
        let text = try cotflow(["stages", path, "--loss-column", "run"])
        XCTAssertNotEqual(text.status, 0)
        XCTAssertTrue(text.stderr.contains("column 'run' holds text"), text.stderr)
    }

    func testPlotOnODETrainAndEvalWritesLegendsAndReferenceLines() throws {
        let base = temporaryDirectory()
        let small = ["--d", "2", "--n", "8", "--k", "2"]
        for (command, extra) in [("ode", [String]()), ("train", ["--steps", "10", "--record-every", "5", "--held-out", "32", "--batch-size", "16", "--quiet"])] {
            let dir = base + "/" + command
            let run = try cotflow([command] + small + extra + ["--out", dir, "--plot"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let script = try String(contentsOfFile: dir + "/figure.gp", encoding: .utf8)
            XCTAssertTrue(script.contains("title 'construction: v = -eta = -0.727273'"), script)   // eta = 8/11
            XCTAssertTrue(script.contains("title 'construction: w = 1'"))
            XCTAssertTrue(script.contains("(d, n, k) = (2, 8, 2)"))
            XCTAssertTrue(script.contains("set key on"))
            let data = try String(contentsOfFile: dir + "/figure_data.csv", encoding: .utf8)
            XCTAssertTrue(data.hasPrefix("panel,panel_title,series,group,x,y,low,high\n"))
        }
        let train = try String(contentsOfFile: base + "/train/figure.gp", encoding: .utf8)
        XCTAssertTrue(train.contains("title 'v: eigenvalues of sym(V31)'"))
        XCTAssertTrue(train.contains("title 'construction: W24 = -1'"))
        let eval = try cotflow(["eval", "--construction"] + small + ["--prompts", "100", "--out", base + "/eval", "--plot"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let script = try String(contentsOfFile: base + "/eval/figure.gp", encoding: .utf8)
        XCTAssertTrue(script.contains("title 'transformer'") && script.contains("title 'GD chain'"))
        XCTAssertTrue(script.contains("title 'GD chain, exact mean ="))
        XCTAssertEqual(try cotflow(["ode"] + small + ["--plot"]).status, 64)
    }
}
