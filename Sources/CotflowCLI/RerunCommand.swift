import ArgumentParser
import CotflowExperiments
import CotflowCore
import Foundation

struct RerunCommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Solve the run recorded in a summary.json again, and check that it reproduces.",
        discussion: "Reads DIR/summary.json (DIR/stages.json of `cotflow stages`; every DIR/summary-shard-<i>-of-<N>.json of a sweep run in shards, merged again when DIR holds the merge), decodes the run it records and solves it again in this process (from any working directory: input files are read at the absolute paths recorded) into a new directory (default DIR/rerun), and compares every JSON and CSV file both runs wrote: JSON numbers and CSV cells within --tolerance (relative), everything else exactly. Timings (seconds), the command line and the output directory are not compared. Exit status 0 when everything reproduces, 1 when something differs."
    )

    @Argument(help: "Directory of an earlier run (with summary.json).") var directory: String
    @Option(help: "Directory for the new run. (default: DIR/rerun; must not exist yet)") var out: String?
    @Option(parsing: .unconditional, help: "Largest relative difference of a number counted as equal. (default: 0, bit-for-bit)") var tolerance = 0.0
    @Flag(help: "Print one JSON object on stdout instead of the report.") var json = false
    @Flag(help: "Print the recorded run's estimated work and time on this machine and exit without running it.") var estimate = false

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a non-negative number (got \(tolerance))") }
    }

    func run() throws {
        let rerun = try Rerun(directory: directory, warn: warn)
        if estimate {
            let (work, what) = try rerun.estimate()
            return print(work.printed(what: what, json: json))
        }
        let target = out ?? rerun.defaultTarget
        try rerun.solve(into: target) { report, metric, directory in try renderSweepFigure(report, metric: metric, directory: directory) }
        let report = rerun.report(rerun: target, tolerance: tolerance)
        print(json ? try JSONValue.encoding(report).rendered() : report.text)
        if !report.reproduces { throw ExitCode.failure }
    }
}
