import CotflowCore
import Foundation

/// A run of a sweep as a value (`cotflow sweep`, computation `sweep`): a shard of a plan's grid
/// into a directory, with how it runs (threads, resume) and what it draws. summary.json records it
/// (the plan, the shard, jobs, resume, plot) and `cotflow rerun` solves it again into another directory.
public struct SweepShardRun: RecordableRun {
    public static let computation = "sweep"

    public var plan: SweepPlan
    public var shard: Shard
    /// Points run at once, as asked.
    public var jobs: Int
    /// Keep the finished points of an earlier run of this shard.
    public var resume: Bool
    /// Draw the report's figure (the caller's), and its metric.
    public var plot: Bool
    public var plotMetric: String?
    /// Where the files go (not recorded: the plan's directory, or where a rerun writes).
    public var directory: String
    /// Discard the finished points of an earlier run (not recorded).
    public var force = false

    public init(plan: SweepPlan, shard: Shard, directory: String, jobs: Int, resume: Bool, force: Bool, plot: Bool, plotMetric: String?) {
        (self.plan, self.shard, self.directory, self.jobs) = (plan, shard, directory, jobs)
        (self.resume, self.force, self.plot, self.plotMetric) = (resume, force, plot, plotMetric)
    }

    private enum CodingKeys: String, CodingKey { case plan, shard, jobs, resume, plot, plotMetric }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(plan, forKey: .plan); try c.encode(shard.description, forKey: .shard); try c.encode(jobs, forKey: .jobs)
        try c.encode(resume, forKey: .resume); try c.encode(plot, forKey: .plot); try c.encodeIfPresent(plotMetric, forKey: .plotMetric)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        plan = try c.decode(SweepPlan.self, forKey: .plan)
        shard = try Shard(parsing: try c.decode(String.self, forKey: .shard))
        (jobs, resume, plot) = (try c.decode(Int.self, forKey: .jobs), try c.decode(Bool.self, forKey: .resume), try c.decode(Bool.self, forKey: .plot))
        plotMetric = try c.decodeIfPresent(String.self, forKey: .plotMetric)
        directory = plan.directory
    }

    /// Every point of the grid makes a run (`SweepPlan.checkedGrid`), the shard is one of the
    /// plan's, and a figure's metric is one of the job's.
    public func validate() throws {
        _ = try plan.checkedGrid()
        guard jobs >= 1 else { throw CotflowError.input("--jobs must be at least 1 (got \(jobs))") }
        if let m = plotMetric?.split(separator: ",").map(String.init).first(where: { !plan.settings.job.metricNames.contains($0) }) {
            throw CotflowError.input("--plot-metric \(m) is not a metric of --job \(plan.settings.job.rawValue) (metrics: \(plan.settings.job.metricNames.joined(separator: ", ")))")
        }
    }

    /// The plan's grid.
    public var grid: SweepGrid { get throws { try plan.grid() } }

    /// Refuses to overwrite the finished points of an earlier run in the directory (`resume` keeps
    /// them, `force` discards them), then creates it.
    public func prepareDirectory() throws {
        do {
            try OutputDirectory.prepare(directory, files: resume ? [] : shard.outputFiles, force: force, shard: shard.count > 1 ? shard.fileStem : nil)
        } catch let error as CotflowError {
            throw CotflowError.input(error.description + (resume ? "" : "; or pass --resume to keep the finished points of that run and run only the rest"))
        }
    }

    /// Runs the shard and writes its summary (`provenance`, this run, `SweepSummary`);
    /// `progress(done, total)` after every point. A signal stops the run: the summary says how far
    /// it got and `SweepInterrupted` is rethrown.
    func solve(provenance: Provenance, progress: ((Int, Int) -> Void)? = nil) throws -> (outcome: SweepOutcome, summary: SweepSummary) {
        let settings = plan.settings, grid = try grid
        let finished = FinishedPoints()
        let summary: SweepSummary, outcome: SweepOutcome
        do {
            outcome = try settings.sweep(grid, shard: shard, directory: directory, resume: resume, jobs: jobs, recordVersion: true) { done, total in
                finished.count = done
                progress?(done, total)
            }
            summary = SweepSummary(outcome, job: settings.job, grid: grid, jobs: jobs)
        } catch let stopped as SweepInterrupted {
            // The shard files already hold every finished point; say so in the summary.
            let summary = SweepSummary(interruptedBy: Interruption.signalName, job: settings.job, grid: grid, shard: shard, finished: finished.count)
            try write(try RunSummary(provenance: provenance, run: self, result: summary).json())
            throw stopped
        }
        try write(try RunSummary(provenance: provenance, run: self, result: summary).json())
        return (outcome, summary)
    }

    private func write(_ summary: JSONValue) throws {
        try writeText(summary.rendered() + "\n", to: (directory as NSString).appendingPathComponent(shard.summaryName))
    }

    /// Points finished so far (counted by the progress callback), for an interrupted sweep's summary.
    private final class FinishedPoints: @unchecked Sendable { var count = 0 }
}

/// A solved shard: the sweep's outcome, its summary and, with `plot` when the shard is the whole
/// grid, the report whose figure the caller draws (`SweepFigure`).
package struct SweepShardOutcome: RunOutcome {
    package let outcome: SweepOutcome
    package let metrics: SweepSummary
    package let figure: PhaseReport?
}

extension SweepShardRun: OutputRun {
    /// A shard's files are its own (`prepare`).
    package static var outputFiles: [String] { [] }

    /// This run writing into the output's directory (`rerun`'s), if it has one.
    private func located(_ output: RunOutput) -> SweepShardRun {
        var run = self
        if let directory = output.directory { run.directory = directory }
        return run
    }

    package func prepare(_ output: RunOutput) throws {
        let run = located(output), points = shard.indices(in: try grid).count
        try run.estimate().check(what: "sweep shard \(shard) of \(points) points", lower: "the grid's points or the job's sizes, or split it with --shard i/N (or --emit-sbatch --shards N)")
        try run.prepareDirectory()
    }

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> SweepShardOutcome {
        let run = located(output), grid = try grid
        let progress = Progress(total: shard.indices(in: grid).count, label: "sweep \(shard)", unit: "points", enabled: !output.quiet)
        let solved: (outcome: SweepOutcome, summary: SweepSummary)
        do {
            defer { progress.finish() }
            solved = try run.solve(provenance: provenance) { done, total in progress.update(done, detail: "(\(total - done) left)") }
        } catch let stopped as SweepInterrupted {
            throw RunStopped(stopped.description)
        }
        if plot, solved.outcome.merged == nil {
            StandardStreams.writeError("plot: a shard has no figure; draw it when every shard is done: cotflow merge \(run.directory) --plot\n")
        }
        let figure = plot ? solved.outcome.merged.map { PhaseReport(grid: grid, metricNames: plan.settings.job.metricNames, records: $0.records, settings: plan.settings) } : nil
        return SweepShardOutcome(outcome: solved.outcome, metrics: solved.summary, figure: figure)
    }

    /// The shard's files and summary are written as its points finish (`compute`).
    package func write(_ outcome: SweepShardOutcome, output: RunOutput, provenance: Provenance) throws {}
    package static var summaryName: String? { nil }

    package func report(_ outcome: SweepShardOutcome, output: RunOutput) throws -> String {
        outcome.outcome.report(job: plan.settings.job, grid: try grid, jobs: jobs, directory: located(output).directory)
    }
}
