import Foundation
import XCTest

/// Issue 22: bad input exits 64 with a message naming it; extreme but valid values never trap.
final class InputExitCodeTests: XCTestCase {
    private func write(_ text: String, _ name: String) throws -> String {
        let dir = Cotflow.temporaryDirectory()
        let path = (dir as NSString).appendingPathComponent(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testStagesOnTimesNearTheRangeOfADouble() throws {
        for scale in ["1e150", "1e155"] {
            let rows = (1...40).map { i in "\(i)\(scale.dropFirst()),\(exp(-0.2 * Double(i)))" }
            let file = try write("t,loss\n" + rows.joined(separator: "\n") + "\n", "huge.csv")
            let run = try Cotflow.run(["stages", file])
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 0, run.summary)
            XCTAssertNil(Cotflow.nonFiniteInReport(run.stdout), run.stdout)
            XCTAssertFalse(run.stdout.contains("stall"), "a loss that falls throughout has no stall: \(run.stdout)")
        }
    }

    func testRefusedInputsExit64NamingWhatIsWrong() throws {
        let asymmetric = try write("[[1, 0.5], [0.25, 1]]", "asymmetric.json")
        let covariance = try Cotflow.run(["eval", "--construction", "--d", "2", "--n", "4", "--k", "2", "--prompts", "10", "--covariance", asymmetric])
        XCTAssertEqual(covariance.status, 64, covariance.summary)
        XCTAssertTrue(covariance.stderr.contains(asymmetric) && covariance.stderr.contains("not symmetric"), covariance.stderr)
        // The task's other refusals of a covariance name the file too (they said "task: the covariance is ...").
        for (matrix, reason) in [("[[1, 2], [2, 1]]", "not positive definite"), ("[[1, 1], [1, 1]]", "condition number")] {
            let file = try write(matrix, "covariance.json")
            let run = try Cotflow.run(["eval", "--construction", "--d", "2", "--n", "4", "--k", "2", "--prompts", "10", "--covariance", file])
            XCTAssertEqual(run.status, 64, run.summary)
            XCTAssertTrue(run.stderr.contains("covariance file \(file): the covariance") && run.stderr.contains(reason), run.stderr)
        }

        let compare = try Cotflow.run(["compare", "--d", "2", "--n", "6", "--k", "2", "--steps", "3", "--record-every", "1", "--quiet"])
        XCTAssertEqual(compare.status, 64, compare.summary)
        XCTAssertTrue(compare.stderr.contains("--record-every"), compare.stderr)

        let missing = try Cotflow.run(["merge", "/nonexistent/cotflow-sweep"])
        XCTAssertEqual(missing.status, 64, missing.summary)

        // Two shards, then a merge whose figure metric does not exist: refused before any file is written.
        let dir = Cotflow.temporaryDirectory()
        for shard in ["0/2", "1/2"] {
            let run = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--points", "20", "--quiet", "--out", dir, "--shard", shard])
            XCTAssertEqual(run.status, 0, run.summary)
        }
        let bogus = try Cotflow.run(["merge", dir, "--plot", "--plot-metric", "bogus"])
        XCTAssertEqual(bogus.status, 64, bogus.summary)
        XCTAssertTrue(bogus.stderr.contains("bogus"), bogus.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("sweep.tsv")))
        // A tampered shard is bad input too.
        let shard = (dir as NSString).appendingPathComponent("shard-0-of-2.json")
        let text = try String(contentsOfFile: shard, encoding: .utf8)
        try text.replacingOccurrences(of: "\"status\": \"ok\"", with: "\"status\": 7").write(toFile: shard, atomically: true, encoding: .utf8)
        let tampered = try Cotflow.run(["merge", dir])
        XCTAssertEqual(tampered.status, 64, tampered.summary)
        XCTAssertTrue(tampered.stderr.contains("shard-0-of-2.json"), tampered.stderr)
    }

