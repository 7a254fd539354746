import CotflowCore
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
    /// Points run at once (threads): the jobs asked, capped at the cores.
    public let jobs: Int
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
///   - integerMetrics: metrics written as JSON integers (counts, steps, 0/1 flags).
///   - settings: fixed settings written into the outputs, typed; shards merge only when they agree.
///   - progress: called with (points done, points in the shard) after each point.
@discardableResult
public func runSweep(
    grid: SweepGrid, shard: Shard, directory: String, metricNames: [String],
    integerMetrics: Set<String> = [], settings: [(String, JSONValue)] = [], resume: Bool = false,
    reporter: SweepReporter? = nil,
    run: (SweepPoint) throws -> [String: Double],
    progress: ((_ done: Int, _ total: Int) -> Void)? = nil
) throws -> SweepOutcome {
    try runSweepCore(grid: grid, shard: shard, directory: directory, metricNames: metricNames, integerMetrics: integerMetrics, settings: settings,
                     resume: resume, reporter: reporter, progress: progress) { indices, finish in
        for index in indices {
            try finish(index, pointRecord(grid.point(index), metricNames: metricNames, run: run))
        }
    }
}

/// `runSweep` with the shard's points run `jobs` at a time on concurrent threads. The records are
/// written in index order whatever order the points finish in, so the files have the same bytes as
/// a serial run (`jobs` = 1) as long as `run` is deterministic per point.
///
/// `jobs` is capped at the machine's cores (`SweepThreads.used(asked:)`); `SweepOutcome.jobs` is
/// the number used.
@discardableResult
public func runSweep(
    grid: SweepGrid, shard: Shard, directory: String, metricNames: [String],
    integerMetrics: Set<String> = [], settings: [(String, JSONValue)] = [], resume: Bool = false, jobs: Int,
    reporter: SweepReporter? = nil,
    run: @escaping @Sendable (SweepPoint) throws -> [String: Double],
    progress: ((_ done: Int, _ total: Int) -> Void)? = nil
) throws -> SweepOutcome {
    guard jobs >= 1 else { throw CotflowError("jobs must be at least 1 (got \(jobs))") }
    let threads = SweepThreads.used(asked: jobs)
    return try runSweepCore(grid: grid, shard: shard, directory: directory, metricNames: metricNames, integerMetrics: integerMetrics, settings: settings,
                            resume: resume, jobs: threads, reporter: reporter, progress: progress) { indices, finish in
        if threads == 1 || indices.count <= 1 {
            for index in indices { try finish(index, pointRecord(grid.point(index), metricNames: metricNames, run: run)) }
            return
        }
        try computeInParallel(indices, workers: min(threads, indices.count), finish: finish) { index in
            try pointRecord(grid.point(index), metricNames: metricNames, run: run)
        }
    }
}

/// Computes the points at `indices` on `workers` dedicated threads (not GCD's pool, which a
/// training point's own parallelMap uses), `compute(index)` on a worker thread,
/// and hands each record to `finish` on this thread as it arrives.
/// A worker stops at its first error; the first error stops the shard (points already under way
/// are still written: no lost work) and is rethrown.
private func computeInParallel(
    _ indices: [Int], workers: Int, finish: (Int, SweepRecord) throws -> Void,
    compute: @escaping @Sendable (_ index: Int) throws -> SweepRecord
) throws {
    let state = ParallelState()
    let ready = DispatchSemaphore(value: 0)
    for _ in 0..<workers {
        let thread = Thread {
            while let position = state.next(limit: indices.count) {
                let index = indices[position]
                do {
                    state.push(.record(index, try compute(index)))
                    ready.signal()
                } catch {
                    state.push(.failure(error))
                    ready.signal()
                    return
                }
            }
        }
        thread.stackSize = 16 << 20
        thread.start()
    }
    var handled = 0
    var firstError: Error?
    while !state.allHandled(handled, limit: indices.count) {
        ready.wait()
        handled += 1
        switch state.pop() {
        case .record(let index, let record):
            do { try finish(index, record) } catch {
                if firstError == nil { firstError = error }
                state.stop()
            }
        case .failure(let error):
            if firstError == nil { firstError = error }
            state.stop()
        }
    }
    if let firstError { throw firstError }
}

/// Work distribution and finished points of a parallel shard.
private final class ParallelState: @unchecked Sendable {
    enum Outcome: Sendable {
        case record(Int, SweepRecord)
        case failure(Error)
    }
    private let lock = NSLock()
    private var taken = 0
    private var stopped = false
    private var outcomes: [Outcome] = []

    /// The next position to compute, nil once all are taken or the shard stopped.
    func next(limit: Int) -> Int? {
        locked {
            guard !stopped, taken < limit else { return nil }
            taken += 1
            return taken - 1
        }
    }

    func push(_ outcome: Outcome) { locked { outcomes.append(outcome) } }
    func pop() -> Outcome { locked { outcomes.removeFirst() } }
    func stop() { locked { stopped = true } }

