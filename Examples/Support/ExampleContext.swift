import ArgumentParser
import CotflowCore
import CotflowPlot
import Foundation

/// The options every example shares: `--quick`, `--out`, `--seed` and its main sizes.
public struct ExampleOptions: ParsableArguments {
    @Flag(help: "Reduced size (seconds; used by the tests).") public var quick = false
    @Option(help: "Output directory. (default: out/examples/<name>)") public var out: String?
    // Numbers take a value that starts with `-` (`--seed -1` is refused as a seed, not as a missing value).
    @Option(parsing: .unconditional, help: "Added to every seed of the example (0 gives the published numbers).") public var seed: UInt64 = 0
    @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d (examples that have one main d).") public var d: Int?
    @Option(name: .customLong("n"), parsing: .unconditional, help: "Context length n (examples that have one main n).") public var n: Int?
    @Option(name: .customLong("k"), parsing: .unconditional, help: "Chain length k (examples that have one main k).") public var k: Int?

    public init() {}
}

/// What every example shares: the options of `ExampleOptions` (`--quick`, a reduced size used by
/// the tests; `--out DIR`, default `out/examples/<name>`; `--seed`; the main sizes it declares),
/// text and figure output, verdicts and claim rows for notes/reproduction.md.
public final class ExampleContext {
    public let name: String
    public let quick: Bool
    public let outputDirectory: String
    /// Added to every seed the example uses.
    public let seed: UInt64

    /// The seed of the example's stream `offset`: `seed + offset`, wrapping past 2^64 - 1 (every
    /// `--seed` is valid).
    public func seed(_ offset: UInt64) -> UInt64 { seed &+ offset }
    private let declared: [String]
    private let given: [String: Int]
    private var sizes: [String: Int] = [:]
    private var results: [(String, JSONValue)] = []
    private var claims: [JSONValue] = []
    private let started = Date()

    /// Parses the shared options; `sizes` names the main sizes this example takes (`d`, `n`, `k`).
    /// A size the example does not have is refused.
    public init(name: String, summary: String, sizes: [String] = [], arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        self.name = name
        let options: ExampleOptions
        do {
            options = try ExampleOptions.parse(arguments)
        } catch {
            let sizeText = sizes.isEmpty ? "none" : sizes.map { "--\($0)" }.joined(separator: ", ")
            if arguments.contains("--help") || arguments.contains("-h") {
                print("\(name): \(summary)\n\n" + ExampleOptions.helpMessage(columns: 100)
                    .replacingOccurrences(of: "<name>", with: name).replacingOccurrences(of: "USAGE: example ", with: "USAGE: \(name) ") + "\n\nMain sizes of this example: \(sizeText).")
                exit(0)
            }
            FileHandle.standardError.write("\(name): \(ExampleOptions.message(for: error)) (try --help)\n".data(using: .utf8)!)
            exit(64)
        }
        var chosen: [String: Int] = [:]
        for (key, value) in [("d", options.d), ("n", options.n), ("k", options.k)] {
            guard let value else { continue }
            guard sizes.contains(key) else {
                let have = sizes.isEmpty ? "none" : sizes.map { "--\($0)" }.joined(separator: ", ")
                FileHandle.standardError.write("\(name): --\(key) is not a size of this example (its sizes: \(have))\n".data(using: .utf8)!)
                exit(64)
            }
            guard value >= 1 else {
                FileHandle.standardError.write("\(name): --\(key) must be at least 1 (got \(value))\n".data(using: .utf8)!)
                exit(64)
            }
            chosen[key] = value
        }
        // The process limits every cotflow run checks before any work (notes/reliability.md): descriptors and
        // a thread (libdispatch trapped or hung without them), room for OpenBLAS's buffers under ulimit -v (it
        // spun for ever), and a write beyond ulimit -f that fails instead of killing the example.
        Interruption.ignoreFileSizeSignal()
        let outputDirectory = options.out ?? "out/examples/\(name)"
        do {
            try CommandLineText.checkUTF8()
            try ResourceLimit.checkProcessLimits()
            try ResourceLimit.checkAddressSpace(0, what: name)
            // As every cotflow run: the directory is made, locked and checked writable before any work. The
            // example's own files are replaced by a new run of it; a cotflow command's outputs are refused.
            try OutputDirectory.prepare(outputDirectory, files: ["summary.json"], force: false)
        } catch {
            FileHandle.standardError.write("\(name): error: \(describe(error))\n".data(using: .utf8)!)
            exit((error as? ReportableError)?.kind == .input ? 64 : 1)
        }
        self.declared = sizes
        self.given = chosen
        self.quick = options.quick
        self.seed = options.seed
        self.outputDirectory = outputDirectory
        let sizeText = chosen.keys.sorted().map { "--\($0) \(chosen[$0]!)" }.joined(separator: ", ")
        print("\(name)\(quick ? " (quick)" : ""): \(summary)" + (sizeText.isEmpty ? "" : " [\(sizeText)]") + (seed == 0 ? "" : " [seed offset \(seed)]"))
    }

