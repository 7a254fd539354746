import Foundation
import XCTest

/// Issue 22, done-when item 2: the third hostile run (process limits, signals, concurrent runs, file
/// systems) with other values and phases than the second. Each test is a finding of that run
/// (notes/reliability.md, "Hostile run (third pass)"): it failed on 17ed2ed, before its fix.
final class HostileRunThirdPassLimitsTests: XCTestCase {
    private func file(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    private func json(_ path: String) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// What a run started while another ran saw.
    final class Box: @unchecked Sendable { var run: Cotflow.Run?; var pid: Int32 = 0 }

    private static let longTraining = ["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "100000000", "--record-every", "10",
                                       "--batch-size", "64", "--held-out", "64", "--quiet"]

    /// summary.json ("status": "completed") was written before per_prompt.csv (eval) and
    /// parameters.json (train): a write that failed after it (a full device, `ulimit -f`) or a kill
    /// left a summary of a completed run whose files were missing. The summary is written last.
    func testAFailedWriteLeavesNoSummaryOfFilesThatAreMissing() throws {
        for (arguments, limit, failed) in [(["eval", "--construction", "--d", "3", "--n", "10", "--k", "2", "--prompts", "2000", "--quiet"], 4, "per_prompt.csv"),
                                           (["train", "--d", "3", "--n", "10", "--k", "2", "--steps", "100", "--quiet"], 3, "parameters.json")] {
            let dir = Cotflow.temporaryDirectory()
            let run = try Cotflow.run(arguments + ["--out", dir], limits: "ulimit -f \(limit)")
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 1, run.summary)
            XCTAssertTrue(run.stderr.contains("cannot write \(file(dir, failed))") && run.stderr.contains("ulimit -f"), run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file(dir, "summary.json")), "\(arguments[0]): summary.json written though \(failed) is missing")
            XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
        }
    }

    /// SIGQUIT (Ctrl-\): Swift's runtime printed "Program crashed" and training went on until
    /// killed. SIGXCPU (a soft CPU-time limit), SIGUSR1 and SIGUSR2 (a batch system's warning before
    /// its time limit, `sbatch --signal`) ended the run with nothing written. Each is now a stop
    /// request: the trajectory so far is written, marked with the signal.
    func testEveryStopSignalOfABatchSystemWritesWhatWasComputed() throws {
        for (signal, name) in [(SIGQUIT, "SIGQUIT"), (SIGXCPU, "SIGXCPU"), (SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2")] {
            let dir = Cotflow.temporaryDirectory()
            let run = try Cotflow.signalled(Self.longTraining + ["--out", dir], signal: signal, phase: "training", timeout: 60)
            XCTAssertFalse(run.signaled || run.timedOut, "\(name): \(run.summary)")
            XCTAssertEqual(run.status, 1, "\(name): \(run.summary)")
            XCTAssertTrue(run.stderr.contains("interrupted by \(name)"), run.stderr)
            let summary = json(file(dir, "summary.json"))
            XCTAssertEqual(summary["status"] as? String, "interrupted", name)
            XCTAssertEqual(summary["signal"] as? String, name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, "trajectory.csv")), name)
            XCTAssertEqual(Cotflow.outputProblems(in: dir), [], name)
        }
    }

    /// A stop request while gnuplot drew (`--plot`) waited for gnuplot (up to its 30 s timeout);
    /// a SIGKILL after the SIGTERM (what Slurm does) then left gnuplot running, its scratch
    /// directory `.figure.tmp-*` in --out and its log in $TMPDIR. Now the request stops gnuplot at
    /// once, and its log is a file unlinked as soon as it is opened.
    func testAStopRequestWhileGnuplotDrawsStopsItAndLeavesNothingBehind() throws {
        let bin = Cotflow.temporaryDirectory("bin"), temporary = Cotflow.temporaryDirectory("tmp"), dir = Cotflow.temporaryDirectory()
        let pidFile = file(bin, "gnuplot.pid")
        // A gnuplot that never finishes, as a large figure on a loaded machine.
        try "#!/bin/sh\necho $$ > '\(pidFile)'\nexec sleep 300\n".write(toFile: file(bin, "gnuplot"), atomically: true, encoding: .utf8)
        chmod(file(bin, "gnuplot"), 0o755)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let run = try Cotflow.signalled(["train", "--d", "3", "--n", "10", "--k", "2", "--steps", "100", "--quiet", "--plot", "--out", dir],
                                        signal: SIGTERM, phase: "plot", timeout: 25, environment: ["PATH": path, "TMPDIR": temporary])
        XCTAssertFalse(run.signaled || run.timedOut, run.summary)
        XCTAssertEqual(run.status, 1, run.summary)
        XCTAssertTrue(run.stderr.contains("interrupted by SIGTERM while gnuplot"), run.stderr)
        // The run's files are complete; the figure's data and script are there to render later.
        XCTAssertEqual(json(file(dir, "summary.json"))["status"] as? String, "completed")
        for name in ["figure.gp", "figure.tsv", "parameters.json"] { XCTAssertTrue(FileManager.default.fileExists(atPath: file(dir, name)), name) }
        XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary), [], "gnuplot's log left in TMPDIR")
        let pid = try XCTUnwrap(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertNotEqual(kill(pid, 0), 0, "gnuplot still running")
    }

    /// `rerun DIR` took no lock on DIR: a `train --force --out DIR` started meanwhile replaced the
    /// files, and the rerun compared its run with another run's files ("DOES NOT REPRODUCE").
    /// The rerun holds DIR's lock shared while it runs: a run into DIR is refused, naming its pid.
    func testARunIntoADirectoryBeingRerunIsRefused() throws {
        let dir = Cotflow.temporaryDirectory()
        let original = try Cotflow.run(["train", "--d", "3", "--n", "12", "--k", "2", "--steps", "20000", "--record-every", "100",
                                        "--batch-size", "64", "--held-out", "64", "--quiet", "--out", dir], timeout: 120)
        XCTAssertEqual(original.status, 0, original.summary)
        let summaryBefore = try String(contentsOfFile: file(dir, "summary.json"), encoding: .utf8)
        let intruder = Box()
        let rerun = try Cotflow.signalled(["rerun", dir, "--out", file(dir, "again")], signal: SIGTERM, phase: "training") { pid in
            intruder.pid = pid
            intruder.run = try? Cotflow.run(["train", "--d", "2", "--n", "6", "--k", "2", "--steps", "10", "--quiet", "--force", "--out", dir])
        }
        XCTAssertEqual(rerun.status, 1, rerun.summary)
        let refused = try XCTUnwrap(intruder.run)
        XCTAssertEqual(refused.status, 64, refused.summary)
        XCTAssertTrue(refused.stderr.contains("in use by another cotflow run (pid \(intruder.pid))"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: file(dir, "summary.json"), encoding: .utf8), summaryBefore)
        // The lock is released with the rerun: the directory is rerun again.
        let again = try Cotflow.run(["rerun", dir, "--out", file(dir, "third")], timeout: 120)
        XCTAssertEqual(again.status, 0, again.summary)
    }

    /// An output directory moved away (or removed) while the run went on: at the stop the run
    /// recreated it at its old path, unlocked, and wrote its files there, beside whatever was there
    /// now (a user's files, or another run's that had prepared a new directory at that path). The
    /// writer checks that the directory is still the one the run locked.
    func testAnOutputDirectoryMovedDuringTheRunGetsNothingWrittenAtItsOldPath() throws {
        let parent = Cotflow.temporaryDirectory(), out = file(parent, "out"), moved = file(parent, "moved")
        let run = try Cotflow.signalled(Self.longTraining + ["--out", out], signal: SIGTERM, phase: "training", timeout: 60) { _ in
            _ = rename(out, moved)
            try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
            try? "mine\n".write(toFile: (out as NSString).appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        }
        XCTAssertFalse(run.signaled || run.timedOut, run.summary)
        XCTAssertEqual(run.status, 1, run.summary)
        XCTAssertTrue(run.stderr.contains("no longer the output directory this run locked"), run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"])
        XCTAssertEqual(Cotflow.outputProblems(in: moved), [])
    }

    /// Arguments are decoded with bytes that are not UTF-8 replaced by U+FFFD: `--out $'x\xff\xfe'`
    /// wrote into the directory `x\u{FFFD}\u{FFFD}` (exit 0), another path than the one given.
    /// Such an argument is refused (64), naming it, before anything is created.
    func testAnArgumentThatIsNotUTF8IsRefusedBeforeAnythingIsWritten() throws {
        var programs: [(String?, String)] = [(nil, "ode --d 2 --n 6 --k 2 --quiet --out")]
        if FileManager.default.isExecutableFile(atPath: Cotflow.executable.deletingLastPathComponent().appendingPathComponent("exact-chain").path) {
            programs.append(("exact-chain", "--quick --out"))
        }
        for (program, arguments) in programs {
            let dir = Cotflow.temporaryDirectory()
            // The shell gives the program the bytes 0xff 0xfe (a Swift string cannot hold them).
            let run = try Cotflow.run([], limits: "set -- \(arguments) '\(dir)/out'$'\\xff\\xfe'", program: program)
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 64, run.summary)
            XCTAssertTrue(run.stderr.contains("after --out") && run.stderr.contains("out\\xff\\xfe") && run.stderr.contains("not UTF-8"), run.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "written beside the --out given")
        }
    }
}
