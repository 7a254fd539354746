import Foundation
import XCTest

/// Issue 22, done-when item 2: the third hostile run (tampered files read back, generated scripts,
/// extreme valid values, estimates) with other values than the first two. Each test is a finding
/// of that run (notes/reliability.md, "Hostile run (third pass)"): it failed before its fix.
final class HostileRunThirdPassInputTests: XCTestCase {
    private func file(_ dir: String, _ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// A recorded run written by cotflow into a new directory, its summary then edited by `edit`.
    private func tamperedRun(_ arguments: [String], edit: (inout [String: Any]) -> Void) throws -> String {
        let dir = file(Cotflow.temporaryDirectory(), "run")
        let original = try Cotflow.run(arguments + ["--quiet", "--out", dir], timeout: 120)
        XCTAssertEqual(original.status, 0, original.summary)
        let path = file(dir, "summary.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return dir
    }

    /// Sets `value` at the key path `keys` of a JSON object.
    private func set(_ json: inout [String: Any], _ keys: [String], _ value: Any) {
        guard let key = keys.first else { return }
        if keys.count == 1 { json[key] = value; return }
        var inner = json[key] as? [String: Any] ?? [:]
        set(&inner, Array(keys.dropFirst()), value)
        json[key] = inner
    }

    /// GSL's symmetric eigensolver never converged on a matrix of subnormal numbers (its deflation
    /// test underflows to 0): `train --init-scale 1e-320` spun for ever in the first record's
    /// eigenvalues, against an estimate under 0.1 s. The matrix is scaled by a power of two first.
    func testASubnormalInitialisationTrainsInsteadOfSpinningInTheEigensolver() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["train", "--d", "3", "--n", "10", "--k", "2", "--steps", "20", "--record-every", "10",
                                   "--batch-size", "16", "--held-out", "16", "--init-scale", "1e-320", "--quiet", "--out", dir], timeout: 60)
        XCTAssertFalse(run.timedOut || run.signaled, run.summary)
        XCTAssertEqual(run.status, 0, run.summary)
        XCTAssertEqual(Cotflow.outputProblems(in: dir), [])
    }

