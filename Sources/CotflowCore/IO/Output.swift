import Foundation

/// A JSON value with key order preserved, for stable, readable machine output.
public indirect enum JSONValue: Sendable {
    case number(Double)
    case int(Int)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])
    case null

    public static func numbers(_ xs: [Double]) -> JSONValue { .array(xs.map { .number($0) }) }

    /// Serialised text. Non-finite numbers, which JSON cannot carry, become null.
    public func rendered(indent: Int = 0, pretty: Bool = true) -> String {
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let close = pretty ? String(repeating: "  ", count: indent) : ""
        let nl = pretty ? "\n" : ""
        switch self {
        case .number(let x): return x.isFinite ? JSONValue.format(x) : "null"
        case .int(let i): return "\(i)"
        case .string(let s): return JSONValue.quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let xs):
            if xs.isEmpty { return "[]" }
            if xs.allSatisfy({ if case .number = $0 { return true }; if case .int = $0 { return true }; return false }) {
                return "[" + xs.map { $0.rendered() }.joined(separator: ", ") + "]"
            }
            return "[" + nl + xs.map { pad + $0.rendered(indent: indent + 1, pretty: pretty) }
                .joined(separator: "," + nl) + nl + close + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{" + nl + pairs.map { pad + JSONValue.quote($0.0) + ": " + $0.1.rendered(indent: indent + 1, pretty: pretty) }
                .joined(separator: "," + nl) + nl + close + "}"
        }
    }

    /// A float always renders as a float (`1000.0`, `1e-05`), so that a field keeps one JSON type
    /// from run to run; counts are `.int`.
    static func format(_ x: Double) -> String { "\(x)" }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// A CSV table: a header row and rows of numbers, written with round-trip precision.
/// Columns named in `integerColumns` (steps, counts, indices, 0/1 flags) are written as integers;
/// in `optionalColumns` a NaN is a value that does not exist (a mean over overflowed prompts) and is
/// written as an empty cell.
public struct CSVTable: Sendable {
    public let header: [String]
    public private(set) var rows: [[Double]] = []
    public let integerColumns: Set<String>
    public let optionalColumns: Set<String>

    public init(header: [String], integerColumns: Set<String> = [], optionalColumns: Set<String> = []) {
        self.header = header
        self.integerColumns = integerColumns
        self.optionalColumns = optionalColumns
    }

    public mutating func append(_ row: [Double]) {
        precondition(row.count == header.count, "CSV row has \(row.count) values for \(header.count) columns")
        rows.append(row)
    }

