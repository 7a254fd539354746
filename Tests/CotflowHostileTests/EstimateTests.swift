import Foundation
import XCTest

/// One estimate of every run (issues 22 and 24): `--estimate` prints it without running, the
/// work limit refuses beyond it with the estimate in the message, Slurm's --time comes from it,
/// and the progress display names every phase. Rates are fixed by COTFLOW_MACHINE_RATES, so the
/// times are deterministic (never timed).
final class EstimateTests: XCTestCase {
    static let rates = ["COTFLOW_MACHINE_RATES": "flops=1e9,limbs=1e8,cores=1"]

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// eval --k 1000000 (quadratic in k), ode --params full --t-end 1e9 (months) and a sweep whose
    /// points each fit but whose total does not: exit 64 before any work, the estimate and what
    /// would work in the message, and --out not created.
    func testRunsBeyondTheWorkLimitAreRefusedWithTheEstimate() throws {
        let cases: [(arguments: [String], environment: [String: String], words: [String])] = [
            (["eval", "--construction", "--k", "1000000"], [:], ["evaluation at --d 10 --n 40 --k 1000000", "1000000-step chain", "years", "lower --k"]),
            (["ode", "--params", "full", "--t-end", "1e9"], [:], ["full-matrix flow", "--t-end", "--max-steps", "days"]),
            (["sweep", "--job", "train", "--vary", "seed=0,1,2,3", "--d", "4", "--n", "10", "--k", "2", "--steps", "200"], ["COTFLOW_WORK_LIMIT": "5e8"],
             ["sweep shard 0/1 of 4 points", "--shard i/N"]),
        ]
        for c in cases {
            let dir = Cotflow.temporaryDirectory() + "/out"
            let run = try Cotflow.run(c.arguments + ["--out", dir], environment: Self.rates.merging(c.environment) { $1 })
            XCTAssertEqual(run.status, 64, "\(c.arguments): \(run.summary)")
            for word in c.words + ["needs about", "operations", "on this machine", "above the work limit", "--estimate", "COTFLOW_WORK_LIMIT="] {
                XCTAssertTrue(run.stderr.contains(word), "\(c.arguments): no '\(word)' in \(run.stderr)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "\(c.arguments) created --out")
        }
        // The same sweep split into shards fits: each shard is one point.
        let shard = try Cotflow.run(["sweep", "--job", "train", "--vary", "seed=0,1,2,3", "--d", "4", "--n", "10", "--k", "2", "--steps", "200",
                                     "--shard", "1/4", "--estimate", "--json"], environment: Self.rates.merging(["COTFLOW_WORK_LIMIT": "5e8"]) { $1 })
        XCTAssertEqual(shard.status, 0, shard.summary)
        XCTAssertEqual(try json(shard.stdout)["within_limit"] as? Bool, true, shard.stdout)
    }

    /// An evaluation whose GD chains overflow (here 4 of 2000 prompts at k = 3000) is refused
    /// from the chains alone, before the transformer's k-step chain runs (issue 22: `eval --k
    /// 10000` took 75 s, then failed on this overflow).
    func testAnEvaluationWhoseChainsOverflowIsRefusedBeforeTheTransformerRuns() throws {
        let dir = Cotflow.temporaryDirectory() + "/out"
        let run = try Cotflow.run(["eval", "--construction", "--k", "3000", "--prompts", "2000", "--out", dir], timeout: 120)
        XCTAssertEqual(run.status, 64, run.summary)
        XCTAssertTrue(run.stderr.contains("the GD chain's loss overflows double precision on 4 of 2000 prompts at k = 3000"), run.stderr)
        XCTAssertTrue(run.stderr.contains("before the transformer's 3000-step evaluation"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/summary.json"))
        // At k = 1000 no chain overflows: the evaluation runs and reports.
        let fine = try Cotflow.run(["eval", "--construction", "--k", "1000", "--prompts", "200"], timeout: 120)
        XCTAssertEqual(fine.status, 0, fine.summary)
    }

    /// `--estimate` on every command prints the estimate and exits 0 without running: no --out
    /// is created, even for a run the limit would refuse; `--json` gives the documented keys.
    func testEstimateRunsNothingAndCreatesNoOutput() throws {
        let commands: [[String]] = [
            ["train"], ["eval", "--construction", "--k", "1000000"], ["ode"], ["ode", "--params", "full", "--t-end", "1e9"],
            ["compare", "--full-flow"], ["sweep", "--vary", "k=2:4:3", "--d", "3", "--n", "10"],
        ]
        for arguments in commands {
            let dir = Cotflow.temporaryDirectory() + "/out"
            let text = try Cotflow.run(arguments + ["--estimate", "--out", dir], environment: Self.rates)
            XCTAssertEqual(text.status, 0, "\(arguments): \(text.summary)")
            XCTAssertTrue(text.stdout.hasPrefix("estimate of "), text.stdout)
            XCTAssertTrue(text.stdout.contains("(COTFLOW_MACHINE_RATES)"), text.stdout)
            let object = try Cotflow.run(arguments + ["--estimate", "--json", "--out", dir], environment: Self.rates)
            XCTAssertEqual(object.status, 0, "\(arguments): \(object.summary)")
            let j = try json(object.stdout)
            for key in ["estimate", "operations", "seconds", "work_limit", "within_limit", "phases", "rates"] { XCTAssertNotNil(j[key], "\(arguments): \(key)") }
            let phases = try XCTUnwrap(j["phases"] as? [[String: Any]])
            let sum = phases.compactMap { $0["operations"] as? Double }.reduce(0, +)
            XCTAssertEqual(sum, try XCTUnwrap(j["operations"] as? Double), accuracy: 1e-9 * sum, "\(arguments)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "\(arguments) --estimate created --out")
        }
        for arguments in [["exact", "cot-loss", "--k", "20", "--v=-0.5", "--w", "1"], ["exact", "moment", "--powers", "2,3"], ["exact", "nocot-optimum"]] {
            let run = try Cotflow.run(arguments + ["--estimate", "--json"], environment: Self.rates)
            XCTAssertEqual(run.status, 0, "\(arguments): \(run.summary)")
            XCTAssertNotNil(try json(run.stdout)["phases"], "\(arguments)")
        }
    }

    /// `--emit-sbatch` writes `#SBATCH --time` as 3 x the largest shard's estimate on
    /// --cpus-per-task cores plus 10 minutes, the estimate `sweep --estimate --shard i/N` prints.
    func testSbatchTimeComesFromTheShardEstimates() throws {
        let dir = Cotflow.temporaryDirectory(), script = Cotflow.temporaryPath("sweep.sbatch")
        let sweep = ["sweep", "--job", "train", "--vary", "steps=100,400,800", "--d", "3", "--n", "10", "--k", "2"]
        let emitted = try Cotflow.run(sweep + ["--out", dir, "--emit-sbatch", script, "--shards", "2", "--cpus-per-task", "1"], environment: Self.rates)
        XCTAssertEqual(emitted.status, 0, emitted.summary)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        var largest = 0.0
        for i in 0..<2 {
            let run = try Cotflow.run(sweep + ["--shard", "\(i)/2", "--estimate", "--json"], environment: Self.rates)
            XCTAssertEqual(run.status, 0, run.summary)
            largest = max(largest, try XCTUnwrap(try json(run.stdout)["seconds"] as? Double))
        }
        let limit = Int((3 * largest + 600).rounded(.up))
        let expected = String(format: "#SBATCH --time=%d-%02d:%02d:%02d", limit / 86400, (limit % 86400) / 3600, (limit % 3600) / 60, limit % 60)
        XCTAssertTrue(text.contains(expected + "\n"), "no '\(expected)' in\n\(text)")
        XCTAssertTrue(text.contains("# --time: 3 x the largest shard's estimate"), text)
    }

    /// Every phase of a long run is in the progress display: compare's training, reduced flow
    /// and full-matrix flow, and the Hessian's columns and eigensystem, each named with its place.
    func testProgressNamesEveryPhase() throws {
        let environment = Self.rates.merging(["COTFLOW_PROGRESS_DELAY": "0"]) { $1 }
        let compare = try Cotflow.run(["compare", "--d", "2", "--n", "10", "--k", "2", "--steps", "40", "--record-every", "10", "--held-out", "64",
                                       "--full-flow", "--prompts", "64"], timeout: 120, environment: environment)
        XCTAssertEqual(compare.status, 0, compare.summary)
        for phase in ["training (reduced)", "reduced flow", "full-matrix flow", "first correction"] {
            XCTAssertTrue(compare.stderr.contains("compare \(phase) (phase "), "no phase '\(phase)' in\n\(compare.stderr)")
        }
        let dir = Cotflow.temporaryDirectory()
        let train = try Cotflow.run(["train", "--d", "2", "--n", "10", "--k", "2", "--steps", "5", "--quiet", "--out", dir], environment: Self.rates)
        XCTAssertEqual(train.status, 0, train.summary)
        let hessian = try Cotflow.run(["hessian", "--load", dir + "/parameters.json", "--d", "2", "--n", "10", "--k", "2", "--prompts", "20",
                                       "--batches", "2", "--batch-size", "8"], timeout: 120, environment: environment)
        XCTAssertEqual(hessian.status, 0, hessian.summary)
        for phase in ["gradient noise", "Hessian columns", "eigensystem"] {
            XCTAssertTrue(hessian.stderr.contains("hessian \(phase) (phase"), "no phase '\(phase)' in\n\(hessian.stderr)")
        }
    }
}
