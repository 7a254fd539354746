import CotflowSupport
import Foundation

/// Thrown by a point's `run` to stop the sweep (as an interruption would): the point is not
/// recorded, the outputs keep every finished point, and `runSweep` rethrows. `CancellationError`
/// is treated the same way.
public struct SweepInterrupted: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String = "interrupted") { self.reason = reason }
    public var description: String { "sweep interrupted: \(reason)" }
}

/// Thrown by a point's `run` when it failed but has metrics worth keeping (a partial run):
/// the point is recorded with these metrics and `status` = `message`.
public struct SweepPointFailure: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let metrics: [String: Double]
    public init(_ message: String, metrics: [String: Double] = [:]) {
        self.message = message
        self.metrics = metrics
    }
    public var description: String { message }
}

/// What `runSweep` did.
public struct SweepOutcome: Sendable {
    public let description: SweepDescription
    public let shard: Shard
    /// The shard's records, in index order.
    public let records: [SweepRecord]
    /// Points of the grid in this shard.
    public let shardPoints: Int
    /// Records taken over from an earlier run of the shard (`resume`).
    public let resumed: Int
    /// Paths written: the shard's TSV and JSON, and for an unsharded run the merged files and report.
    public let files: [String]
    /// The merged outputs of an unsharded (`0/1`) run.
    public let merged: MergeOutcome?

    public var failed: Int { records.filter { !$0.succeeded }.count }
}

/// Runs the points of one shard of a grid in index order and writes the shard's outputs,
/// `shard-<i>-of-<N>.tsv` and `shard-<i>-of-<N>.json`, to `directory`.
///
/// Both files are rewritten atomically after every point, so an interrupted sweep leaves valid
/// files holding every finished point; the JSON says `"complete": true` once the shard is done.
/// A point whose `run` throws is recorded with `status` = the error message and NaN metrics (or
/// the metrics of a `SweepPointFailure`), and the sweep goes on. `SweepInterrupted` and
/// `CancellationError` stop the sweep and are rethrown. With `resume`, the finished successful
/// points of an earlier run of the same shard and sweep in `directory` are kept, not rerun.
///
/// An unsharded run (`Shard.whole`) then writes `sweep.tsv`, `sweep.json` and `report.txt`
/// through `mergeShards`, the code path that merges sharded runs.
///
/// - Parameters:
///   - metricNames: the columns recorded; keys of `run`'s result not among them are ignored,
///     missing ones are NaN.
///   - settings: fixed settings written into the outputs; shards merge only when they agree.
///   - progress: called with (points done, points in the shard) after each point.
@discardableResult
public func runSweep(
    grid: SweepGrid, shard: Shard, directory: String, metricNames: [String],
    settings: [(String, String)] = [], resume: Bool = false,
    run: (SweepPoint) throws -> [String: Double],
    progress: ((_ done: Int, _ total: Int) -> Void)? = nil
) throws -> SweepOutcome {
    let description = try SweepDescription(grid: grid, metricNames: metricNames, settings: settings)
    let indices = shard.indices(in: grid)
    let tsvPath = SweepFiles.path(directory, shard.fileStem + ".tsv")
    let jsonPath = SweepFiles.path(directory, shard.fileStem + ".json")

    // Temporary files left by a run of this shard that was killed in the middle of a write.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    where name.hasPrefix("." + shard.fileStem + ".") && name.contains(".tmp-") {
        try? FileManager.default.removeItem(atPath: SweepFiles.path(directory, name))
    }

    var previous: [Int: SweepRecord] = [:]
    if resume, FileManager.default.fileExists(atPath: jsonPath) {
        let json = try JSONReader.parse(try SweepFiles.read(jsonPath), source: jsonPath)
        let old = try SweepDescription.decode(json, file: jsonPath)
        let differences = old.differences(from: description)
        guard differences.isEmpty else {
            throw CotflowError("cannot resume: \(jsonPath) is from another sweep (\(differences.joined(separator: "; ")))")
        }
        for r in try old.decodeRecords(json, file: jsonPath) where r.succeeded && shard.contains(r.index) {
            previous[r.index] = r
        }
    }

    var records: [SweepRecord] = []
    var tsvLines: [String] = [], jsonRecords: [String] = []
    var lastSync = Date.distantPast
    func write(complete: Bool) throws {
        let sync = complete || Date().timeIntervalSince(lastSync) >= SweepFiles.syncInterval
        try SweepFiles.writeAtomically(description.tsvText(tsvLines), to: tsvPath, sync: sync)
        try SweepFiles.writeAtomically(description.shardText(shard: shard, records: jsonRecords, complete: complete), to: jsonPath, sync: sync)
        if sync { lastSync = Date() }
    }
    try write(complete: indices.isEmpty)

    var resumed = 0
    for (done, index) in indices.enumerated() {
        let point = grid.point(index)
        let record: SweepRecord
        if let old = previous[index] {
            record = old
            resumed += 1
        } else {
            do {
                let metrics = try run(point)
                record = SweepRecord(index: index, values: point.values,
                                     metrics: metricNames.map { metrics[$0] ?? .nan }, status: SweepRecord.ok)
            } catch let error as SweepInterrupted {
                throw error
            } catch let error as CancellationError {
                throw error
            } catch let error as SweepPointFailure {
                record = SweepRecord(index: index, values: point.values,
                                     metrics: metricNames.map { error.metrics[$0] ?? .nan }, status: statusText(error.message))
            } catch {
                record = SweepRecord(index: index, values: point.values,
                                     metrics: metricNames.map { _ in .nan }, status: statusText("\(error)"))
            }
        }
        records.append(record)
        tsvLines.append(description.tsvLine(record))
        jsonRecords.append(description.recordText(record))
        try write(complete: done == indices.count - 1)
        progress?(done + 1, indices.count)
    }

    var files = [tsvPath, jsonPath]
    var merged: MergeOutcome?
    if shard.count == 1 {
        let m = try mergeShards(directory: directory, shardCount: 1)
        files += m.files
        merged = m
    }
    return SweepOutcome(description: description, shard: shard, records: records, shardPoints: indices.count,
                        resumed: resumed, files: files, merged: merged)
}

/// A failure message as a one-line status that cannot be mistaken for success.
func statusText(_ message: String) -> String {
    let line = SweepFormat.oneLine(message)
    if line.isEmpty { return "failed" }
    if line == SweepRecord.ok { return "failed: ok" }
    return line
}
