import Foundation

/// How a run ended, beside its values (as SciML's `retcode`): callers switch on it, never parse text.
public enum RunStatus: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Ran to its end (the steps, the end time or a stall rule).
    case completed
    /// Met its convergence rule.
    case converged
    /// Values became non-finite or blew up at step `step`.
    case diverged(step: Int, reason: String)
    /// Stopped by SIGINT or SIGTERM at step `step`.
    case interrupted(step: Int, signal: String)
    /// Could not go on (an integration failure); what was computed so far is kept.
    case failed(reason: String)

    /// True for a result that holds (exit status 0).
    public var holds: Bool { self == .completed || self == .converged }

    public var description: String {
        switch self {
        case .completed: return "completed"
        case .converged: return "converged"
        case .diverged(let step, let reason): return "diverged at step \(step): \(reason)"
        case .interrupted(let step, let signal): return "interrupted by \(signal) at step \(step)"
        case .failed(let reason): return "failed: \(reason)"
        }
    }

    // Flat keys, as summary.json has them: "status", and the step and reason of a run that stopped.
    private enum CodingKeys: String, CodingKey {
        case status, divergedAtStep = "diverged_at_step", divergedReason = "diverged_reason"
        case interruptedAtStep = "interrupted_at_step", signal, failure
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .completed: try c.encode("completed", forKey: .status)
        case .converged: try c.encode("converged", forKey: .status)
        case .diverged(let step, let reason):
            try c.encode("diverged", forKey: .status); try c.encode(step, forKey: .divergedAtStep); try c.encode(reason, forKey: .divergedReason)
        case .interrupted(let step, let signal):
            try c.encode("interrupted", forKey: .status); try c.encode(step, forKey: .interruptedAtStep); try c.encode(signal, forKey: .signal)
        case .failed(let reason): try c.encode("failed", forKey: .status); try c.encode(reason, forKey: .failure)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .status) {
        case "completed": self = .completed
        case "converged": self = .converged
        case "diverged": self = .diverged(step: try c.decode(Int.self, forKey: .divergedAtStep), reason: try c.decode(String.self, forKey: .divergedReason))
        case "interrupted": self = .interrupted(step: try c.decode(Int.self, forKey: .interruptedAtStep), signal: try c.decode(String.self, forKey: .signal))
        case "failed": self = .failed(reason: try c.decode(String.self, forKey: .failure))
        case let other: throw DecodingError.dataCorruptedError(forKey: .status, in: c, debugDescription: "unknown status '\(other)'")
        }
    }
}

/// A run description the tool records and can solve again: its name in summary.json's
/// `computation` says which type `run` decodes as.
public protocol RecordableRun: Codable, Sendable {
    /// The computation's name in summary.json (`train`, `ode`, `ode_full`, ...).
    static var computation: String { get }
    /// Refuses settings that make no run (input errors naming the option); `rerun` calls it on
    /// the decoded run before solving, as the command's own parsing does.
    func validate() throws
}

/// summary.json: the provenance (version, command line), the run that was solved and its result.
/// The result's fields follow the run at the top level, as the tool's summaries always had them.
package struct RunSummary<Run: RecordableRun, Result: Codable> {
    package var provenance: Provenance
    package var run: Run
    package var result: Result

    package init(provenance: Provenance, run: Run, result: Result) {
        self.provenance = provenance; self.run = run; self.result = result
    }

    /// The file's JSON: provenance (with the run), then the result's fields.
    package func json() throws -> JSONValue {
        guard case .object(let pairs) = try JSONValue.encoding(result) else { return .object(provenance.json) }
        return .object(provenance.json + pairs)
    }

    /// Decodes a summary written by `json()`.
    package init(json: JSONValue) throws {
        let recorded = try RecordedRun(json: json)
        guard recorded.computation == Run.computation else {
            throw CotflowError("the summary records a \(recorded.computation) run, not \(Run.computation)")
        }
        provenance = recorded.provenance
        run = try recorded.run.decoded()
        result = try json.decoded()
    }
}

/// The provenance part of a summary.json, the run still undecoded: what `rerun` reads first.
package struct RecordedRun {
    package var version: String
    package var provenance: Provenance
    package var computation: String
    package var run: JSONValue

    package init(json: JSONValue) throws {
        guard let version = json["cotflow_version"]?.stringValue,
              let arguments = json["arguments"]?.arrayValue?.compactMap(\.stringValue) else {
            throw CotflowError("records no command line (\"arguments\" and \"cotflow_version\"); it was written by a cotflow older than 0.5.0")
        }
        guard let computation = json["computation"]?.stringValue, let run = json["run"] else {
            throw CotflowError("records no run description (\"computation\" and \"run\"): written by a cotflow before runs were recorded, or by a command that does not record its run yet")
        }
        self.version = version
        self.computation = computation
        self.run = run
        provenance = Provenance(arguments: arguments, computation: computation, run: run)
    }
}

/// Where a solved run's outputs go and how it shows itself: a command's `--out`, `--json`,
/// `--quiet` and `--force`, and whether it prints at all (`rerun` prints its comparison instead).
package struct RunOutput: Sendable {
    /// The directory of the run's files; nil: no file is written.
    package var directory: String?
    /// Print summary.json's object on stdout instead of the report.
    package var json: Bool
    /// No progress display on stderr.
    package var quiet: Bool
    /// Remove an earlier run's outputs in the directory instead of refusing it.
    package var force: Bool
    /// Print the report (or the JSON) on stdout.
    package var printing: Bool
    /// A figure is drawn into the directory after the run (the report names it).
    package var plotted: Bool

    package init(directory: String?, json: Bool = false, quiet: Bool = false, force: Bool = false, printing: Bool = true, plotted: Bool = false) {
        (self.directory, self.json, self.quiet, self.force, self.printing, self.plotted) = (directory, json, quiet, force, printing, plotted)
    }

    /// Writes `text` to `name` in the directory, if there is one.
    package func write(_ text: String, _ name: String) throws {
        if let directory { try writeText(text, to: (directory as NSString).appendingPathComponent(name)) }
    }

    /// Writes a summary's JSON to `name` in the directory, if there is one.
    package func write(summary: JSONValue, _ name: String = "summary.json") throws { try write(summary.rendered() + "\n", name) }
}

