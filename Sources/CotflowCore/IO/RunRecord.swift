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
