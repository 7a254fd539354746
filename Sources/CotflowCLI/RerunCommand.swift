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
        discussion: "Reads DIR/summary.json (DIR/stages.json of `cotflow stages`), decodes the run it records and solves it again in this process (from any working directory: input files are read at the absolute paths recorded) into a new directory (default DIR/rerun), and compares every JSON and CSV file both runs wrote: JSON numbers and CSV cells within --tolerance (relative), everything else exactly. Timings (seconds), the command line and the output directory are not compared. Exit status 0 when everything reproduces, 1 when something differs."
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
        let names = ["summary.json", "stages.json"].map { (directory as NSString).appendingPathComponent($0) }
        let summaryPath = names.first { FileManager.default.fileExists(atPath: $0) } ?? names[0]
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            throw ValidationError("\(summaryPath): no such file; give a directory written by a cotflow command with --out")
        }
        let recorded: RecordedRun
        do {
            let json = try JSONReader.parse(String(decoding: data, as: UTF8.self), source: summaryPath)
            recorded = try RecordedRun(json: json)
        } catch let error as ReportableError {
            throw ValidationError("\(summaryPath) \(error.description)")
        }
        // A rerun writes no summary of its own; one that records `rerun` was made by hand: never rerun a rerun.
        guard recorded.provenance.arguments.first != "rerun", recorded.computation != "rerun" else {
            throw ValidationError("\(summaryPath) records a rerun; rerun the original directory instead")
        }
        if recorded.version != cotflowVersion {
            warn("\(summaryPath) was written by cotflow \(recorded.version), this is \(cotflowVersion): differences may come from the versions")
        }
        if estimate { return emitEstimate(try Self.estimate(recorded), what: "rerun of \(recorded.computation)", json: json) }
        let target = out ?? (directory as NSString).appendingPathComponent("rerun")
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationError("--out \(target) exists already; remove it or give another --out")
        }
        FileHandle.standardError.write("rerun: the recorded \(recorded.computation) run of \(shellQuoted(recorded.provenance.command))\n".data(using: .utf8)!)
        try Self.solve(recorded, into: target)
        try compare(into: target, version: recorded.version)
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

    /// Solves the recorded run in this process, writing its files into `target` (no report on stdout).
    static func solve(_ recorded: RecordedRun, into target: String) throws {
        var output = OutputOptions()
        (output.out, output.json, output.quiet, output.force) = (target, false, true, false)
        func rerun<Run: RecordableRun>(_: Run.Type, _ solve: (Run, Provenance) throws -> Void) throws {
            let run: Run
            do { run = try recorded.run.decoded() } catch let error as DecodingError {
                throw CotflowError.input("the recorded \(recorded.computation) run does not decode: \(error)")
            }
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
