import Foundation
import XCTest

/// Long runs show progress on stderr (issue 24): the exact computations and the reduced flow's
/// phases, named, and --quiet or --json suppress it; a stiff reduced flow is refused by the time
/// limit with its stiffness in the estimate (issue 22). Rates are fixed by COTFLOW_MACHINE_RATES
/// and the progress delay is 0 (every phase's first line at once): nothing here is timed.
final class ProgressTests: XCTestCase {
    static let environment = ["COTFLOW_MACHINE_RATES": "flops=1e9,limbs=1e8,cores=1", "COTFLOW_PROGRESS_DELAY": "0"]

    private func progressLines(_ stderr: String, label: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix(label + " ") }
    }

    /// `exact cot-loss` at a large k names the moments' degree and the share of their work done;
    /// --quiet and --json suppress the lines and leave the result unchanged.
    func testExactCoTLossShowsItsMomentsProgress() throws {
        let arguments = ["exact", "cot-loss", "--d", "3", "--n", "10", "--k", "20", "--v", "-0.5", "--w", "0.5"]
        let shown = try Cotflow.run(arguments, timeout: 120, environment: Self.environment)
        XCTAssertEqual(shown.status, 0, shown.summary)
        let lines = progressLines(shown.stderr, label: "exact cot-loss")
        XCTAssertTrue(lines.contains { $0.contains("exact reduced loss: ") && $0.contains("/40 moment degrees (") && $0.contains("% of its work)") },
                      shown.stderr)
        XCTAssertTrue(lines.contains { $0.hasPrefix("exact cot-loss done: 40 moment degrees") }, shown.stderr)
        for flag in ["--quiet", "--json"] {
            let quiet = try Cotflow.run(arguments + [flag], timeout: 120, environment: Self.environment)
            XCTAssertEqual(quiet.status, 0, quiet.summary)
            XCTAssertEqual(quiet.stderr, "", "\(flag): \(quiet.stderr)")
            if flag == "--quiet" { XCTAssertEqual(quiet.stdout, shown.stdout) }
        }
    }

    /// `ode` (reduced) shows the flow's phase, the second of its estimate's, with the accepted
    /// steps against the estimated steps and the time reached.
    func testReducedFlowShowsItsPhases() throws {
        let arguments = ["ode", "--d", "3", "--n", "10", "--k", "10"]
        let shown = try Cotflow.run(arguments, timeout: 120, environment: Self.environment)
        XCTAssertEqual(shown.status, 0, shown.summary)
        let lines = progressLines(shown.stderr, label: "ode")
        XCTAssertTrue(lines.contains { $0.hasPrefix("ode reduced flow (phase 2 of 2): ") && $0.contains(" steps/s") && $0.contains("t = ") },
                      shown.stderr)
        XCTAssertTrue(lines.contains { $0.hasPrefix("ode done: 2 phases") }, shown.stderr)
        for flag in ["--quiet", "--json"] {
            let quiet = try Cotflow.run(arguments + [flag], timeout: 120, environment: Self.environment)
            XCTAssertEqual(quiet.status, 0, quiet.summary)
            XCTAssertTrue(progressLines(quiet.stderr, label: "ode").isEmpty, "\(flag): \(quiet.stderr)")
        }
    }

    /// The full-matrix flow's bar counts the steps the step model expects to t (not t / t_end)
    /// and says so.
    func testFullMatrixFlowCountsExpectedSteps() throws {
        let shown = try Cotflow.run(["ode", "--params", "full", "--d", "2", "--n", "10", "--k", "2", "--prompts", "32", "--t-end", "10"],
                                    timeout: 120, environment: Self.environment)
        XCTAssertEqual(shown.status, 0, shown.summary)
        let lines = progressLines(shown.stderr, label: "ode")
        XCTAssertTrue(lines.contains { $0.hasPrefix("ode full-matrix flow: ") && $0.contains("steps expected to t (") && $0.contains("% of its work)") && $0.contains("(t = ") && $0.contains(" of 10; step model") },
                      shown.stderr)
    }

    /// A stiff reduced flow (its loss at the start is about 1e18 per dimension: 10^5 steps and
    /// more) is refused by COTFLOW_TIME_LIMIT before any work, the estimate naming the stiff steps;
    /// before, its estimate was a fraction of a second and the run took over a minute.
    func testAStiffReducedFlowIsRefusedByTheTimeLimitWithItsEstimate() throws {
        let dir = Cotflow.temporaryDirectory() + "/out"
        let run = try Cotflow.run(["ode", "--d", "3", "--n", "10", "--k", "20", "--out", dir], timeout: 60,
                                  environment: Self.environment.merging(["COTFLOW_TIME_LIMIT": "30"]) { $1 })
        XCTAssertEqual(run.status, 64, run.summary)
        for word in ["the reduced flow at --d 3 --n 10 --k 20", "needs about", "most of it in reduced flow", "of them stiff: loss at the start",
                     "above the time limit", "COTFLOW_TIME_LIMIT="] {
            XCTAssertTrue(run.stderr.contains(word), "no '\(word)' in \(run.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "created --out")
    }
}
