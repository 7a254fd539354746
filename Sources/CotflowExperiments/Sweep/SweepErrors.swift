import CotflowCore

/// What `SweepAxis.parse` and `SweepGrid` refuse.
public enum GridError: ReportableError, Equatable {
    case noEquals(spec: String)
    case noName(spec: String)
    case unknownName(String, spec: String, allowed: [String])
    case noValues(axis: String)
    case notInteger(axis: String, value: String)
    case repeatedInList(axis: String, value: String)
    case notFinite(axis: String, what: String, text: String)
    case rangeFields(axis: String, body: String)
    case countNotInteger(axis: String, text: String)
    case fourthField(axis: String, text: String)
    case countBelowOne(axis: String, count: Int)
    case loAboveHi(axis: String, lo: String, hi: String)
    case logBounds(axis: String, lo: String, hi: String)
    case singlePoint(axis: String, lo: String)
    case countTooLarge(axis: String, count: Int)
    case repeatedInRange(axis: String, value: String)
    case emptyListEntry(axis: String, body: String)
    case noAxes
    case tooManyAxes(names: [String])
    case axisTwice(String)
    case axisEmpty(String)
    case axisName(String)

    public var description: String {
        switch self {
        case .noEquals(let spec): return "axis '\(spec)': expected name=lo:hi:count, name=lo:hi:count:log or name=v1,v2,..."
        case .noName(let spec): return "axis '\(spec)': the axis has no name (expected name=...)"
        case let .unknownName(name, spec, allowed): return "unknown axis name '\(name)' in '\(spec)'; allowed: \(allowed.joined(separator: ", "))"
        case .noValues(let name): return "axis '\(name)': no values after '=' (an empty grid)"
        case let .notInteger(name, value): return "axis '\(name)' takes integers (got \(value))"
        case let .repeatedInList(name, value): return "axis '\(name)' lists the value \(value) twice"
        case let .notFinite(name, what, text): return "axis '\(name)': \(what) '\(text)' is not a finite number"
        case let .rangeFields(name, body): return "axis '\(name)': a range is lo:hi:count or lo:hi:count:log (got '\(body)')"
        case let .countNotInteger(name, text): return "axis '\(name)': count '\(text)' is not an integer"
        case let .fourthField(name, text): return "axis '\(name)': the fourth field of a range must be 'log' (got '\(text)')"
        case let .countBelowOne(name, count): return "axis '\(name)': count must be at least 1 (got \(count)); an empty grid"
        case let .loAboveHi(name, lo, hi): return "axis '\(name)': lo = \(lo) is greater than hi = \(hi) (give lo:hi:count with lo <= hi)"
        case let .logBounds(name, lo, hi): return "axis '\(name)': a log range needs positive bounds (got \(lo):\(hi))"
        case let .singlePoint(name, lo): return "axis '\(name)': a range with count 1 needs lo == hi (or give one value: \(name)=\(lo))"
        case let .countTooLarge(name, count): return "axis '\(name)': count \(count) is too large"
        case let .repeatedInRange(name, value): return "axis '\(name)': the range gives the value \(value) twice (lo == hi with count > 1?)"
        case let .emptyListEntry(name, body): return "axis '\(name)': empty entry in the list '\(body)'"
        case .noAxes: return "empty grid: give at least one axis (name=lo:hi:count, name=lo:hi:count:log or name=v1,v2,...)"
        case .tooManyAxes(let names):
            return "a grid has at most \(SweepGrid.maximumAxes) axes (got \(names.count): \(names.joined(separator: ", ")))"
        case .axisTwice(let name): return "axis '\(name)' is given twice"
        case .axisEmpty(let name): return "axis '\(name)' has no values: an empty grid"
        case .axisName(let name): return "axis name '\(name)' must not contain tabs, newlines, '=' or commas"
        }
    }
}

/// What `Shard` refuses: a shard out of range, a bad `i/N`, or SLURM array variables that do not fit.
public enum ShardError: ReportableError, Equatable {
    case countBelowOne(Int)
    case indexOutOfRange(index: Int, count: Int)
    case syntax(String)
    case environmentNotInteger(key: String, text: String)
    case stepBelowOne(Int)
    case taskOffGrid(id: Int, min: Int, step: Int)
    /// A SLURM task whose shard is out of range (`reason`: that error's message).
    case slurmTask(id: Int, min: Int, count: Int, reason: String)

