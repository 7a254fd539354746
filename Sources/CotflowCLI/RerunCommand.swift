import ArgumentParser
import CotflowExperiments
import CotflowModel
import CotflowCore
import CotflowStages
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
        let summaries = try Self.summaryFiles(in: directory)
        var runs: [RecordedRun] = []
        for summaryPath in summaries {
            guard let data = FileManager.default.contents(atPath: summaryPath) else {
                throw ValidationError("\(summaryPath): cannot be read; check its permissions")
            }
            let recorded: RecordedRun
            do {
                let json = try JSONReader.parse(String(decoding: data, as: UTF8.self), source: summaryPath)
                recorded = try RecordedRun(json: json)
            } catch let error as ReportableError {
                // The reader's messages name the file already.
                throw ValidationError(error.description.hasPrefix(summaryPath) ? error.description : "\(summaryPath) \(error.description)")
            }
            // A rerun writes no summary of its own; one that records `rerun` was made by hand: never rerun a rerun.
            guard recorded.provenance.arguments.first != "rerun", recorded.computation != "rerun" else {
                throw ValidationError("\(summaryPath) records a rerun; rerun the original directory instead")
            }
            guard summaries.count == 1 || recorded.computation == SweepShardRun.computation else {
                throw ValidationError("\(summaryPath) records a \(recorded.computation) run beside the shards of a sweep; rerun one run directory at a time")
            }
            if recorded.version != cotflowVersion {
                warn("\(summaryPath) was written by cotflow \(recorded.version), this is \(cotflowVersion): differences may come from the versions")
            }
            runs.append(recorded)
        }
        if estimate {
            let work = try runs.map(Self.estimate).reduce(WorkEstimate(), +).merged()
            return emitEstimate(work, what: "rerun of \(runs.first?.computation ?? "a run")" + (runs.count > 1 ? " (\(runs.count) shards)" : ""), json: json)
        }
        let target = out ?? (directory as NSString).appendingPathComponent("rerun")
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationError("--out \(target) exists already; remove it or give another --out")
        }
        // Every recorded run decodes and validates before anything is created.
        for recorded in runs { try Self.solve(recorded, into: target, checkOnly: true) }
        for recorded in runs {
            FileHandle.standardError.write("rerun: the recorded \(recorded.computation) run of \(shellQuoted(recorded.provenance.command))\n".data(using: .utf8)!)
            try Self.solve(recorded, into: target)
            // A run stopped by a signal wrote what it had (marked interrupted): there is nothing to compare.
            if Interruption.signalNumber != nil {
                throw RunStopped(description: "rerun interrupted by \(Interruption.signalName): the run in \(target) is incomplete (marked interrupted); nothing was compared")
            }
        }
        // The shards of a sweep that was merged are merged again (the merge records no run of its own).
        let merged = (directory as NSString).appendingPathComponent("sweep.json")
        if summaries.count > 1 || summaries.first.map({ ($0 as NSString).lastPathComponent != "summary.json" }) == true,
           FileManager.default.fileExists(atPath: merged) {
            FileHandle.standardError.write("rerun: merging the shards again (cotflow merge)\n".data(using: .utf8)!)
            try mergeShards(directory: target, reporter: PhaseReport.reporter())
        }
        try compare(into: target, version: runs[0].version)
    }

    /// The summaries of the run in `directory`: `summary.json`, `stages.json` (of `cotflow stages`),
    /// or, for a sweep run in shards into one directory, every `summary-shard-<i>-of-<N>.json`.
    static func summaryFiles(in directory: String) throws -> [String] {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        if let single = ["summary.json", "stages.json"].map(path).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            return [single]
        }
        let shards = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("summary-shard-") && $0.hasSuffix(".json") }.sorted().map(path)
        guard !shards.isEmpty else {
            throw ValidationError("\(path("summary.json")): no such file (nor stages.json or summary-shard-*.json); give a directory written by a cotflow command with --out")
        }
        return shards
    }

    private func compare(into target: String, version: String) throws {
        let report = RerunReport(directory: directory, rerun: target, recordedVersion: version,
                                 comparison: OutputComparison(original: directory, rerun: target, tolerance: tolerance))
        print(json ? try JSONValue.encoding(report).rendered() : report.text)
        if !report.reproduces { throw ExitCode.failure }
    }

    /// The recorded run's estimate (`--estimate`).
    static func estimate(_ recorded: RecordedRun) throws -> WorkEstimate {
        func decoded<Run: RecordableRun>(_: Run.Type) throws -> Run {
            do { return try recorded.run.decoded() } catch let error as DecodingError {
                throw CotflowError.input("the recorded \(recorded.computation) run does not decode: \(error)")
            }
        }
        switch recorded.computation {
        case TrainingRun.computation: return try decoded(TrainingRun.self).estimate()
        case ReducedFlowRun.computation: return try decoded(ReducedFlowRun.self).estimate()
        case ComparisonRun.computation: return try decoded(ComparisonRun.self).estimate()
        case SweepShardRun.computation: return try decoded(SweepShardRun.self).estimate()
        case FullFlowRun.computation: return try decoded(FullFlowRun.self).estimate()
        case EvaluationRun.computation: return try decoded(EvaluationRun.self).estimate()
        case HessianRun.computation: return try decoded(HessianRun.self).estimate()
        case StagesRun.computation: return try decoded(StagesRun.self).estimate()
        default: throw ValidationError("cannot rerun a \(recorded.computation) run")
        }
    }

    /// Solves the recorded run in this process, writing its files into `target` (no report on stdout);
    /// `checkOnly`: decode and validate the run, solve nothing.
    static func solve(_ recorded: RecordedRun, into target: String, checkOnly: Bool = false) throws {
        var output = OutputOptions()
        (output.out, output.json, output.quiet, output.force) = (target, false, true, false)
        func rerun<Run: RecordableRun>(_: Run.Type, _ solve: (Run, Provenance) throws -> Void) throws {
            let run: Run
            // A summary is a file like any input: its run is checked as the command line's would be.
            do {
                run = try recorded.run.decoded()
                try run.validate()
            } catch let error as DecodingError {
                throw CotflowError.input("the recorded \(recorded.computation) run does not decode: \(error)")
            } catch let error as ReportableError {
                throw CotflowError.input("the recorded \(recorded.computation) run is not a valid run: \(error.description)")
            }
            if checkOnly { return }
            try solve(run, try Provenance(arguments: recorded.provenance.arguments, run: run))
        }
        switch recorded.computation {
        case TrainingRun.computation: try rerun(TrainingRun.self) { try TrainCommand.solve($0, output: output, provenance: $1, printing: false) }
        case ReducedFlowRun.computation: try rerun(ReducedFlowRun.self) { try ODECommand.solve($0, output: output, provenance: $1, printing: false) }
        case ComparisonRun.computation: try rerun(ComparisonRun.self) { try CompareCommand.solve($0, output: output, provenance: $1, printing: false) }
        case SweepShardRun.computation:
            try rerun(SweepShardRun.self) { run, provenance in
                var run = run
                run.directory = target
                try SweepCommand.solve(run, output: output, provenance: provenance, printing: false)
            }
        case FullFlowRun.computation: try rerun(FullFlowRun.self) { try ODECommand.solve($0, output: output, provenance: $1, printing: false) }
        case EvaluationRun.computation: try rerun(EvaluationRun.self) { try EvalCommand.solve($0, output: output, provenance: $1, printing: false) }
        case HessianRun.computation: try rerun(HessianRun.self) { try HessianCommand.solve($0, output: output, provenance: $1, printing: false) }
        case StagesRun.computation: try rerun(StagesRun.self) { try StagesCommand.solve($0, output: output, provenance: $1, printing: false) }
        default: throw ValidationError("cannot rerun a \(recorded.computation) run")
        }
    }
}
