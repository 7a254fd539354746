import CotflowCore
import Foundation

/// The result of one grid point: its axis values, one value per metric (NaN when missing) and a
/// status, `ok` or the error message of a failed run.
public struct SweepRecord: Sendable {
    public static let ok = "ok"

    public let index: Int
    /// Axis values, in the grid's axis order.
    public let values: [Double]
    /// Metric values, in the order of the sweep's metric names.
    public let metrics: [Double]
    public let status: String

    public init(index: Int, values: [Double], metrics: [Double], status: String) {
        self.index = index
        self.values = values
        self.metrics = metrics
        self.status = status
    }

    public var succeeded: Bool { status == SweepRecord.ok }
}

/// What a sweep computes: the grid, the metrics recorded at each point and the settings held
/// fixed (recorded in the outputs and checked when shards are merged).
public struct SweepDescription: Sendable {
    public let grid: SweepGrid
    public let metricNames: [String]
    /// Metrics whose values are integers (counts, steps, 0/1 flags): written as JSON integers.
    public let integerMetrics: Set<String>
    /// The fixed settings, typed: integers as JSON integers, numbers as floats, names as strings.
    public let settings: [(String, JSONValue)]

    public init(grid: SweepGrid, metricNames: [String], integerMetrics: Set<String> = [], settings: [(String, JSONValue)] = []) throws {
        var seen = Set(["index", "status"])
        for name in grid.names {
            guard seen.insert(name).inserted else { throw SweepDescriptionError.reservedAxisName(name) }
        }
        for name in metricNames {
            guard SweepFormat.isPlainName(name) else { throw SweepDescriptionError.metricName(name) }
            guard seen.insert(name).inserted else { throw SweepDescriptionError.metricRepeated(name) }
        }
        if let unknown = integerMetrics.subtracting(metricNames).sorted().first {
            throw SweepDescriptionError.unknownIntegerMetric(unknown)
        }
        self.grid = grid
        self.metricNames = metricNames
        self.integerMetrics = integerMetrics
        self.settings = settings
    }

    /// Differences from another description, empty when both describe the same sweep.
    func differences(from other: SweepDescription) -> [String] {
        var out: [String] = []
        if grid.names != other.grid.names {
            out.append("axes \(grid.names.joined(separator: ", ")) vs \(other.grid.names.joined(separator: ", "))")
        } else {
            for (a, b) in zip(grid.axes, other.grid.axes) where a != b {
                out.append("axis \(a.name): \(a.spec) vs \(b.spec)")
            }
        }
        if metricNames != other.metricNames {
            out.append("metrics \(metricNames.joined(separator: ",")) vs \(other.metricNames.joined(separator: ","))")
        } else if integerMetrics != other.integerMetrics {
            out.append("integer metrics \(integerMetrics.sorted().joined(separator: ",")) vs \(other.integerMetrics.sorted().joined(separator: ","))")
        }
        let mine = settings.map { "\($0.0)=\($0.1.rendered(pretty: false))" }, theirs = other.settings.map { "\($0.0)=\($0.1.rendered(pretty: false))" }
        if mine != theirs {
            let onlyMine = mine.filter { !theirs.contains($0) }, onlyTheirs = theirs.filter { !mine.contains($0) }
            out.append("settings \(onlyMine.joined(separator: " ")) vs \(onlyTheirs.joined(separator: " "))")
        }
        return out
    }

    // MARK: - Tables

    /// Tab-separated values: a header row (`index`, the axis names, the metric names, `status`) and
    /// one row per record. A metric not reached or not measured (NaN) is an empty cell; infinities
    /// are `inf`, `-inf`. No field holds a tab, a newline or a double quote, so any CSV reader with
    /// a tab delimiter reads one value per column (pandas reads an empty cell as NaN).
    public func tsv(_ records: [SweepRecord]) -> String {
        tsvText(records.map(tsvLine))
    }

    var tsvHeader: String { (["index"] + grid.names + metricNames + ["status"]).joined(separator: "\t") }

    func tsvLine(_ r: SweepRecord) -> String {
        ([String(r.index)] + r.values.map(SweepFormat.number) + r.metrics.map(SweepFormat.cell)
            + [SweepFormat.oneLine(r.status).replacingOccurrences(of: "\"", with: "'")]).joined(separator: "\t")
    }

    func tsvText(_ lines: [String]) -> String {
        ([tsvHeader] + lines).joined(separator: "\n") + "\n"
    }

