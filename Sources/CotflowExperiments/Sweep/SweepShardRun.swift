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
    package func solve(provenance: Provenance, progress: ((Int, Int) -> Void)? = nil) throws -> (outcome: SweepOutcome, summary: JSONValue) {
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
        let json = try RunSummary(provenance: provenance, run: self, result: summary).json()
        try write(json)
        return (outcome, json)
    }

    private func write(_ summary: JSONValue) throws {
        try writeText(summary.rendered() + "\n", to: (directory as NSString).appendingPathComponent(shard.summaryName))
    }

    /// Points finished so far (counted by the progress callback), for an interrupted sweep's summary.
    private final class FinishedPoints: @unchecked Sendable { var count = 0 }
}