    /// Tolerances below round-off made the steps shrink without end (`--abs-tol 1e-300 --rel-tol
    /// 1e-300` crawled to t = 1e-279 in a minute): refused before any work, for every flow.
    func testToleranceBelowRoundOffIsRefusedNotIntegratedForever() throws {
        for arguments in [["ode", "--d", "3", "--n", "10", "--k", "2", "--abs-tol", "1e-300", "--rel-tol", "1e-300"],
                          ["ode", "--params", "full", "--d", "2", "--n", "6", "--k", "2", "--prompts", "8", "--rel-tol", "0", "--abs-tol", "1e-20"],
                          ["sweep", "--d", "2", "--n", "6", "--vary", "k=1:2:2", "--rel-tol", "1e-15", "--abs-tol", "1e-15", "--out", Cotflow.temporaryDirectory() + "/s"]] {
            let run = try Cotflow.run(arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.summary)")
            XCTAssertTrue(run.stderr.contains("--rel-tol 1e-12 or more"), run.stderr)
        }
        // At the edge, one tolerance of 1e-14 with the other zero is a valid request.
        let edge = try Cotflow.run(["ode", "--d", "2", "--n", "6", "--k", "2", "--rel-tol", "0", "--abs-tol", "1e-14", "--t-end", "1", "--quiet"])
        XCTAssertEqual(edge.status, 0, edge.summary)
    }

    /// `--min-step 1e308` failed the run (1) after its directory was made: no step fits the span.
    func testASmallestStepBeyondTheSpanIsRefused() throws {
        let out = Cotflow.temporaryPath("min-step")
        let run = try Cotflow.run(["ode", "--d", "3", "--n", "10", "--k", "2", "--min-step", "1e308", "--out", out])
        XCTAssertEqual(run.status, 64, run.summary)
        XCTAssertTrue(run.stderr.contains("--min-step must be below --t-end"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// A parameter file whose step sizes were edited (eta_exact against eta, a negative eta_exact)
    /// is refused by every command that loads one; hessian ran on with the file's task unread.
    func testAParameterFileWithEditedStepSizesIsRefusedByEvalAndHessian() throws {
        let dir = Cotflow.temporaryDirectory()
        let trained = try Cotflow.run(["train", "--d", "2", "--n", "6", "--k", "2", "--steps", "2", "--batch-size", "8", "--held-out", "16", "--quiet", "--out", dir + "/t"])
        XCTAssertEqual(trained.status, 0, trained.summary)
        let original = try String(contentsOfFile: dir + "/t/parameters.json", encoding: .utf8)
        XCTAssertTrue(original.contains("\"eta_exact\": \"2/3\""), original)
        for (edited, says) in [("\"eta_exact\": \"5/7\"", "disagree"), ("\"eta_exact\": \"-1\"", "not a positive number")] {
            let file = try write(original.replacingOccurrences(of: "\"eta_exact\": \"2/3\"", with: edited), "edited.json")
            for arguments in [["eval", "--load", file, "--prompts", "16"],
                              ["hessian", "--load", file, "--d", "2", "--n", "6", "--k", "2", "--prompts", "8"]] {
                let run = try Cotflow.run(arguments)
                XCTAssertEqual(run.status, 64, "\(edited) \(arguments[0]): \(run.summary)")
                XCTAssertTrue(run.stderr.contains(file) && run.stderr.contains(says), run.stderr)
            }
        }
    }

    func testAFigureWithFewFileDescriptorsLeftSaysWhyNotATrap() throws {
        // Foundation's Process.run trapped (signal 4) with 11 or fewer descriptors.
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--quiet", "--plot", "--out", dir], limits: "ulimit -n 10")
        XCTAssertFalse(run.signaled, run.summary)
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertTrue(run.stderr.contains("cannot start gnuplot") && run.stderr.contains("too few file descriptors left"), run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("figure.gp")), "the data and script are written")
    }

    func testACSVWithAByteOrderMarkReadsItsFirstColumn() throws {
        let rows = (0..<20).map { "\($0),\(exp(-0.3 * Double($0)))" }
        let file = try write("\u{FEFF}t,loss\n" + rows.joined(separator: "\n") + "\n", "bom.csv")
        let run = try Cotflow.run(["stages", file])
        XCTAssertEqual(run.status, 0, run.summary)
    }

    func testSweepFitsNeverReportAnInfiniteAICcDifference() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["sweep", "--vary", "k=1:6:6", "--d", "3", "--n", "10", "--points", "50", "--quiet", "--out", dir], timeout: 120)
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertNil(Cotflow.nonFiniteInReport(run.stdout), run.stdout)
        let report = try String(contentsOfFile: (dir as NSString).appendingPathComponent("report.txt"), encoding: .utf8)
        XCTAssertNil(Cotflow.nonFiniteInReport(report), report)
    }
}
