import CotflowCore
import Foundation

/// What `mergeShards` found and wrote.
public struct MergeOutcome: Sendable {
    public let description: SweepDescription
    public let shardCount: Int
    /// Every record found, in index order.
    public let records: [SweepRecord]
    /// Grid points with no record (empty unless `allowPartial`).
    public let missing: [Int]
    /// Shards whose file is missing or not complete (empty unless `allowPartial`).
    public let incompleteShards: [Int]
    /// Paths written: `sweep.tsv`, `sweep.json`, `report.txt`.
    public let files: [String]
    /// The text written to `report.txt`.
    public let report: String

    public var failed: Int { records.filter { !$0.succeeded }.count }
}

/// The work of `mergeShards` on `directory` (`merge --estimate`): reading and checking every shard
/// file, linear in their bytes.
package func mergeEstimate(directory: String) -> WorkEstimate {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("shard-") }) ?? []
    let bytes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent($0))[.size] as? NSNumber }
        .reduce(0.0) { $0 + $1.doubleValue }
    return WorkEstimate([.init("merge", .serial, operations: 200 * bytes, basis: "\(files.count) shard files, \(Int(bytes)) bytes")])
}

extension MergeOutcome {
    /// The report whose figure `merge --plot` draws (`SweepFigure`); `metric`, if given, is one of the sweep's.
    package func figureReport(metric: String?) throws -> PhaseReport {
        let d = description, settings = try ExperimentSettings(recorded: d.settings)
        if let m = metric?.split(separator: ",").map(String.init).first(where: { !d.metricNames.contains($0) }) {
            throw CotflowError.input("--plot-metric \(m) is not a metric of this sweep (metrics: \(d.metricNames.joined(separator: ", ")))")
        }
        return PhaseReport(grid: d.grid, metricNames: d.metricNames, records: records, settings: settings)
    }
}

