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
/// Columns named in `integerColumns` (steps, counts, indices, 0/1 flags) are written as integers.
public struct CSVTable: Sendable {
    public let header: [String]
    public private(set) var rows: [[Double]] = []
    public let integerColumns: Set<String>

    public init(header: [String], integerColumns: Set<String> = []) {
        self.header = header
        self.integerColumns = integerColumns
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
        let integer = header.map { integerColumns.contains($0) }
        for row in rows {
            s += row.enumerated().map { i, x in
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

/// A progress bar on stderr, shown only once a run has taken more than `delay` seconds.
/// On a terminal one line is redrawn in place (count, steps per second, time left, the latest
/// loss) and cleared at the end; otherwise one plain line is written every 5 seconds.
package final class Progress {
    private let total: Int
    private let label: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let delay: TimeInterval
    private let enabled: Bool
    private var shown = false
    private var lastDone = 0
    private let isTTY = isatty(2) != 0
    private let unit: String

    /// `unit` names what is counted (steps, points) in the rate.
    public init(total: Int, label: String, unit: String = "steps", enabled: Bool = true, delay: TimeInterval = 2) {
        self.total = max(total, 1)
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.delay = delay
    }

    /// Reports `done` of `total` steps; `loss` is the latest loss, shown when finite.
    public func update(_ done: Int, loss: Double? = nil, detail: String = "") {
        guard enabled else { return }
        lastDone = done
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= delay, now.timeIntervalSince(lastPrint) >= (isTTY ? 0.2 : 5) else { return }
        lastPrint = now
        shown = true
        let line = Progress.line(label: label, done: done, total: total, unit: unit, elapsed: elapsed, loss: loss, detail: detail, bar: isTTY)
        // "\r" returns to the start of the line and ESC[K clears what an earlier, longer line left.
        StandardStreams.writeError((isTTY ? "\r" : "") + line + (isTTY ? "\u{1B}[K" : "\n"))
    }

    /// The progress text: `label [####----] done/total rate unit/s, elapsed, ~left, loss x`.
    public static func line(label: String, done: Int, total: Int, unit: String = "steps", elapsed: TimeInterval, loss: Double?, detail: String = "", bar: Bool) -> String {
        let fraction = min(max(Double(done) / Double(max(total, 1)), 0), 1)
        let width = 24
        let filled = Int(fraction * Double(width))
        let barText = bar ? "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " : ""
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        var line = "\(label) \(barText)\(done)/\(total) \(String(format: rate >= 100 ? "%.0f" : "%.1f", rate)) \(unit)/s, "
            + "\(String(format: "%.0f", elapsed))s elapsed, ~\(String(format: "%.0f", left))s left"
        if let loss, loss.isFinite { line += ", loss \(String(format: "%.4g", loss))" }
        if !detail.isEmpty { line += " \(detail)" }
        return line
    }

    /// Clears the bar on a terminal, then one line with the count, time and rate (only if a bar was shown).
    public func finish() {
        guard enabled, shown else { return }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(lastDone) / elapsed : 0
        let text = "\(label) done: \(lastDone) \(unit) in \(String(format: "%.1f", elapsed))s (\(String(format: "%.1f", rate)) \(unit)/s)\n"
        StandardStreams.writeError((isTTY ? "\r\u{1B}[K" : "") + text)
    }
}