    public var description: String {
        switch self {
        case .countBelowOne(let count): return "shard count must be at least 1 (got \(count))"
        case let .indexOutOfRange(index, count):
            return "shard index \(index) is out of range for \(count) shard\(count == 1 ? "" : "s") (0-based: 0 <= i < \(count))"
        case .syntax(let text): return "shard must be i/N with integers 0 <= i < N, e.g. 0/4 (got '\(text)')"
        case let .environmentNotInteger(key, text): return "environment variable \(key) = '\(text)' is not an integer"
        case .stepBelowOne(let step): return "environment variable SLURM_ARRAY_TASK_STEP = \(step) must be at least 1"
        case let .taskOffGrid(id, min, step): return "SLURM array task \(id) does not fit SLURM_ARRAY_TASK_MIN = \(min), SLURM_ARRAY_TASK_STEP = \(step)"
        case let .slurmTask(id, min, count, reason):
            return "from SLURM_ARRAY_TASK_ID = \(id), SLURM_ARRAY_TASK_MIN = \(min), SLURM_ARRAY_TASK_COUNT = \(count): \(reason)"
        }
    }
}

/// What `mergeShards` refuses (every message begins "merge: ").
public enum MergeError: ReportableError, Equatable {
    case notADirectory(String)
    case noShardFiles(directory: String, count: Int?)
    case noShards(String)
    case mixedCounts(directory: String, counts: [Int])
    case notAShardFile(String)
    case wrongShard(file: String, says: (index: Int, count: Int), expected: (index: Int, count: Int))
    case differentSweeps(file: String, first: String, differences: [String])
    case pointOutsideShard(file: String, point: Int, shard: String)
    case pointTwice(file: String, point: Int)
    /// Missing or incomplete shards (`problems`) without `allowPartial`.
    case incomplete(directory: String, problems: [String], missing: Int, points: Int)
    /// A metric asked for (the figure's `--plot-metric`) that the sweep does not have.
    case unknownMetric(String, metrics: [String])

    public static func == (a: MergeError, b: MergeError) -> Bool { a.description == b.description }

    /// Every refusal is about the directory and files the user gave (exit 64).
    public var kind: ErrorKind { .input }

    public var description: String {
        "merge: " + {
            switch self {
            case .notADirectory(let directory): return "\(directory) is not a directory"
            case let .noShardFiles(directory, count):
                return "no shard files (shard-<i>-of-<N>.json\(count.map { " with N = \($0)" } ?? "")) in \(directory)"
            case .noShards(let directory): return "no shard files in \(directory)"
            case let .mixedCounts(directory, counts):
                return "\(directory) holds shards of runs with different shard counts (N = \(counts.map(String.init).joined(separator: ", "))); keep one set of shard-<i>-of-<N>.json files"
            case .notAShardFile(let file): return "\(file) is not a sweep shard file"
            case let .wrongShard(file, says, expected):
                return "\(file) says it is shard \(says.index)/\(says.count), not \(expected.index)/\(expected.count)"
            case let .differentSweeps(file, first, differences):
                return "\(file) and \(first) describe different sweeps: \(differences.joined(separator: "; "))"
            case let .pointOutsideShard(file, point, shard): return "\(file) holds point \(point), which is not in shard \(shard)"
            case let .pointTwice(file, point): return "point \(point) appears twice in \(file)"
            case let .incomplete(directory, problems, missing, points):
                return "\(directory): " + problems.joined(separator: "; ")
                    + "; \(missing) of \(points) points missing. Run the missing shards, or merge with --allow-partial"
            case let .unknownMetric(metric, metrics):
                return "--plot-metric \(metric) is not a metric of this sweep (metrics: \(metrics.joined(separator: ", ")))"
            }
        }()
    }
}

/// What `SweepDescription` refuses: names that clash or cannot be written, and files of an older format.
public enum SweepDescriptionError: ReportableError, Equatable {
    case reservedAxisName(String)
    case metricName(String)
    case metricRepeated(String)
    case unknownIntegerMetric(String)
    /// A shard or merged file of format 1 (settings stored as strings).
    case olderFormat(file: String, format: String)

    public var kind: ErrorKind {
        if case .olderFormat = self { return .input }
        return .failed
    }

    public var description: String {
        switch self {
        case .reservedAxisName(let name): return "axis name '\(name)' is reserved"
        case .metricName(let name): return "metric name '\(name)' must not be empty or contain tabs, newlines, '=' or commas"
        case .metricRepeated(let name): return "metric name '\(name)' is repeated or clashes with an axis or column name"
        case .unknownIntegerMetric(let name): return "integer metric '\(name)' is not a metric of the sweep"
        case let .olderFormat(file, format):
            return "\(file) is in the older format '\(format)' (written by an earlier cotflow, which stored the settings as strings); "
                + "merge or resume it with the cotflow that wrote it, or rerun the sweep (--force)"
        }
    }
}