    /// The main size `key` (`d`, `n` or `k`): the option's value if given, else `full`
    /// (`reduced` with `--quick`).
    public func size(_ key: String, _ full: Int, quick reduced: Int? = nil) -> Int {
        precondition(declared.contains(key), "\(name) declares no size \(key)")
        let value = given[key] ?? (quick ? reduced ?? full : full)
        sizes[key] = value
        return value
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

    /// Prints and records the verdict on the claim; `holds == nil` means inconclusive. With `row`,
    /// also a claim row of notes/reproduction.md (`testedBy` defaults to the example's name).
    /// The printed line names the row (or says the verdict is a check of the tool, without one) and,
    /// with `reading`, that the claim is the tool's reading of the paper rather than the paper's.
    public func verdict(claim: String, holds: Bool?, detail: String, row: Int? = nil, testedBy: String? = nil, reading: Bool = false) {
        let word = holds.map { $0 ? "HOLDS" : "DOES NOT HOLD" } ?? "INCONCLUSIVE"
        let source = row.map { "row \($0) of notes/reproduction.md" + (reading ? "; the tool's reading of the paper, not the paper's claim" : "") }
            ?? "no row: a check of the tool, not a claim of the paper"
        print("VERDICT (\(source)): \(word): \(claim)\n  \(detail)")
        results.append(("verdicts", .object([("claim", .string(claim)), ("verdict", .string(word)), ("detail", .string(detail))])))
        if let row {
            let table = holds.map { $0 ? "**holds**" : "**does not hold**" } ?? "inconclusive"
            claims.append(ClaimRow(row: row, claim: claim, testedBy: testedBy ?? "example `\(name)`", measured: detail,
                                   verdict: table, source: "example:\(name)").json)
        }
    }

    /// Runs the example's body; writes results.json; turns errors into a message and exit code 64
    /// (input) or 1.
    public func run(_ body: () throws -> Void) -> Never {
        do {
            try body()
            // Verdicts are collected into one array; other keys keep their order.
            let verdicts = results.filter { $0.0 == "verdicts" }.map(\.1)
            let others = results.filter { $0.0 != "verdicts" }
            let seconds = Date().timeIntervalSince(started)
            let settings: [(String, JSONValue)] = [("quick", .bool(quick)), ("seed", .int(Int(truncatingIfNeeded: seed)))]
                + sizes.keys.sorted().map { ($0, JSONValue.int(sizes[$0]!)) }
            let json = JSONValue.object(Provenance(settings: settings).json
                                        + [("example", .string(name)), ("quick", .bool(quick)), ("seconds", .number(seconds))]
                                        + others + [("verdicts", .array(verdicts)), ("claims", .array(claims))])
            try write(json.rendered() + "\n", "results.json")
            print("wrote \(outputDirectory) in \(String(format: "%.1f", seconds)) s")
            exit(0)
        } catch {
            // As `cotflow`: a refusal of what the user asked for (a size beyond the limits) is bad input.
            FileHandle.standardError.write("\(name): error: \(describe(error))\n".data(using: .utf8)!)
            exit((error as? ReportableError)?.kind == .input ? 64 : 1)
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
