import CotflowCore
import CotflowModel
import CotflowStages
import Foundation

/// `cotflow rerun DIR`: the runs a directory records, decoded by their `computation` and solved
/// again in this process into another directory, whose files are then compared with the original's.
package struct Rerun {
    /// Every run the tool records, by its `computation`: what a summary's `run` decodes as.
    package static let runTypes: [any OutputRun.Type] = [
        TrainingRun.self, ReducedFlowRun.self, FullFlowRun.self, EvaluationRun.self, HessianRun.self, StagesRun.self,
        ComparisonRun.self, SweepShardRun.self,
    ]

    /// The directory of the original run.
    package let directory: String
    /// The runs it records (one, or the shards of a sweep), each with its summary file.
    package let runs: [RecordedRun]
    private let summaries: [String]

    /// Reads and checks every summary of `directory` (`summaryFiles`); `warn` hears of a summary
    /// written by another version.
    package init(directory: String, warn: (String) -> Void) throws {
        self.directory = directory
        summaries = try Self.summaryFiles(in: directory)
        // Held until the comparison is made: a run into the directory meanwhile would change the files compared.
        try OutputDirectory.lockForReading(directory)
        var runs: [RecordedRun] = []
        for summaryPath in summaries {
            guard let data = FileManager.default.contents(atPath: summaryPath) else {
                throw CotflowError.input("\(summaryPath): cannot be read; check its permissions")
            }
            let recorded: RecordedRun
            do {
                recorded = try RecordedRun(json: try JSONReader.parse(String(decoding: data, as: UTF8.self), source: summaryPath))
            } catch let error as ReportableError {
                // The reader's messages name the file already.
                throw CotflowError.input(error.description.hasPrefix(summaryPath) ? error.description : "\(summaryPath) \(error.description)")
            }
            // A rerun writes no summary of its own; one that records `rerun` was made by hand: never rerun a rerun.
            guard recorded.provenance.arguments.first != "rerun", recorded.computation != "rerun" else {
                throw CotflowError.input("\(summaryPath) records a rerun; rerun the original directory instead")
            }
            guard summaries.count == 1 || recorded.computation == SweepShardRun.computation else {
                throw CotflowError.input("\(summaryPath) records a \(recorded.computation) run beside the shards of a sweep; rerun one run directory at a time")
            }
            if recorded.version != cotflowVersion {
                warn("\(summaryPath) was written by cotflow \(recorded.version), this is \(cotflowVersion): differences may come from the versions")
            }
            runs.append(recorded)
        }
        self.runs = runs
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
            throw CotflowError.input("\(path("summary.json")): no such file (nor stages.json or summary-shard-*.json); give a directory written by a cotflow command with --out")
        }
        return shards
    }

    /// The recorded runs' estimate, and what it is of (`--estimate`).
    package func estimate() throws -> (work: WorkEstimate, what: String) {
        let work = try runs.indices.map { try decoded($0, estimating: true).estimate() }.reduce(WorkEstimate(), +).merged()
        return (work, "rerun of \(runs.first?.computation ?? "a run")" + (runs.count > 1 ? " (\(runs.count) shards)" : ""))
    }

    /// Run `i` decoded and validated (as its command's `--estimate` when `estimating`); a refusal
    /// names its summary file.
    private func decoded(_ i: Int, estimating: Bool) throws -> any OutputRun {
        do {
            return try runs[i].decoded(among: Self.runTypes, validating: true, estimating: estimating)
        } catch let error as ReportableError {
            throw CotflowError.input("\(summaries[i]): \(error.description)")
        }
    }

    /// The directory a rerun writes to by default.
    package var defaultTarget: String { (directory as NSString).appendingPathComponent("rerun") }

    /// Decodes and validates every run before anything is created, then solves each into `target`
    /// (no report; `figure` draws a sweep's figure when it recorded one), and merges the shards of
    /// a sweep that was merged again (the merge records no run of its own).
    package func solve(into target: String, figure: (PhaseReport, _ metric: String?, _ directory: String) throws -> Void) throws {
        guard !FileManager.default.fileExists(atPath: target) else {
            throw CotflowError.input("--out \(target) exists already; remove it or give another --out")
        }
        let solvable = try runs.indices.map { try decoded($0, estimating: false) }
        for (recorded, run) in zip(runs, solvable) {
            StandardStreams.writeError("rerun: the recorded \(recorded.computation) run of \(shellQuoted(recorded.provenance.command))\n")
            let outcome = try Self.solve(run, arguments: recorded.provenance.arguments, into: target)
            // A run stopped by a signal wrote what it had (marked interrupted): there is nothing to compare.
            if Interruption.signalNumber != nil {
                throw RunStopped("rerun interrupted by \(Interruption.signalName): the run in \(target) is incomplete (marked interrupted); nothing was compared")
            }
            if let sweep = outcome as? SweepShardOutcome, let report = sweep.figure { try figure(report, (run as? SweepShardRun)?.plotMetric, target) }
        }
        let merged = (directory as NSString).appendingPathComponent("sweep.json")
        if summaries.count > 1 || summaries.first.map({ ($0 as NSString).lastPathComponent != "summary.json" }) == true,
           FileManager.default.fileExists(atPath: merged) {
            StandardStreams.writeError("rerun: merging the shards again (cotflow merge)\n")
            _ = try mergeShards(directory: target, reporter: PhaseReport.reporter())
        }
    }

    /// `run` solved into `target` quietly, its provenance the recorded command line.
    private static func solve<Run: OutputRun>(_ run: Run, arguments: [String], into target: String) throws -> Run.Outcome {
        try run.solve(into: RunOutput(directory: target, quiet: true, printing: false), provenance: try Provenance(arguments: arguments, run: run))
    }

    /// The comparison of every JSON and CSV file of the two directories.
    package func report(rerun target: String, tolerance: Double) -> RerunReport {
        RerunReport(directory: directory, rerun: target, recordedVersion: runs[0].version,
                    comparison: OutputComparison(original: directory, rerun: target, tolerance: tolerance))
    }
}
