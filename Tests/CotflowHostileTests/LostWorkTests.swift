import Foundation
import XCTest

/// No finished work is lost: another run's files are not overwritten without --force, a rerun
/// shard keeps its points, outputs are checked writable before work, and SIGINT/SIGTERM or a
/// divergence writes what was computed with the status in summary.json.
final class LostWorkTests: XCTestCase {
    private func json(_ path: String) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    private func file(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    func testOutIntoAnotherRunsDirectoryIsRefusedUnlessForce() throws {
        let dir = Cotflow.temporaryDirectory()
        let first = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--seed", "1", "--quiet", "--out", dir])
        XCTAssertEqual(first.status, 0, first.summary)
        let before = try String(contentsOfFile: file(dir, "trajectory.csv"), encoding: .utf8)
        let again = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--seed", "2", "--quiet", "--out", dir])
        XCTAssertEqual(again.status, 64, again.summary)
        XCTAssertTrue(again.stderr.contains("--force") && again.stderr.contains(dir), again.stderr)
        XCTAssertEqual(try String(contentsOfFile: file(dir, "trajectory.csv"), encoding: .utf8), before)
        // Another command's outputs in the same directory are other files too.
        let train = try Cotflow.run(["train", "--d", "2", "--n", "4", "--k", "2", "--steps", "2", "--record-every", "1",
                                     "--batch-size", "8", "--held-out", "8", "--quiet", "--out", dir])
        XCTAssertEqual(train.status, 64, train.summary)
        let forced = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--seed", "2", "--quiet", "--force", "--out", dir])
        XCTAssertEqual(forced.status, 0, forced.summary)
        XCTAssertNotEqual(try String(contentsOfFile: file(dir, "trajectory.csv"), encoding: .utf8), before)
        XCTAssertEqual(json(file(dir, "summary.json"))["seed"] as? Int, 2)
    }

    func testUnwritableOutFailsBeforeAnyWork() throws {
        let blocker = Cotflow.temporaryPath("file")
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        // A training run that would take minutes: the refusal must come first, without training.
        let started = Date()
        let run = try Cotflow.run(["train", "--d", "8", "--n", "32", "--steps", "1000000", "--out", blocker + "/sub"], timeout: 60)
        XCTAssertEqual(run.status, 64, run.summary)
        XCTAssertTrue(run.stderr.contains(blocker), run.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "the check must come before training")
    }

    func testRerunShardWithoutResumeKeepsFinishedPoints() throws {
        let dir = Cotflow.temporaryDirectory()
        let args = ["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--points", "20", "--quiet", "--out", dir]
        XCTAssertEqual(try Cotflow.run(args).status, 0)
        let shard = file(dir, "shard-0-of-1.json")
        let before = try String(contentsOfFile: shard, encoding: .utf8)
        let rerun = try Cotflow.run(args)
        XCTAssertEqual(rerun.status, 64, rerun.summary)
        XCTAssertTrue(rerun.stderr.contains("--resume"), rerun.stderr)
        XCTAssertEqual(try String(contentsOfFile: shard, encoding: .utf8), before)
        let resumed = try Cotflow.run(args + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.summary)
        XCTAssertTrue(resumed.stdout.contains("2 kept from an earlier run"), resumed.stdout)
    }

    func testSignalsToTrainWriteWhatWasComputed() throws {
        for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            let dir = Cotflow.temporaryDirectory()
            let run = try Cotflow.signalled(["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "100000000", "--record-every", "10",
                                       "--batch-size", "64", "--held-out", "64", "--quiet", "--out", dir], signal: signal, phase: "training")
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 1, run.summary)
            let summary = json(file(dir, "summary.json"))
            XCTAssertEqual(summary["status"] as? String, "interrupted", run.summary)
            XCTAssertEqual(summary["signal"] as? String, name)
            let step = try XCTUnwrap(summary["interrupted_at_step"] as? Int)
            XCTAssertGreaterThanOrEqual(step, 0)
            let rows = try String(contentsOfFile: file(dir, "trajectory.csv"), encoding: .utf8).split(separator: "\n")
            XCTAssertGreaterThanOrEqual(rows.count, 2)
            XCTAssertEqual(rows.last!.split(separator: ",").first.flatMap { Double($0) }, Double(step), "the last record is the step of the interruption")
            XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "parameters.json")))
            XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
        }
    }

    func testSignalToCompareWritesTheTrainingSoFar() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.signalled(["compare", "--d", "3", "--n", "12", "--k", "2", "--steps", "100000000", "--record-every", "10",
                                   "--batch-size", "64", "--held-out", "64", "--quiet", "--out", dir], signal: SIGTERM, phase: "training")
        XCTAssertEqual(run.status, 1, run.summary)
        let summary = json(file(dir, "summary.json"))
        XCTAssertEqual(summary["status"] as? String, "interrupted", run.summary)
        XCTAssertNotNil(summary["interrupted_at_step"] as? Int)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "train_reduced_trajectory.csv")))
        XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
    }

    func testSignalToSweepKeepsFinishedPointsAndResumes() throws {
        // --jobs 1 runs the points on this thread, --jobs 2 on two threads: both stop between points.
        for jobs in ["1", "2"] {
            let dir = Cotflow.temporaryDirectory()
            // 10000 output points per flow, each landed on by rkf45: the optimised build runs these 401
            // flows in about 6 s of one core (tsit5 interpolates them: 3 s, which could finish first).
            let args = ["sweep", "--vary", "seed=0:400:401", "--d", "2", "--n", "6", "--k", "2", "--points", "10000", "--stepper", "rkf45",
                        "--quiet", "--out", dir]
            // Signalled once a point is in the shard file ("done" >= 1): the run says so by writing it.
            let shardFile = file(dir, "shard-0-of-1.json")
            let run = try Cotflow.signalled(args + ["--jobs", jobs], signal: SIGINT, phase: "sweep") { _ in
                func done() -> Int {
                    guard let data = FileManager.default.contents(atPath: shardFile),
                          let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return 0 }
                    return object["done"] as? Int ?? 0
                }
                let deadline = Date().addingTimeInterval(120)
                while done() < 1, Date() < deadline { usleep(5000) }
            }
            XCTAssertEqual(run.status, 1, run.summary)
            XCTAssertTrue(run.stderr.contains("SIGINT"), run.stderr)
            let shard = json(file(dir, "shard-0-of-1.json"))
            XCTAssertEqual(shard["complete"] as? Bool, false, run.summary)
            let kept = (shard["records"] as? [Any])?.count ?? 0
            XCTAssertGreaterThan(kept, 0, "points finished before the signal are kept")
            let summary = json(file(dir, "summary.json"))
            XCTAssertEqual(summary["status"] as? String, "interrupted")
            XCTAssertEqual(summary["finished_points"] as? Int, kept)
            XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
            let resumed = try Cotflow.run(args + ["--resume"], timeout: 300)
            XCTAssertEqual(resumed.status, 0, resumed.summary)
            XCTAssertTrue(resumed.stdout.contains("\(kept) kept from an earlier run"), resumed.stdout)
        }
    }

    func testDivergenceWritesTrajectoryWithStatusAndStep() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["train", "--d", "2", "--n", "4", "--k", "2", "--steps", "20", "--record-every", "1", "--optimizer", "sgd",
                                   "--learning-rate", "1e200", "--batch-size", "8", "--held-out", "8", "--quiet", "--out", dir])
        XCTAssertEqual(run.status, 1, run.summary)
        let summary = json(file(dir, "summary.json"))
        XCTAssertEqual(summary["status"] as? String, "diverged")
        XCTAssertNotNil(summary["diverged_at_step"] as? Int)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "trajectory.csv")))

        let cdir = Cotflow.temporaryDirectory()
        let compare = try Cotflow.run(["compare", "--d", "2", "--n", "6", "--k", "2", "--steps", "20", "--record-every", "2",
                                       "--learning-rate", "1e200", "--batch-size", "8", "--held-out", "8", "--quiet", "--out", cdir])
        XCTAssertEqual(compare.status, 1, compare.summary)
        let csummary = json(file(cdir, "summary.json"))
        XCTAssertEqual(csummary["status"] as? String, "diverged", compare.summary)
        XCTAssertNotNil(csummary["diverged_at_step"] as? Int)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(cdir, "train_reduced_trajectory.csv")))
    }
}