    /// A value as written: round-trip decimal, and `inf`, `-inf`, `nan` (never one for another).
    public static func cell(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    public var text: String {
        var s = header.joined(separator: ",") + "\n"
        let integer = header.map { integerColumns.contains($0) }, optional = header.map { optionalColumns.contains($0) }
        for row in rows {
            s += row.enumerated().map { i, x in
                if x.isNaN, optional[i] { return "" }
                guard x.isFinite else { return CSVTable.cell(x) }
                return integer[i] && x == x.rounded() && abs(x) < 9e15 ? String(Int64(x)) : "\(x)"
            }.joined(separator: ",") + "\n"
        }
        return s
    }
}

/// Who is at fault for an error: the user's input (an option, a file to read, a configuration)
/// or the run. It decides the exit code (`cotflow` maps it in one place: input 64, failed 1).
public enum ErrorKind: Sendable { case input, failed }

/// An error of this project that says what went wrong (`description`, the message printed) and
/// whose fault it is. Each module throws its own enum (`TaskError`, `TrainingError`, `PlotError`,
/// ...); `CotflowError` carries a message where no enum is written yet.
public protocol ReportableError: Error, CustomStringConvertible, Sendable {
    var kind: ErrorKind { get }
}

extension ReportableError {
    public var kind: ErrorKind { .failed }
}

/// An error with a message and a kind, for the places not yet converted to a module's enum.
public struct CotflowError: ReportableError {
    /// Whose fault the error is: bad input (exit 64) or a failed run (exit 1).
    public typealias Kind = ErrorKind
    public let description: String
    public let kind: Kind
    public init(_ description: String, kind: Kind = .failed) {
        self.description = description
        self.kind = kind
    }
    /// An error in what the user gave: an option, a file to read, a configuration.
    public static func input(_ description: String) -> CotflowError { CotflowError(description, kind: .input) }
}

/// Writes `text` to `path`, creating parent directories, through `FileOutput` (a temporary file
/// created exclusively, flushed, renamed over the target).
package func writeText(_ text: String, to path: String) throws {
    try FileOutput.write(text, to: path)
}

/// A progress bar on stderr, shown only once a run has taken more than `delay` seconds
/// (`COTFLOW_PROGRESS_DELAY` seconds if set: tests see every line at once).
/// On a terminal one line is redrawn in place (count, steps per second, time left, the latest
/// loss) and cleared at the end; otherwise one plain line is written every 5 seconds and at the
/// start of every phase. A run of several phases (`phases`: the phases of its `WorkEstimate`)
/// names the phase it is in, and its time left covers every phase to come, each weighted by its
/// share of the estimated time.
package final class Progress {
    private var total: Int
    private let label: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let delay: TimeInterval
    private let enabled: Bool
    private var shown = false
    private var lastDone = 0
    private let isTTY = isatty(2) != 0
    private var unit: String
    /// The phases' names and shares of the estimated time, and the current phase.
    private let phases: [(name: String, share: Double)]
    private var phaseIndex: Int?
    /// The fraction of the run before the current phase, and the current phase's share (0 for a
    /// phase the estimate does not list: it is counted with the phase before it).
    private var base = 0.0, share = 1.0
    /// Where the lines go (stderr; a test's sink).
    private let sink: @Sendable (String) -> Void

    /// The environment variable that sets the delay before the first line (seconds).
    public static let delayEnvironmentKey = "COTFLOW_PROGRESS_DELAY"

    /// `unit` names what is counted (steps, points) in the rate. `phases`: the run's estimate,
    /// whose phases `phase(_:total:unit:)` enters in order.
    public init(total: Int, label: String, unit: String = "steps", enabled: Bool = true, delay: TimeInterval? = nil,
                phases: WorkEstimate? = nil, rates: MachineRates? = nil, sink: (@Sendable (String) -> Void)? = nil) {
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.delay = delay ?? ProcessInfo.processInfo.environment[Self.delayEnvironmentKey].flatMap { Double($0) }.flatMap { $0 >= 0 ? $0 : nil } ?? 2
        if let phases, enabled, phases.phases.count > 1 {
            let shares = phases.shares(rates ?? .current)
            self.phases = zip(phases.phases, shares).map { ($0.name, $1) }
        } else {
            self.phases = []
        }
        self.sink = sink ?? { StandardStreams.writeError($0) }
    }

    /// Enters the phase `name` of the estimate (the next of that name), counting `total` of `unit`.
    /// A phase not in the estimate is shown by name with its own count.
    public func phase(_ name: String, total: Int, unit: String = "steps") { enter(name, total: total, unit: unit, show: true) }

    /// Enters the phase (see `phase`); `show`: a line for its start (else the caller's next update shows it).
    private func enter(_ name: String, total: Int, unit: String, show: Bool) {
        guard enabled, name != currentName else { return }
        let from = (phaseIndex ?? -1) + 1
        if from < phases.count, let i = phases[from...].firstIndex(where: { $0.name == name }) {
            phaseIndex = i
            (base, share) = (phases[..<i].reduce(0) { $0 + $1.share }, phases[i].share)
            known = true
        } else if !phases.isEmpty {
            base = phases[..<((phaseIndex ?? -1) + 1)].reduce(0) { $0 + $1.share }
            (share, known) = (0, false)
        }
        currentName = name
        self.total = max(total, 1)
        self.unit = unit
        lastDone = 0
        // Every phase start is shown once past the delay (a plain stream gets a line for it).
        lastPrint = .distantPast
        if show, Date().timeIntervalSince(start) >= delay { update(0) }
    }
    private var currentName: String?
    private var known = false
    /// The last count was not proportional to the work (no rate in the closing line).
    private var byWork = false

    /// Enters `phase` (if new; see `phase`) and reports `done` of `total` of `unit` in it.
    public func update(phase name: String, done: Int, total: Int, unit: String = "steps") {
        phase(name, total: total, unit: unit)
        update(done)
    }

    /// Shows what a library run reported (its phase, count and work done).
    public func report(_ r: ProgressReport) {
        enter(r.phase, total: r.total, unit: r.unit, show: false)
        (total, unit) = (max(r.total, 1), r.unit)
        update(r.done, detail: r.detail, work: r.work)
    }

    /// The fraction of the whole run done, with `within` of the current phase's work done.
    private func overall(_ within: Double) -> Double {
        let within = min(max(within, 0), 1)
        guard currentName != nil, !phases.isEmpty else { return within }
        return base + share * within
    }

    /// Reports `done` of `total` steps; `loss` is the latest loss, shown when finite. `work`: the
    /// fraction of the phase's estimated work done, where the count is not proportional to it
    /// (default done / total); the bar and the time left follow it. Past `total` (a count the
    /// estimate put too low) the time left is unknown and said so.
    public func update(_ done: Int, loss: Double? = nil, detail: String = "", work: Double? = nil) {
        guard enabled else { return }
        (lastDone, byWork) = (done, work != nil)
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= delay, now.timeIntervalSince(lastPrint) >= (isTTY ? 0.2 : 5) else { return }
        lastPrint = now
        shown = true
        let phaseText = currentName.map { name in
            known ? phaseIndex.map { "\(name) (phase \($0 + 1) of \(phases.count))" } ?? name : name
        }
        let within = work ?? Double(done) / Double(total)
        let line = Progress.line(label: label, done: done, total: total, unit: unit, elapsed: elapsed, loss: loss, detail: detail, bar: isTTY,
                                 fraction: phases.isEmpty && work == nil ? nil : overall(within), phase: phaseText, work: work)
        // "\r" returns to the start of the line and ESC[K clears what an earlier, longer line left.
        sink((isTTY ? "\r" : "") + line + (isTTY ? "\u{1B}[K" : "\n"))
    }

    /// The progress text: `label [####----] phase: done/total rate unit/s, elapsed, ~left, loss x`.
    /// `fraction`: the whole run's fraction done (default: done / total), which the bar and the
    /// time left follow.
    /// `work`: the current phase's fraction of its estimated work, shown as a percentage in place
    /// of the rate (where the count is not proportional to the work).
    public static func line(label: String, done: Int, total: Int, unit: String = "steps", elapsed: TimeInterval, loss: Double?, detail: String = "",
                            bar: Bool, fraction overall: Double? = nil, phase: String? = nil, work: Double? = nil) -> String {
        let fraction = min(max(overall ?? Double(done) / Double(max(total, 1)), 0), 1)
        let width = 24
        let filled = Int(fraction * Double(width))
        let barText = bar ? "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " : ""
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let leftText: String
        if done > total && work == nil {
            leftText = "? (past the estimated \(total))"
        } else if fraction > 0 {
            let left = elapsed * (1 - fraction) / fraction
            leftText = left < 120 ? String(format: "%.0fs", left) : WorkEstimate.duration(left)
        } else {
            leftText = "?"
        }
        let rateText = work.map { String(format: "(%.0f%% of its work)", 100 * min(max($0, 0), 1)) }
            ?? "\(String(format: rate >= 100 ? "%.0f" : "%.1f", rate)) \(unit)/s"
        var line = "\(label) \(barText)\(phase.map { "\($0): " } ?? "")\(done)/\(total) \(work == nil ? "" : "\(unit) ")\(rateText), "
            + "\(String(format: "%.0f", elapsed))s elapsed, ~\(leftText) left"
        if let loss, loss.isFinite { line += ", loss \(String(format: "%.4g", loss))" }
        if !detail.isEmpty { line += " \(detail)" }
        return line
    }

    /// Clears the bar on a terminal, then one line with the count, time and rate (only if a bar was shown).
    public func finish() {
        guard enabled, shown else { return }
        finished()
    }

    private func finished() {
        let elapsed = Date().timeIntervalSince(start)
        let text: String
        if phases.isEmpty {
            let rate = elapsed > 0 ? Double(lastDone) / elapsed : 0
            text = "\(label) done: \(lastDone) \(unit) in \(String(format: "%.1f", elapsed))s"
                + (byWork ? "\n" : " (\(String(format: "%.1f", rate)) \(unit)/s)\n")
        } else {
            text = "\(label) done: \(phases.count) phases in \(String(format: "%.1f", elapsed))s\n"
        }
        sink((isTTY ? "\r\u{1B}[K" : "") + text)
    }
}

/// What a library run reports while it runs, for a progress display: its phase (named as in its
/// `WorkEstimate`), `done` of `total` of `unit`, and, where that count is not proportional to the
/// work, the phase's fraction of its estimated work done (`work`).
public struct ProgressReport: Sendable, Equatable {
    public var phase: String
    public var done: Int, total: Int
    public var unit: String
    public var work: Double?
    public var detail: String

    public init(phase: String, done: Int, total: Int, unit: String, work: Double? = nil, detail: String = "") {
        (self.phase, self.done, self.total, self.unit, self.work, self.detail) = (phase, done, total, unit, work, detail)
    }
}

/// A `Progress` that threads report to (the chunks of a parallel map), one at a time.
package final class SharedProgress: @unchecked Sendable {
    private let progress: Progress
    private let lock = NSLock()

    public init(_ progress: Progress) { self.progress = progress }

    /// Enters `phase` (if new) and reports `done` of `total`.
    public func report(_ phase: String, done: Int, total: Int, unit: String = "steps") {
        lock.lock(); defer { lock.unlock() }
        progress.update(phase: phase, done: done, total: total, unit: unit)
    }

    public func finish() { lock.lock(); defer { lock.unlock() }; progress.finish() }
}
