import CotflowPlot
import CotflowSupport
import Foundation

/// What every example shares: `--quick` (a reduced size, used by the tests), `--out DIR`
/// (default `out/examples/<name>`), text and figure output, and a verdict on the claim.
public final class ExampleContext {
    public let name: String
    public let quick: Bool
    public let outputDirectory: String
    private var results: [(String, JSONValue)] = []
    private let started = Date()

    /// Parses `--quick`, `--out DIR` and `--help` from the command line.
    public init(name: String, summary: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        self.name = name
        var quick = false, out = "out/examples/\(name)"
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--quick": quick = true
            case "--out" where i + 1 < arguments.count: out = arguments[i + 1]; i += 1
            case "--help", "-h":
                print("usage: \(name) [--quick] [--out DIR]\n\(summary)\n  --quick    reduced size (seconds; used by the tests)\n  --out DIR  output directory (default out/examples/\(name))")
                exit(0)
            default:
                FileHandle.standardError.write("\(name): unknown argument '\(arguments[i])' (try --help)\n".data(using: .utf8)!)
                exit(2)
            }
            i += 1
        }
        self.quick = quick
        self.outputDirectory = out
        print("\(name)\(quick ? " (quick)" : ""): \(summary)")
    }

    /// `full` normally, `reduced` with `--quick`.
    public func size<T>(_ full: T, quick reduced: T) -> T { quick ? reduced : full }

    public func path(_ file: String) -> String { (outputDirectory as NSString).appendingPathComponent(file) }

    /// Writes a text file into the output directory.
    public func write(_ text: String, _ file: String) throws { try writeText(text, to: path(file)) }

    /// Renders a figure (or writes its data and script when gnuplot is missing) and says so.
    public func plot(_ panels: [PlotSpec], name file: String, title: String) throws {
        let outcome = try Plotter.render(panels: panels, to: path(file), title: title)
        print("  figure: \(outcome.message)")
    }

    /// Records a number for results.json (and so for notes/reproduction.md).
    public func record(_ key: String, _ value: JSONValue) { results.append((key, value)) }

    /// Prints and records the verdict on the claim; `holds == nil` means inconclusive.
    public func verdict(claim: String, holds: Bool?, detail: String) {
        let word = holds.map { $0 ? "HOLDS" : "DOES NOT HOLD" } ?? "INCONCLUSIVE"
        print("VERDICT: \(word): \(claim)\n  \(detail)")
        results.append(("verdicts", .object([("claim", .string(claim)), ("verdict", .string(word)), ("detail", .string(detail))])))
    }

    /// Runs the example's body; writes results.json; turns errors into a message and exit code 1.
    public func run(_ body: () throws -> Void) -> Never {
        do {
            try body()
            // Verdicts are collected into one array; other keys keep their order.
            let verdicts = results.filter { $0.0 == "verdicts" }.map(\.1)
            let others = results.filter { $0.0 != "verdicts" }
            let seconds = Date().timeIntervalSince(started)
            let json = JSONValue.object([("example", .string(name)), ("quick", .bool(quick)), ("seconds", .number(seconds))]
                                        + others + [("verdicts", .array(verdicts))])
            try write(json.rendered() + "\n", "results.json")
            print("wrote \(outputDirectory) in \(String(format: "%.1f", seconds)) s")
            exit(0)
        } catch {
            FileHandle.standardError.write("\(name): error: \(error)\n".data(using: .utf8)!)
            exit(1)
        }
    }
}

/// `digits` significant digits; scientific notation below 1e-3 and from 1e5.
public func compact(_ x: Double, _ digits: Int = 4) -> String {
    guard x.isFinite else { return "\(x)" }
    if x != 0, abs(x) < 1e-3 || abs(x) >= 1e5 { return String(format: "%.\(digits - 1)e", x) }
    return String(format: "%.\(digits)g", x)
}

/// A sample summary as a JSON object (mean, stderr, median, quantiles, tail share, ...).
public func json(_ s: SampleSummary) -> JSONValue { .object(s.json(prefix: "")) }