    /// `rerun --estimate` decoded the recorded run without its checks: a summary recording
    /// d = Int.max trapped on an overflow (SIGILL), and a W24 of 1e308 printed "-nan" with exit 0.
    /// It is checked as the command's `--estimate` is (the work limit aside), naming the summary.
    func testRerunEstimateChecksTheRecordedRunAsItsCommandDoes() throws {
        let train = try tamperedRun(["train", "--d", "3", "--n", "10", "--k", "2", "--steps", "20"]) {
            self.set(&$0, ["run", "config", "task", "d"], Int.max)
        }
        let flow = try tamperedRun(["ode", "--d", "3", "--n", "10", "--k", "3"]) {
            self.set(&$0, ["run", "w24"], ["fixed": ["_0": 1e308]])
        }
        for (dir, option) in [(train, "--d"), (flow, "--w24-initial")] {
            let run = try Cotflow.run(["rerun", dir, "--estimate"])
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 64, run.summary)
            XCTAssertTrue(run.stderr.contains(option) && run.stderr.contains(file(dir, "summary.json")), run.stderr)
            XCTAssertFalse(run.stdout.contains("nan"), run.stdout)
        }
        // A run beyond the work limit still has its estimate printed, as `train --estimate` does.
        let long = try tamperedRun(["train", "--d", "3", "--n", "10", "--k", "2", "--steps", "20"]) {
            self.set(&$0, ["run", "config", "steps"], 1_000_000_000_000)
        }
        let estimate = try Cotflow.run(["rerun", long, "--estimate"])
        XCTAssertEqual(estimate.status, 0, estimate.summary)
        XCTAssertTrue(estimate.stdout.contains("estimate of rerun of train"), estimate.stdout)
    }

    /// A recorded start the command line refuses (`--init-scale` above 100, or null, read as NaN)
    /// was solved by rerun: the full-matrix flow from scale 1000 ran past 90 s against an estimate
    /// under 0.1 s, and a sweep's summary with `"initScale": null` trapped (SIGILL, a range of NaN
    /// bounds). Every decoded run (rerun, `sweep --from`) checks the scale as the option does.
    func testARecordedInitialisationScaleIsCheckedAsTheOptionIs() throws {
        let full = try tamperedRun(["ode", "--params", "full", "--d", "2", "--n", "10", "--k", "2", "--t-end", "10", "--prompts", "64"]) {
            self.set(&$0, ["run", "initScale"], 1000)
        }
        let rerun = try Cotflow.run(["rerun", full, "--out", file(full, "again")], timeout: 60)
        XCTAssertFalse(rerun.timedOut || rerun.signaled, rerun.summary)
        XCTAssertEqual(rerun.status, 64, rerun.summary)
        XCTAssertTrue(rerun.stderr.contains("--init-scale must be at most 100"), rerun.stderr)

        let dir = Cotflow.temporaryDirectory()
        let emitted = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--out", dir, "--emit-sbatch", file(dir, "x.sbatch")])
        XCTAssertEqual(emitted.status, 0, emitted.summary)
        let plan = file(dir, "sweep-description.json")
        let text = try String(contentsOfFile: plan, encoding: .utf8)
        XCTAssertTrue(text.contains("\"initScale\" : 0.05"), text)
        try text.replacingOccurrences(of: "\"initScale\" : 0.05", with: "\"initScale\" : null").write(toFile: plan, atomically: true, encoding: .utf8)
        let sweep = try Cotflow.run(["sweep", "--from", plan, "--shard", "0/1", "--quiet"])
        XCTAssertFalse(sweep.signaled, sweep.summary)
        XCTAssertEqual(sweep.status, 64, sweep.summary)
        // The summary of a sweep, rerun: null read as NaN trapped in the same range.
        let shard = try tamperedRun(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2"]) {
            self.set(&$0, ["run", "plan", "settings", "initScale"], NSNull())
        }
        let again = try Cotflow.run(["rerun", shard, "--out", file(shard, "again")])
        XCTAssertFalse(again.signaled, again.summary)
        XCTAssertEqual(again.status, 64, again.summary)
        XCTAssertTrue(again.stderr.contains("--init-scale must be positive (got nan)"), again.stderr)
    }

    /// A recorded `maximumStep` of 0 (no option sets it) failed the run (exit 1, "invalid ODE
    /// settings") after the directory was prepared; it is bad input (64), refused by the run's checks.
    func testARecordedMaximumStepOfZeroIsBadInput() throws {
        let dir = try tamperedRun(["ode", "--d", "3", "--n", "10", "--k", "3"]) {
            self.set(&$0, ["run", "options", "ode", "maximumStep"], 0)
        }
        let run = try Cotflow.run(["rerun", dir, "--out", file(dir, "again")])
        XCTAssertEqual(run.status, 64, run.summary)
        XCTAssertTrue(run.stderr.contains("maximumStep") && run.stderr.contains(file(dir, "summary.json")), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(dir, "again")))
    }

    /// The sweep description (`sweep --from`) was read by Foundation's JSONDecoder: a duplicate key
    /// resolved silently to the first value, a wrong type said "system error 4864", and the
    /// recorded directory, edited to /etc/... or a path with `..`, received the run's files.
    /// It is read by the strict reader, and runs only into the directory that holds it (or --out).
    func testASweepDescriptionIsReadStrictlyAndWritesOnlyWhereItLies() throws {
        let dir = Cotflow.temporaryDirectory()
        let emitted = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--out", dir, "--emit-sbatch", file(dir, "x.sbatch"), "--shards", "2"])
        XCTAssertEqual(emitted.status, 0, emitted.summary)
        let plan = file(dir, "sweep-description.json")
        let text = try String(contentsOfFile: plan, encoding: .utf8)
        func attempt(_ edited: String, _ expected: String) throws {
            try edited.write(toFile: plan, atomically: true, encoding: .utf8)
            let run = try Cotflow.run(["sweep", "--from", plan, "--shard", "0/2", "--quiet"])
            XCTAssertEqual(run.status, 64, run.summary)
            XCTAssertTrue(run.stderr.contains(expected) && run.stderr.contains(plan), run.stderr)
        }
        let elsewhere = file(Cotflow.temporaryDirectory(), "elsewhere")
        try attempt(text.replacingOccurrences(of: "\"shards\" : 2", with: "\"shards\" : 2, \"shards\" : 3"), "duplicate key \"shards\"")
        try attempt(text.replacingOccurrences(of: "\"shards\" : 2", with: "\"shards\" : \"2\""), "shards")
        try attempt(text.replacingOccurrences(of: "\"directory\" : \"\(dir)\"", with: "\"directory\" : \"\(elsewhere)\""), "not the one that holds it")
        let sibling = "escaped-" + UUID().uuidString
        try attempt(text.replacingOccurrences(of: "\"directory\" : \"\(dir)\"", with: "\"directory\" : \"\(dir)/../\(sibling)\""), "not the one that holds it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file((dir as NSString).deletingLastPathComponent, sibling)))
        // The description as written still runs, and --out sends a run elsewhere on purpose.
        try text.write(toFile: plan, atomically: true, encoding: .utf8)
        let run = try Cotflow.run(["sweep", "--from", plan, "--shard", "0/2", "--quiet"])
        XCTAssertEqual(run.status, 0, run.summary)
        let moved = try Cotflow.run(["sweep", "--from", plan, "--shard", "1/2", "--quiet", "--out", elsewhere])
        XCTAssertEqual(moved.status, 0, moved.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file(elsewhere, "shard-1-of-2.json")))
    }

    /// `sweep --vary t_end=...` (an axis of the flow job) failed (exit 1) after its checks, on
    /// the clash of the axis with the job's own metric `t_end`: it is refused as input, named.
    func testAnAxisThatIsAlsoAMetricIsRefused() throws {
        let dir = Cotflow.temporaryDirectory()
        let run = try Cotflow.run(["sweep", "--vary", "t_end=1,10", "--d", "3", "--n", "10", "--k", "2", "--quiet", "--out", dir])
        XCTAssertEqual(run.status, 64, run.summary)
        XCTAssertTrue(run.stderr.contains("t_end is a metric of --job flow"), run.stderr)
    }

    /// `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` overflowed (SIGILL) for values near Int.max.
    func testASlurmArrayTaskWhoseOffsetOverflowsIsRefused() throws {
        for (id, min) in [("-2", String(Int.max)), (String(Int.max), "-1")] {
            let dir = Cotflow.temporaryDirectory()
            let run = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--quiet", "--out", dir],
                                      environment: ["SLURM_ARRAY_TASK_ID": id, "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": min])
            XCTAssertFalse(run.signaled, run.summary)
            XCTAssertEqual(run.status, 64, run.summary)
            XCTAssertTrue(run.stderr.contains("SLURM_ARRAY_TASK_MIN"), run.stderr)
        }
    }

    /// An `#SBATCH` value as sbatch reads it (Slurm's `_get_argument`, src/sbatch/opt.c): split at
    /// white space, a backslash escapes the next character, quotes are dropped, `#` ends the line.
    private func sbatchArgument(_ line: String) -> String {
        var out = "", escape = false, quote: Character?
        for c in line {
            if escape { out.append(c); escape = false; continue }
            if c == "\\" { escape = true; continue }
            if let q = quote { if c == q { quote = nil } else { out.append(c) }; continue }
            if c == "\"" || c == "'" { quote = c; continue }
            if c == "#" || c.isWhitespace { break }
            out.append(c)
        }
        return out
    }

    /// `#SBATCH --output` and `--chdir` held the directory raw: sbatch ends a value at `#` and
    /// drops quotes and backslashes, so `--out` with `#` sent the tasks' logs to a truncated path
    /// and a `'` made sbatch refuse the script ("Unmatched"). The comment's `sbatch --wrap "..."`
    /// put the merge command in double quotes, where a pasted `$(...)` in the path runs.
    func testSbatchLinesHoldEveryCharacterOfTheDirectory() throws {
        let parent = Cotflow.temporaryDirectory()
        let dir = file(parent, "a#b'c\"d\\e%f$(touch${IFS}pwned)`touch${IFS}pwned2`")
        let script = file(parent, "x.sbatch")
        let run = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--out", dir, "--emit-sbatch", script], directory: parent)
        XCTAssertEqual(run.status, 0, run.summary)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let output = try XCTUnwrap(lines.first { $0.hasPrefix("#SBATCH --output=") })
        XCTAssertEqual(sbatchArgument(String(output.dropFirst("#SBATCH ".count))),
                       "--output=" + dir.replacingOccurrences(of: "%", with: "%%") + "/slurm-%A_%a.out")
        let chdir = try XCTUnwrap(lines.first { $0.hasPrefix("#SBATCH --chdir=") })
        XCTAssertEqual(sbatchArgument(String(chdir.dropFirst("#SBATCH ".count))), "--chdir=" + parent)
        // The script parses, and the merge command of its comment runs nothing when pasted.
        let syntax = Process()
        syntax.executableURL = URL(fileURLWithPath: "/bin/bash")
        syntax.arguments = ["-n", script]
        try syntax.run(); syntax.waitUntilExit()
        XCTAssertEqual(syntax.terminationStatus, 0)
        let wrap = try XCTUnwrap(lines.first { $0.contains("--wrap") })
        let pasted = String(wrap[wrap.range(of: "sbatch --dependency")!.lowerBound...])
        let shell = Process(), pipe = Pipe()
        shell.executableURL = URL(fileURLWithPath: "/bin/bash")
        shell.arguments = ["-c", "sbatch() { printf '%s\\n' \"${@: -1}\"; }; " + pasted]
        shell.currentDirectoryURL = URL(fileURLWithPath: parent)
        shell.standardOutput = pipe
        try shell.run(); shell.waitUntilExit()
        let merge = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(merge.hasSuffix(" merge '" + dir.replacingOccurrences(of: "'", with: "'\\''") + "'\n"), merge)
        for name in ["pwned", "pwned2"] { XCTAssertFalse(FileManager.default.fileExists(atPath: file(parent, name)), name) }
    }
}