    /// True when every position taken has been handled and no more will be taken.
    func allHandled(_ handled: Int, limit: Int) -> Bool {
        locked { handled == taken && (stopped || taken == limit) }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// How many threads a sweep runs its points on.
public enum SweepThreads {
    /// The machine's cores (`activeProcessorCount`): the default and the cap of `jobs`.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
    /// `asked` capped at the cores: more threads than cores only contend.
    public static func used(asked: Int) -> Int { max(1, min(asked, cores)) }
}

/// The record of one point: its metrics, or the failure (interruptions are rethrown).
func pointRecord(_ point: SweepPoint, metricNames: [String], run: (SweepPoint) throws -> [String: Double]) throws -> SweepRecord {
    do {
        let metrics = try run(point)
        return SweepRecord(index: point.index, values: point.values,
                           metrics: metricNames.map { metrics[$0] ?? .nan }, status: SweepRecord.ok)
    } catch let error as SweepInterrupted {
        throw error
    } catch let error as CancellationError {
        throw error
    } catch let error as SweepPointFailure {
        return SweepRecord(index: point.index, values: point.values,
                           metrics: metricNames.map { error.metrics[$0] ?? .nan }, status: statusText(error.message))
    } catch {
        return SweepRecord(index: point.index, values: point.values,
                           metrics: metricNames.map { _ in .nan }, status: statusText("\(error)"))
    }
}

private func runSweepCore(
    grid: SweepGrid, shard: Shard, directory: String, metricNames: [String],
    integerMetrics: Set<String>, settings: [(String, JSONValue)], resume: Bool, jobs: Int = 1, reporter: SweepReporter?,
    progress: ((_ done: Int, _ total: Int) -> Void)?,
    compute: (_ indices: [Int], _ finish: (Int, SweepRecord) throws -> Void) throws -> Void
) throws -> SweepOutcome {
    let description = try SweepDescription(grid: grid, metricNames: metricNames, integerMetrics: integerMetrics, settings: settings)
    let indices = shard.indices(in: grid)
    let tsvPath = SweepFiles.path(directory, shard.fileStem + ".tsv")
    let jsonPath = SweepFiles.path(directory, shard.fileStem + ".json")

    // Temporary files left by a run of this shard that was killed in the middle of a write.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    where FileOutput.isTemporary(name, of: shard.fileStem + ".tsv") || FileOutput.isTemporary(name, of: shard.fileStem + ".json") {
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

    // Finished records by index; the files always hold them in index order. Each write holds every
    // record, so a write after every point cost O(points^2) bytes (a shard of 5000 quick points ran
    // past a minute against its 5 s estimate): while the shard runs, the files are rewritten at most
    // every `writeInterval` (a signal's stop and the end write them at once).
    var finished: [Int: (record: SweepRecord, tsv: String, json: String)] = [:]
    var lastSync = Date.distantPast, lastWrite = Date.distantPast
    func write(complete: Bool, now: Bool = false) throws {
        guard complete || now || Date().timeIntervalSince(lastWrite) >= SweepFiles.writeInterval else { return }
        let sync = complete || Date().timeIntervalSince(lastSync) >= SweepFiles.syncInterval
        let ordered = finished.keys.sorted().map { finished[$0]! }
        try SweepFiles.writeAtomically(description.tsvText(ordered.map(\.tsv)), to: tsvPath, sync: sync)
        try SweepFiles.writeAtomically(description.shardText(shard: shard, records: ordered.map(\.json), complete: complete), to: jsonPath, sync: sync)
        lastWrite = Date()
        if sync { lastSync = lastWrite }
    }
    func add(_ record: SweepRecord) {
        finished[record.index] = (record, description.tsvLine(record), description.recordText(record))
    }
    try write(complete: indices.isEmpty, now: true)

    var resumed = 0
    var toRun: [Int] = []
    for index in indices {
        if let old = previous[index] { add(old); resumed += 1 } else { toRun.append(index) }
    }
    if resumed > 0 {
        try write(complete: toRun.isEmpty, now: true)
        progress?(resumed, indices.count)
    }
    do {
        try compute(toRun) { _, record in
            add(record)
            try write(complete: finished.count == indices.count)
            progress?(finished.count, indices.count)
        }
    } catch {
        // A stop (or a failure) keeps every point finished so far.
        try? write(complete: false, now: true)
        throw error
    }

    let records = finished.keys.sorted().map { finished[$0]!.record }
    var files = [tsvPath, jsonPath]
    var merged: MergeOutcome?
    if shard.count == 1 {
        let m = try mergeShards(directory: directory, shardCount: 1, reporter: reporter)
        files += m.files
        merged = m
    }
    return SweepOutcome(description: description, shard: shard, records: records, shardPoints: indices.count,
                        resumed: resumed, jobs: jobs, files: files, merged: merged)
}

/// A failure message as a one-line status that cannot be mistaken for success.
func statusText(_ message: String) -> String {
    let line = SweepFormat.oneLine(message)
    if line.isEmpty { return "failed" }
    if line == SweepRecord.ok { return "failed: ok" }
    return line
}
