import CotflowCore
import Foundation

/// summary.json of a sweep run (`cotflow sweep`, one shard or the whole grid), after the provenance
/// (`recordedSettings`): the job, the grid and the shard, then what ran (completed) or how far it
/// got (interrupted by a signal: the shard files hold every finished point).
public struct SweepSummary: Codable, Sendable {
    /// `completed` or `interrupted`.
    public var status: String
    /// The signal of an interrupted run.
    public var signal: String?
    public var job: SweepJob
    /// The axes (`SweepGrid.json`).
    public var grid: JSONValue
    public var gridPoints: Int
    public var shard: ShardIndex
    /// A completed run: points asked to run at once and run at once, records, failed points, points
    /// kept from an earlier run, whether the shard is complete, and the files written (names in the directory).
    public var jobs, jobsUsed, records, failed, resumed: Int?
    public var complete: Bool?
    public var files: [String]?
    /// An interrupted run: points finished, of the shard's.
    public var finishedPoints, shardPoints: Int?

    /// Which shard ran.
    public struct ShardIndex: Codable, Sendable {
        public var index, count: Int
    }

    private enum CodingKeys: String, CodingKey {
        case status, signal, job, grid, gridPoints = "grid_points", shard, jobs, jobsUsed = "jobs_used", records, failed, resumed
        case complete, files, finishedPoints = "finished_points", shardPoints = "shard_points"
    }

    /// A completed run of `shard`.
    public init(_ outcome: SweepOutcome, job: SweepJob, grid: SweepGrid, jobs: Int) {
        self.init(status: "completed", job: job, grid: grid, shard: outcome.shard)
        (self.jobs, jobsUsed, records, failed, resumed) = (jobs, outcome.jobs, outcome.records.count, outcome.failed, outcome.resumed)
        complete = outcome.records.count == outcome.shardPoints
        // Names in the directory (not paths), so that a rerun into another directory writes the same summary.
        files = outcome.files.map { ($0 as NSString).lastPathComponent }
    }

    /// A run of `shard` stopped by `signal` after `finished` points.
    public init(interruptedBy signal: String, job: SweepJob, grid: SweepGrid, shard: Shard, finished: Int) {
        self.init(status: "interrupted", job: job, grid: grid, shard: shard)
        self.signal = signal
        (finishedPoints, shardPoints) = (finished, shard.indices(in: grid).count)
    }

    private init(status: String, job: SweepJob, grid: SweepGrid, shard: Shard) {
        (self.status, self.job, self.grid, gridPoints) = (status, job, grid.json, grid.count)
        self.shard = ShardIndex(index: shard.index, count: shard.count)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        if let signal { try c.encode(signal, forKey: .signal) }
        try c.encode(job, forKey: .job); try c.encode(grid, forKey: .grid); try c.encode(gridPoints, forKey: .gridPoints)
        try c.encode(shard, forKey: .shard)
        if let finishedPoints, let shardPoints {
            try c.encode(finishedPoints, forKey: .finishedPoints); try c.encode(shardPoints, forKey: .shardPoints)
        }
        if let jobs, let jobsUsed, let records, let failed, let resumed, let complete, let files {
            try c.encode(jobs, forKey: .jobs); try c.encode(jobsUsed, forKey: .jobsUsed); try c.encode(records, forKey: .records)
            try c.encode(failed, forKey: .failed); try c.encode(resumed, forKey: .resumed); try c.encode(complete, forKey: .complete)
            try c.encode(files, forKey: .files)
        }
    }
}

extension SweepOutcome {
    /// What `cotflow sweep` prints: the grid and the shard, the merged report of an unsharded run,
    /// the files written, and the merge still to do for a sharded one.
    public func report(job: SweepJob, grid: SweepGrid, jobs asked: Int, directory: String) -> String {
        var lines = ["\(job.rawValue) sweep \(grid.spec): \(grid.count) points; shard \(shard): \(records.count) points, \(failed) failed"
            + (resumed > 0 ? ", \(resumed) kept from an earlier run" : "")]
        if jobs < asked { lines.append("--jobs \(asked): ran \(jobs) points at once (one per core)") }
        if let merged { lines.append(merged.report.trimmingCharacters(in: .newlines)) }
        lines.append("wrote " + files.joined(separator: ", "))
        if shard.count > 1 { lines.append("when every shard is done: cotflow merge \(directory)") }
        return lines.joined(separator: "\n")
    }
}

/// What `cotflow merge` prints with --json: the grid, the shards and records merged, the points
/// missing and the files written.
public struct MergeSummary: Codable, Sendable {
    public var grid: JSONValue
    public var gridPoints, shards, records, failed: Int
    public var missing: [Int]
    public var complete: Bool
    public var files: [String]

    private enum CodingKeys: String, CodingKey {
        case grid, gridPoints = "grid_points", shards, records, failed, missing, complete, files
    }

    public init(_ outcome: MergeOutcome) {
        (grid, gridPoints, shards) = (outcome.description.grid.json, outcome.description.grid.count, outcome.shardCount)
        (records, failed, missing, complete, files) = (outcome.records.count, outcome.failed, outcome.missing, outcome.missing.isEmpty, outcome.files)
    }
}

extension MergeOutcome {
    /// What `cotflow merge` prints: the shards merged, the report, the files written.
    public var summaryReport: String {
        "merged \(shardCount) shard\(shardCount == 1 ? "" : "s") of \(description.grid.spec): \(records.count) of \(description.grid.count) points\n"
            + report + "wrote " + files.joined(separator: ", ")
    }
}

extension Shard {
    /// The summary of this shard's run: `summary.json` unsharded, `summary-shard-<i>-of-<N>.json` sharded.
    public var summaryName: String { count == 1 ? "summary.json" : "summary-\(fileStem).json" }

    /// The files a run of this shard writes to its directory (those an earlier run left are its finished points).
    public var outputFiles: [String] {
        [fileStem + ".tsv", fileStem + ".json", summaryName] + (count == 1 ? ["sweep.tsv", "sweep.json", "report.txt", "report.json"] : [])
    }
}

extension SweepJob {
    /// The grid of the axis specs `name=...` for this job; a known name the job cannot vary is
    /// refused with the reason (every refusal an input error).
    public func grid(_ specs: [String]) throws -> SweepGrid {
        for spec in specs {
            let name = String(spec.filter { !$0.isWhitespace }.prefix { $0 != "=" })
            if !axisNames.contains(name), let reason = refusal(axis: name) { throw CotflowError.input("axis '\(name)': \(reason)") }
        }
        do {
            return try SweepGrid(specs: specs, allowedNames: axisNames, integerNames: SweepJob.integerAxes)
        } catch let error as ReportableError {
            throw CotflowError.input(error.description)
        }
    }
}