    // MARK: - JSON
    // Files are assembled from records rendered once (`recordText`), so that rewriting a shard's
    // files after every point costs little more than the write; the bytes are those of
    // `JSONValue.rendered()` of the whole object.

    var headJSON: [(String, JSONValue)] {
        [("grid", grid.json), ("grid_points", .int(grid.count)),
         ("settings", .object(settings)),
         ("metrics", .array(metricNames.map { .string($0) })),
         ("integer_metrics", .array(metricNames.filter(integerMetrics.contains).map { .string($0) }))]
    }

    func recordJSON(_ r: SweepRecord) -> JSONValue {
        .object([
            ("index", .int(r.index)),
            ("point", .object(zip(grid.axes, r.values).map { ($0.name, $0.json($1)) })),
            ("metrics", .object(zip(metricNames, r.metrics).map { name, x in
                (name, integerMetrics.contains(name) && x.isFinite && x == x.rounded() && abs(x) < 1e15 ? .int(Int(x)) : JSONValue.lossless(x))
            })),
            ("status", .string(SweepFormat.oneLine(r.status))),
        ])
    }

    /// A record as it appears inside the top-level `records` array.
    func recordText(_ r: SweepRecord) -> String { recordJSON(r).rendered(indent: 2) }

    /// A top-level object from its pairs and a `records` array of pre-rendered records.
    private func objectText(_ pairs: [(String, JSONValue)], records: [String]) -> String {
        let array = records.isEmpty ? "[]" : "[\n" + records.map { "    " + $0 }.joined(separator: ",\n") + "\n  ]"
        let fields = pairs.map { "  " + JSONValue.string($0.0).rendered() + ": " + $0.1.rendered(indent: 1) }
            + ["  " + JSONValue.string("records").rendered() + ": " + array]
        return "{\n" + fields.joined(separator: ",\n") + "\n}\n"
    }

    /// The JSON text of one shard's output.
    func shardText(shard: Shard, records: [String], complete: Bool) -> String {
        objectText([("format", .string(SweepFiles.shardFormat))] + headJSON + [
            ("shard", .object([("index", .int(shard.index)), ("count", .int(shard.count))])),
            ("shard_points", .int(shard.indices(in: grid).count)),
            ("done", .int(records.count)),
            ("complete", .bool(complete)),
        ], records: records)
    }

    /// The JSON text of a merged sweep (no trace of how it was sharded).
    func mergedText(records: [SweepRecord], missing: [Int]) -> String {
        objectText([("format", .string(SweepFiles.mergedFormat))] + headJSON + [
            ("complete", .bool(missing.isEmpty)),
            ("missing", .array(missing.map { .int($0) })),
            ("failed", .int(records.filter { !$0.succeeded }.count)),
        ], records: records.map(recordText))
    }

    /// Reads the description part of a shard or merged JSON file (format 2). A file of format 1
    /// (cotflow before typed settings) is refused, saying so.
    static func decode(_ json: JSONValue, file: String) throws -> SweepDescription {
        func bad(_ what: String) -> CotflowError { CotflowError.input("\(file): not a sweep output (\(what))") }
        if let format = json["format"]?.stringValue, SweepFiles.olderFormats.contains(format) {
            throw SweepDescriptionError.olderFormat(file: file, format: format)
        }
        guard let axesJSON = json["grid"]?.arrayValue else { throw bad("no grid") }
        var axes: [SweepAxis] = []
        for a in axesJSON {
            guard let name = a["name"]?.stringValue, let spec = a["spec"]?.stringValue,
                  let type = a["type"]?.stringValue, type == "int" || type == "float",
                  let items = a["values"]?.arrayValue else { throw bad("bad axis") }
            let values = items.compactMap(\.doubleValue)
            guard values.count == items.count, values.allSatisfy(\.isFinite) else { throw bad("axis \(name) has a value that is not a finite number") }
            axes.append(SweepAxis(name: name, spec: spec, values: values, integer: type == "int"))
        }
        guard let metricNames = json["metrics"]?.arrayValue?.compactMap(\.stringValue) else { throw bad("no metrics") }
        guard let integerMetrics = json["integer_metrics"]?.arrayValue?.compactMap(\.stringValue) else { throw bad("no integer_metrics") }
        guard let settings = json["settings"]?.objectValue else { throw bad("no settings") }
        do {
            return try SweepDescription(grid: SweepGrid(axes: axes), metricNames: metricNames, integerMetrics: Set(integerMetrics), settings: settings)
        } catch {
            throw bad("\(error)")
        }
    }

