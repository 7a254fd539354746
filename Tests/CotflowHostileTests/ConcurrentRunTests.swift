import Foundation
import XCTest

/// Issue 22: two runs into one directory, --force and figure files, planted symlinks, one signal
/// policy (SIGHUP, SIGPIPE, SIGTERM in a flow phase) and a lost stdout.
final class ConcurrentRunTests: XCTestCase {
    private func json(_ path: String) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    private func file(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// What a run started while another held the directory saw.
    final class Box: @unchecked Sendable { var run: Cotflow.Run?; var pid: Int32 = 0 }

    private static let longTraining = ["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "100000000", "--record-every", "10",
                                       "--batch-size", "64", "--held-out", "64", "--quiet"]

    func testSecondRunIntoALockedDirectoryIsRefusedNamingTheHolder() throws {
        let dir = Cotflow.temporaryDirectory()
        let second = Box()
        // The second run is another command with other files: only the lock can refuse it.
        let first = try Cotflow.signalled(Self.longTraining + ["--out", dir], signal: SIGTERM, phase: "training") { pid in
            second.pid = pid
            second.run = try? Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--quiet", "--out", dir, "--force"])
        }
        XCTAssertEqual(first.status, 1, first.summary)
        XCTAssertEqual(json(file(dir, "summary.json"))["status"] as? String, "interrupted")
        let refused = try XCTUnwrap(second.run)
        XCTAssertEqual(refused.status, 64, refused.summary)
        XCTAssertTrue(refused.stderr.contains("in use by another cotflow run (pid \(second.pid))"), refused.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "initial_parameters.json")), "the holder's files are its own")
        // Once the holder has ended, the directory is free again.
        let after = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--quiet", "--out", dir, "--force"])
        XCTAssertEqual(after.status, 0, after.summary)
    }

    func testTwoResumedSweepsOnOneDirectoryAreRefused() throws {
        let dir = Cotflow.temporaryDirectory()
        let args = ["sweep", "--vary", "seed=0:400:401", "--d", "2", "--n", "6", "--k", "2", "--points", "10000", "--stepper", "rkf45",
                    "--jobs", "1", "--quiet", "--out", dir, "--resume"]
        let second = Box()
        let first = try Cotflow.signalled(args, signal: SIGINT, phase: "sweep") { _ in second.run = try? Cotflow.run(args) }
        XCTAssertEqual(first.status, 1, first.summary)
        let refused = try XCTUnwrap(second.run)
        XCTAssertEqual(refused.status, 64, refused.summary)
        XCTAssertTrue(refused.stderr.contains("in use by another cotflow run (pid"), refused.stderr)
        XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
    }

    func testShardsOfOneSweepShareADirectory() throws {
        // Shard 0/2 holds the directory (signalled at its first point); shard 1/2 runs beside it.
        let dir = Cotflow.temporaryDirectory()
        let sweep = ["sweep", "--vary", "seed=0:200:201", "--d", "2", "--n", "6", "--k", "2", "--points", "10000", "--stepper", "rkf45",
                     "--jobs", "1", "--quiet", "--out", dir]
        let other = Box()
        let first = try Cotflow.signalled(sweep + ["--shard", "0/2"], signal: SIGINT, phase: "sweep") { _ in
            other.run = try? Cotflow.run(sweep + ["--shard", "1/2"], timeout: 120)
        }
        XCTAssertTrue([0, 1].contains(first.status) && !first.signaled, first.summary)
        let beside = try XCTUnwrap(other.run)
        XCTAssertEqual(beside.status, 0, beside.summary)
        // Once it has ended, its shard resumes in the same directory with every point kept.
        let again = try Cotflow.run(sweep + ["--shard", "1/2", "--resume"])
        XCTAssertEqual(again.status, 0, again.summary)
        XCTAssertTrue(again.stdout.contains("100 kept from an earlier run"), again.stdout)
    }

    func testForceRemovesTheFiguresOfTheEarlierRun() throws {
        let dir = Cotflow.temporaryDirectory()
        let plotted = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--quiet", "--plot", "--out", dir])
        XCTAssertEqual(plotted.status, 0, plotted.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "figure.gp")))
        let forced = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--seed", "3", "--quiet", "--force", "--out", dir])
        XCTAssertEqual(forced.status, 0, forced.summary)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("figure") }
        XCTAssertEqual(left, [], "the earlier run's figure files are removed by --force")
    }

    func testWritersNeverFollowASymlinkPlantedAtTheirTemporaryFile() throws {
        let dir = Cotflow.temporaryDirectory()
        let victim = Cotflow.temporaryPath("victim")
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        // The old writer's temporary name was `.NAME.tmp-<pid>`: the shell plants links for its own
        // pid, which the exec'd cotflow keeps.
        let names = ["run.sbatch", "sweep-description.json"]
        let plant = names.map { "ln -s \(victim) \(dir)/.\($0).tmp-$$" }.joined(separator: " && ")
        let run = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--out", dir, "--emit-sbatch", file(dir, "run.sbatch")],
                                  limits: plant)
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: victim)
        XCTAssertEqual(((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0) & 0o111, 0, "the victim is not made executable")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file(dir, "run.sbatch"))[.type] as? FileAttributeType, .typeRegular)
        XCTAssertTrue(try String(contentsOfFile: file(dir, "run.sbatch"), encoding: .utf8).hasPrefix("#!"))
    }

    func testSIGHUPStopsTrainingAndWritesWhatWasComputed() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.signalled(Self.longTraining + ["--out", dir], signal: SIGHUP, phase: "training")
        XCTAssertFalse(run.signaled, run.summary)
        XCTAssertEqual(run.status, 1, run.summary)
        let summary = json(file(dir, "summary.json"))
        XCTAssertEqual(summary["status"] as? String, "interrupted")
        XCTAssertEqual(summary["signal"] as? String, "SIGHUP")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "trajectory.csv")))
        XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
    }

    func testAClosedProgressStreamNeverKillsARun() throws {
        // The progress bar is first written 2 s into a run (about 3 s of training here on an idle
        // machine): it then meets the closed pipe, which raised SIGPIPE before.
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "25000", "--record-every", "1000",
                                   "--batch-size", "64", "--held-out", "64", "--out", dir], timeout: 120, closedStderr: true)
        XCTAssertFalse(run.signaled, run.summary)
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertEqual(json(file(dir, "summary.json"))["status"] as? String, "completed")
    }

    func testSIGTERMDuringTheFullMatrixFlowOfCompareStopsIt() throws {
        let dir = Cotflow.temporaryDirectory()
        // --init random: no reduced flow, so the first flow polled is the full-matrix flow.
        let run = try Cotflow.signalled(["compare", "--init", "random", "--params", "full", "--full-flow", "--d", "3", "--n", "12", "--k", "2",
                                         "--steps", "400", "--record-every", "4", "--learning-rate", "0.05", "--batch-size", "64",
                                         "--held-out", "64", "--prompts", "65536", "--quiet", "--out", dir], signal: SIGTERM, phase: "flow")
        XCTAssertFalse(run.signaled, run.summary)
        XCTAssertEqual(run.status, 1, run.summary)
        XCTAssertTrue(run.stderr.contains("during the full-matrix flow"), run.stderr)
        let summary = json(file(dir, "summary.json"))
        XCTAssertEqual(summary["status"] as? String, "interrupted")
        XCTAssertEqual(summary["signal"] as? String, "SIGTERM")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "train_full_trajectory.csv")))
    }

    func testALostStandardOutputFailsTheRun() throws {
        let full = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--quiet", "--json"], stdoutPath: "/dev/full")
        XCTAssertEqual(full.status, 1, full.summary)
        XCTAssertTrue(full.stderr.contains("standard output") && full.stderr.contains("No space left"), full.stderr)
    }
}