/// Merges the shard outputs `shard-<i>-of-<N>.json` in `directory` into `sweep.tsv`, `sweep.json`
/// and `report.txt`, every point in index order.
///
/// All shard files must describe the same grid, metrics and settings, with one shard count N
/// (pass `shardCount` to pick one when files of several runs share the directory). Missing
/// shards, incomplete shards and missing points are errors naming them, unless `allowPartial`,
/// which merges what there is and lists the rest in the outputs. The merged files do not depend
/// on N: merging the shards of a grid gives the same bytes as the unsharded run. `metric` (a
/// figure's metric) must be one of the sweep's, checked before anything is written. The
/// directory is locked (`OutputDirectory.lock`) against another run writing into it.
@discardableResult
public func mergeShards(directory: String, shardCount: Int? = nil, allowPartial: Bool = false, metric: String? = nil,
                        reporter: SweepReporter? = nil) throws -> MergeOutcome {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw MergeError.notADirectory(directory)
    }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    var found: [(file: String, index: Int, count: Int)] = []
    for name in names {
        guard let (i, n) = parseShardFileName(name) else { continue }
        found.append((name, i, n))
    }
    found.sort { ($0.count, $0.index) < ($1.count, $1.index) }
    if let shardCount { found = found.filter { $0.count == shardCount } }
    guard !found.isEmpty else {
        throw MergeError.noShardFiles(directory: directory, count: shardCount)
    }
    let counts = Array(Set(found.map(\.count))).sorted()
    guard counts.count == 1, let count = counts.first else {
        throw MergeError.mixedCounts(directory: directory, counts: counts)
    }

    var description: SweepDescription?
    var firstFile = ""
    var byIndex: [Int: SweepRecord] = [:]
    var incomplete: [Int] = []
    var problems: [String] = []
    for entry in found {
        let path = SweepFiles.path(directory, entry.file)
        let json = try JSONReader.parse(try SweepFiles.read(path), source: path)
        let format = json["format"]?.stringValue ?? ""
        guard format == SweepFiles.shardFormat || SweepFiles.olderFormats.contains(format) else {
            throw MergeError.notAShardFile(entry.file)
        }
        let d = try SweepDescription.decode(json, file: entry.file)
        guard json["shard"]?["index"]?.intValue == entry.index, json["shard"]?["count"]?.intValue == entry.count else {
            throw MergeError.wrongShard(file: entry.file, says: (json["shard"]?["index"]?.intValue ?? -1, json["shard"]?["count"]?.intValue ?? -1),
                                        expected: (entry.index, entry.count))
        }
        if let first = description {
            let differences = d.differences(from: first)
            guard differences.isEmpty else {
                throw MergeError.differentSweeps(file: entry.file, first: firstFile, differences: differences)
            }
        } else {
            description = d
            firstFile = entry.file
        }
        let shard = try Shard(index: entry.index, count: entry.count)
        let records = try d.decodeRecords(json, file: entry.file)
        for r in records {
            guard shard.contains(r.index) else { throw MergeError.pointOutsideShard(file: entry.file, point: r.index, shard: "\(shard)") }
            guard byIndex[r.index] == nil else { throw MergeError.pointTwice(file: entry.file, point: r.index) }
            byIndex[r.index] = r
        }
        let expected = shard.indices(in: d.grid)
        if json["complete"]?.boolValue != true || records.count != expected.count {
            incomplete.append(entry.index)
            let lacking = expected.filter { byIndex[$0] == nil }
            problems.append(records.count == expected.count
                ? "\(entry.file) holds all \(expected.count) points but is not marked complete (its run stopped before the end of the shard; rerun the shard with --resume)"
                : "\(entry.file) is incomplete: \(records.count) of \(expected.count) points done"
                    + (lacking.isEmpty ? "" : " (missing points \(listed(lacking)))"))
        }
    }
    guard let description else { throw MergeError.noShards(directory) }
    // A 1-D figure takes a comma-separated list.
    if let metric, let unknown = metric.split(separator: ",").map(String.init).first(where: { !description.metricNames.contains($0) }) {
        throw MergeError.unknownMetric(unknown, metrics: description.metricNames)
    }

    let present = Set(found.map(\.index))
    let absent = (0..<count).filter { !present.contains($0) }
    if !absent.isEmpty {
        incomplete.append(contentsOf: absent)
        incomplete.sort()
        problems.insert("missing shard\(absent.count == 1 ? "" : "s") \(listed(absent)) of \(count) (no "
            + absent.prefix(3).map { "shard-\($0)-of-\(count).json" }.joined(separator: ", ")
            + (absent.count > 3 ? ", ..." : "") + ")", at: 0)
    }
    let missing = (0..<description.grid.count).filter { byIndex[$0] == nil }
    if !problems.isEmpty, !allowPartial {
        throw MergeError.incomplete(directory: directory, problems: problems, missing: missing.count, points: description.grid.count)
    }

    let records = byIndex.keys.sorted().map { byIndex[$0]! }
    var reports: [(name: String, text: String)]
    if let reporter {
        reports = try reporter(description, records, missing)
    } else {
        reports = [(SweepFiles.report, sweepReport(records: records, grid: description.grid, metricNames: description.metricNames))]
    }
    if !missing.isEmpty, reports[0].name == SweepFiles.report {
        reports[0].text += "incomplete: \(missing.count) of \(description.grid.count) points missing (\(listed(missing)))\n"
    }
    let tsvPath = SweepFiles.path(directory, SweepFiles.mergedTSV)
    let jsonPath = SweepFiles.path(directory, SweepFiles.mergedJSON)
    try OutputDirectory.lock(directory, option: "merge's directory")
    try SweepFiles.writeAtomically(description.tsv(records), to: tsvPath)
    try SweepFiles.writeAtomically(description.mergedText(records: records, missing: missing), to: jsonPath)
    var files = [tsvPath, jsonPath]
    for r in reports {
        let path = SweepFiles.path(directory, r.name)
        try SweepFiles.writeAtomically(r.text, to: path)
        files.append(path)
    }
    return MergeOutcome(description: description, shardCount: count, records: records, missing: missing,
                        incompleteShards: incomplete, files: files, report: reports.first?.text ?? "")
}

/// Builds the report files of a merged sweep from its description, records (index order) and missing
/// point indices: (file name, text) pairs, `report.txt` first. Without a reporter, `mergeShards`
/// writes `sweepReport` as `report.txt`.
public typealias SweepReporter = @Sendable (_ description: SweepDescription, _ records: [SweepRecord], _ missing: [Int]) throws -> [(name: String, text: String)]

/// (i, N) of a file named `shard-<i>-of-<N>.json`.
func parseShardFileName(_ name: String) -> (Int, Int)? {
    guard name.hasPrefix("shard-"), name.hasSuffix(".json") else { return nil }
    let core = name.dropFirst("shard-".count).dropLast(".json".count)
    let parts = core.components(separatedBy: "-of-")
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n,
          parts[0] == String(i), parts[1] == String(n) else { return nil }
    return (i, n)
}

/// "3, 7, 11" or "3, 7, 11, ... (40 in all)".
func listed(_ xs: [Int], limit: Int = 8) -> String {
    let head = xs.prefix(limit).map(String.init).joined(separator: ", ")
    return xs.count > limit ? head + ", ... (\(xs.count) in all)" : head
}