    /// A metric as the tool writes it: a finite JSON number, null (not reached or not measured:
    /// NaN), or "inf" / "-inf". An integer metric is a whole number; a loss (a metric named with `loss`: losses, the
    /// times they take and their shares) is not negative. Anything else is a tampered file.
    static func metric(_ value: JSONValue, name: String, integer: Bool, point: Int, bad: (String) -> CotflowError) throws -> Double {
        let x: Double
        switch value {
        case .null: return .nan
        case .int(let n): x = Double(n)
        case .number(let v):
            // The writer writes an infinity as "inf"; a number literal beyond a double is tampering.
            guard v.isFinite else { throw bad("point \(point): metric \(name) = \(v) is not finite") }
            x = v
        case .string("inf"): x = .infinity
        case .string("-inf"): x = -.infinity
        default: throw bad("point \(point): metric \(name) is not a number or null")
        }
        if integer, x.isFinite, x != x.rounded() || abs(x) > 9e15 { throw bad("point \(point): metric \(name) = \(x) is not a whole number") }
        if name.contains("loss"), x < 0 { throw bad("point \(point): metric \(name) = \(x) is negative") }
        return x
    }

    /// Reads the records of a shard or merged JSON file, strictly (`metric`): a tampered file is
    /// refused (an input error naming the file and the point), never merged or resumed.
    func decodeRecords(_ json: JSONValue, file: String) throws -> [SweepRecord] {
        func bad(_ what: String) -> CotflowError { CotflowError.input("\(file): bad record (\(what))") }
        guard let items = json["records"]?.arrayValue else { throw bad("no records") }
        var records: [SweepRecord] = []
        for item in items {
            guard let index = item["index"]?.intValue, index >= 0, index < grid.count else { throw bad("index missing or outside the grid") }
            guard let point = item["point"], let metrics = item["metrics"], let status = item["status"]?.stringValue else {
                throw bad("point \(index) incomplete")
            }
            let values = try grid.names.map { name -> Double in
                guard let x = point[name]?.doubleValue else { throw bad("point \(index) has no \(name)") }
                return x
            }
            guard values == grid.point(index).values else { throw bad("point \(index) has values that do not match the grid") }
            let ms = try metricNames.map { name -> Double in
                guard let value = metrics[name] else { throw bad("point \(index) has no metric \(name)") }
                return try Self.metric(value, name: name, integer: integerMetrics.contains(name), point: index, bad: bad)
            }
            guard !status.isEmpty, SweepFormat.oneLine(status) == status else { throw bad("point \(index) has a status that is not one line of text") }
            records.append(SweepRecord(index: index, values: values, metrics: ms, status: status))
        }
        return records
    }
}

/// File names and the atomic writer of sweep outputs.
package enum SweepFiles {
    static let shardFormat = "cotflow-sweep-shard 2"
    static let mergedFormat = "cotflow-sweep 2"
    /// Formats that stored the settings as strings.
    static let olderFormats: Set<String> = ["cotflow-sweep-shard 1", "cotflow-sweep 1"]
    package static let mergedTSV = "sweep.tsv"
    package static let mergedJSON = "sweep.json"
    package static let report = "report.txt"
    /// Seconds between rewrites of a running shard's files (each holds every finished record).
    package static let writeInterval: TimeInterval = 1
    /// Seconds between fsyncs of a running shard's files.
    package static let syncInterval: TimeInterval = 5

    /// Writes `text` to `path` through `FileOutput`: `path` holds either its old or its new
    /// content, never a partial write, whenever the process stops, and a symlink there is replaced,
    /// never followed. With `sync` the data are flushed to disk (fsync) before the rename, so the
    /// file also survives a machine crash; that costs milliseconds on a busy disk, so a sweep
    /// syncs at most every few seconds and at the end of a shard.
    package static func writeAtomically(_ text: String, to path: String, sync: Bool = true, mode: mode_t = 0o644) throws {
        try FileOutput.write(text, to: path, sync: sync, mode: mode)
    }

    /// The first sweep file in `directory` (a shard's JSON or `sweep.json`) that describes another
    /// sweep than `description`, with the differences; nil when there is none.
    package static func otherSweep(in directory: String, than description: SweepDescription) throws -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        for name in names where name == mergedJSON || parseShardFileName(name) != nil {
            let file = path(directory, name)
            let old = try SweepDescription.decode(JSONReader.parse(try read(file), source: file), file: file)
            let differences = old.differences(from: description)
            if !differences.isEmpty { return "\(name): " + differences.joined(separator: "; ") }
        }
        return nil
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CotflowError.input("cannot read \(path)")
        }
        return text
    }

    static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }
}