/// What a solved run (a run's `Outcome`) gives every pipeline: the metrics summary.json records.
package protocol RunOutcome {
    associatedtype Metrics: Codable
    var metrics: Metrics { get }
}

/// A recorded run that the tool solves into an output directory: the files it may write there, its
/// progress display, the files it writes and the report it prints. `solve(into:provenance:)` is the
/// one pipeline every command and `rerun` call; each step is the run's.
package protocol OutputRun: RecordableRun {
    associatedtype Outcome: RunOutcome
    /// The files the run writes into its directory: refused there before any work unless forced.
    static var outputFiles: [String] { get }
    /// The work and time on this machine (`--estimate`).
    func estimate() throws -> WorkEstimate
    /// Before any work: the output directory created, locked and checked (default:
    /// `OutputDirectory.prepare` with `outputFiles`).
    func prepare(_ output: RunOutput) throws
    /// Solves the run, showing its progress on stderr unless `output.quiet`.
    func compute(_ output: RunOutput, provenance: Provenance) throws -> Outcome
    /// Writes the run's files but its summary into `output.directory`.
    func write(_ outcome: Outcome, output: RunOutput, provenance: Provenance) throws
    /// The summary's file name, written after every other file so that a summary always describes
    /// complete files (nil: the run writes its summaries itself, a sweep shard as its points finish).
    static var summaryName: String? { get }
    /// The human-readable report.
    func report(_ outcome: Outcome, output: RunOutput) throws -> String
    /// An error that ends the run once its files are written, before any report (default: none).
    func abort(_ outcome: Outcome, output: RunOutput) -> Error?
    /// The error a command exits with after its report (and figure) when the result does not hold
    /// (default: none); `rerun` compares the files instead.
    func failure(_ outcome: Outcome, output: RunOutput) -> RunStopped?
}

extension OutputRun {
    package func prepare(_ output: RunOutput) throws {
        if let directory = output.directory { try OutputDirectory.prepare(directory, files: Self.outputFiles, force: output.force) }
    }

    package static var summaryName: String? { "summary.json" }
    package func abort(_ outcome: Outcome, output: RunOutput) -> Error? { nil }
    package func failure(_ outcome: Outcome, output: RunOutput) -> RunStopped? { nil }

    /// The pipeline: prepares the directory, installs the signal policy (`Interruption`), solves
    /// with progress, writes the files and then summary.json (provenance, this run, the metrics:
    /// last, so that a write that fails or a kill leaves no summary of files that are missing), and
    /// prints the report or, with `json`, the summary.
    @discardableResult
    package func solve(into output: RunOutput, provenance: Provenance) throws -> Outcome {
        let created = output.directory.map { !FileManager.default.fileExists(atPath: $0) } ?? false
        try prepare(output)
        Interruption.install()
        let outcome: Outcome
        do {
            outcome = try compute(output, provenance: provenance)
        } catch let error as ReportableError where error.kind == .input {
            // An input file refused as the run reads it (a parameter file, a covariance, a table):
            // the directory this run made holds nothing of it, and goes.
            if created, let directory = output.directory { OutputDirectory.removeUnused(directory) }
            throw error
        }
        let summary = try RunSummary(provenance: provenance, run: self, result: outcome.metrics).json()
        if output.directory != nil {
            try write(outcome, output: output, provenance: provenance)
            if let name = Self.summaryName { try output.write(summary: summary, name) }
        }
        if let error = abort(outcome, output: output) {
            if output.json, output.printing { print(summary.rendered()) }
            throw error
        }
        if output.printing { print(output.json ? summary.rendered() : try report(outcome, output: output)) }
        return outcome
    }
}

/// A run that stopped early (interrupted, diverged or failed) after writing what it had computed:
/// the message says so (exit status 1).
package struct RunStopped: ReportableError {
    package let description: String
    package init(_ description: String) { self.description = description }
}

extension RecordedRun {
    /// The run recorded, decoded as the one of `types` whose `computation` it names, and, with
    /// `validating`, checked as the command line's would be (a summary is a file like any input).
    /// `estimating` (`rerun --estimate`): validated as the command's `--estimate` is, a refusal by
    /// the work limit dropped (an estimate of an unchecked run could overflow its sizes).
    package func decoded(among types: [any OutputRun.Type], validating: Bool, estimating: Bool = false) throws -> any OutputRun {
        guard let type = types.first(where: { $0.computation == computation }) else { throw CotflowError.input("cannot rerun a \(computation) run") }
        func decode<Run: OutputRun>(_: Run.Type) throws -> Run {
            let run: Run
            do {
                run = try self.run.decoded()
                if validating { try WorkLimitExceeded.ignored(when: estimating) { try run.validate() } }
            } catch let error as DecodingError {
                throw CotflowError.input("the recorded \(computation) run does not decode: \(error)")
            } catch let error as ReportableError where validating {
                throw CotflowError.input("the recorded \(computation) run is not a valid run: \(error.description)")
            }
            return run
        }
        return try decode(type)
    }
}
