import CotflowCore
import Foundation

/// One run of a sweep as `cotflow sweep` asks it: a shard of a plan's grid into a directory, with
/// how it runs (threads, resume) and what its summary records.
public struct SweepShardRun: Sendable {
    public var plan: SweepPlan
    public var grid: SweepGrid
    public var shard: Shard
    public var directory: String
    /// Points run at once, as asked.
    public var jobs: Int
    /// Keep the finished points of an earlier run of this shard; `force`: discard them.
    public var resume, force: Bool
    /// Recorded in the summary's settings (the figure is the caller's).
    public var plot: Bool
    public var plotMetric: String?

    public init(plan: SweepPlan, grid: SweepGrid, shard: Shard, directory: String, jobs: Int, resume: Bool, force: Bool, plot: Bool, plotMetric: String?) {
        (self.plan, self.grid, self.shard, self.directory, self.jobs) = (plan, grid, shard, directory, jobs)
        (self.resume, self.force, self.plot, self.plotMetric) = (resume, force, plot, plotMetric)
    }

    /// Refuses to overwrite the finished points of an earlier run in the directory (`resume` keeps
    /// them, `force` discards them), then creates it.
    public func prepareDirectory() throws {
        do {
            try OutputDirectory.prepare(directory, files: resume ? [] : shard.outputFiles, force: force, shard: shard.count > 1 ? shard.fileStem : nil)
        } catch let error as CotflowError {
            throw CotflowError.input(error.description + (resume ? "" : "; or pass --resume to keep the finished points of that run and run only the rest"))
        }
    }

    /// Runs the shard and writes its summary (provenance: the command line and every setting, so
    /// that `cotflow rerun DIR` can run it again); `progress(done, total)` after every point. A
    /// signal stops the run: the summary says how far it got and `SweepInterrupted` is rethrown.
    public func solve(progress: ((Int, Int) -> Void)? = nil) throws -> (outcome: SweepOutcome, summary: JSONValue) {
        let settings = plan.settings
        let provenance = Provenance(settings: try SweepSummary.recordedSettings(settings, grid: grid, shard: shard, jobs: jobs, resume: resume,
                                                                                 plot: plot, plotMetric: plotMetric))
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
            try write(.object(provenance.json + (try JSONValue.encoding(summary).objectValue ?? [])))
            throw stopped
        }
        let json = JSONValue.object(provenance.json + (try JSONValue.encoding(summary).objectValue ?? []))
        try write(json)
        return (outcome, json)
    }

    private func write(_ summary: JSONValue) throws {
        try writeText(summary.rendered() + "\n", to: (directory as NSString).appendingPathComponent(shard.summaryName))
    }

    /// Points finished so far (counted by the progress callback), for an interrupted sweep's summary.
    private final class FinishedPoints: @unchecked Sendable { var count = 0 }
}
