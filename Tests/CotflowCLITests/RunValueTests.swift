@testable import CotflowModel
import CotflowCore
@testable import CotflowModel
import Foundation
import XCTest

/// summary.json is the encoding of (provenance, run, result): it decodes into the library's types
/// and encodes back to the same bytes; rerun solves the decoded run in-process from anywhere;
/// negative values parse as option values; the full-matrix flow takes the tolerances it is given.
extension CLITests {
    private func summaryJSON(_ dir: String) throws -> JSONValue {
        try JSONReader.parse(String(contentsOfFile: dir + "/summary.json", encoding: .utf8))
    }

    func testTrainAndODESummariesDecodeIntoTheLibraryTypesAndEncodeBackUnchanged() throws {
        let train = temporaryDirectory(), ode = temporaryDirectory()
        XCTAssertEqual(try cotflow(["train", "--d", "2", "--n", "8", "--k", "2", "--steps", "10", "--record-every", "5", "--batch-size", "16",
                                    "--held-out", "32", "--curriculum", "--clip-norm", "2", "--quiet", "--out", train]).status, 0)
        XCTAssertEqual(try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--w24", "free", "--out", ode]).status, 0)

        let trainJSON = try summaryJSON(train)
        let trained = try RunSummary<TrainingRun, TrainingMetrics>(json: trainJSON)
        XCTAssertEqual(trained.run.config.batchSize, 16)
        XCTAssertEqual(trained.run.config.clipNorm, 2)
        XCTAssertEqual(trained.run.config.curriculum, Curriculum())
        XCTAssertEqual(trained.run.eta.description, "8/11")
        XCTAssertEqual(trained.result.status, .completed)
        XCTAssertEqual(try trained.json().rendered(), trainJSON.rendered())

        let odeJSON = try summaryJSON(ode)
        let flowed = try RunSummary<ReducedFlowRun, ReducedFlowMetrics>(json: odeJSON)
        XCTAssertEqual(flowed.run.w24, .free(initial: -1))
        XCTAssertTrue(flowed.result.converged)
        XCTAssertNotNil(flowed.result.familyMember)
        XCTAssertEqual(try flowed.json().rendered(), odeJSON.rendered())
        // A train summary is not an ode run.
        XCTAssertThrowsError(try RunSummary<ReducedFlowRun, ReducedFlowMetrics>(json: trainJSON))
    }

    func testRerunSolvesTheRecordedRunInProcessFromAnotherDirectory() throws {
        let dir = temporaryDirectory(), elsewhere = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        XCTAssertEqual(try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--v", "-0.1,-0.2", "--w", "0.1,0.2", "--out", dir]).status, 0)
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(elsewhere)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let rerun = try cotflow(["rerun", dir, "--json"])
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertEqual(rerun.json["reproduces"] as? Bool, true)
        XCTAssertEqual(Set(rerun.json["files"] as? [String] ?? []), ["summary.json", "trajectory.csv"])
        XCTAssertTrue(rerun.stderr.contains("the recorded ode run"), rerun.stderr)

        // A summary that records `rerun` is refused, never run again.
        let forged = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: forged, withIntermediateDirectories: true)
        var json = try summaryJSON(dir)
        guard case .object(var pairs) = json else { return XCTFail("not an object") }
        pairs = pairs.map { $0.0 == "arguments" ? ("arguments", .array([.string("rerun"), .string(dir)])) : $0 }
        json = .object(pairs)
        try json.rendered().write(toFile: forged + "/summary.json", atomically: true, encoding: .utf8)
        let refused = try cotflow(["rerun", forged])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("records a rerun"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: forged + "/rerun"))
    }

    func testNegativeValuesParseThroughArgumentParser() throws {
        // Spaced negative values: `parsing: .unconditional`, no rewriting of the argument list.
        let run = try cotflow(["ode", "--d", "2", "--n", "8", "--k", "2", "--v", "-0.5,-0.25", "--w", "0.5,0.25", "--v-range", "-0.1,-0.05",
                               "--w24-initial", "-2", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.json["v0"] as? [Double], [-0.5, -0.25])
        XCTAssertEqual(run.json["w24_initial"] as? Double, -2)
        let recorded = try XCTUnwrap(run.json["run"] as? [String: Any])
        XCTAssertEqual(recorded["vRange"] as? [Double], [-0.1, -0.05])
        XCTAssertEqual(run.json["arguments"] as? [String], ["ode", "--d", "2", "--n", "8", "--k", "2", "--v", "-0.5,-0.25", "--w", "0.5,0.25",
                                                            "--v-range", "-0.1,-0.05", "--w24-initial", "-2", "--json"])
    }

    func testFullMatrixFlowRunsAtTheTolerancesGiven() throws {
        // 1e-10 and 1e-8 are the reduced flow's defaults: given, they are not taken for "not given".
        let given = try cotflow(["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "32",
                                 "--abs-tol", "1e-10", "--rel-tol", "1e-8", "--t-end", "1e6", "--stop-loss", "0.5", "--quiet", "--json"])
        XCTAssertEqual(given.status, 0, given.stderr)
        XCTAssertEqual(given.json["abs_tol"] as? Double, 1e-10)
        XCTAssertEqual(given.json["rel_tol"] as? Double, 1e-8)
        let options = try XCTUnwrap((given.json["run"] as? [String: Any])?["options"] as? [String: Any])
        let ode = options["ode"] as? [String: Any]
        XCTAssertEqual(ode?["endTime"] as? Double, 1e6)
        XCTAssertEqual(ode?["absoluteTolerance"] as? Double, 1e-10)
        // Not given: the full-matrix flow's own defaults.
        let defaults = try cotflow(["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "32", "--stop-loss", "0.5", "--quiet", "--json"])
        XCTAssertEqual(defaults.json["abs_tol"] as? Double, 1e-8)
        XCTAssertEqual(defaults.json["rel_tol"] as? Double, 1e-6)
        let recorded = ((defaults.json["run"] as? [String: Any])?["options"] as? [String: Any])?["ode"] as? [String: Any]
        XCTAssertEqual(recorded?["endTime"] as? Double, 10)
    }
}
