import Foundation

/// The version of cotflow: `cotflow --version`, and the `cotflow_version` of every output file.
public let cotflowVersion = "0.5.0"

/// Where a result came from: the tool's version, the command line that made it and the run it
/// solved (or, for commands that do not record a run value yet, every setting it used, defaults
/// included), written at the top of summary.json and parameter files so that `cotflow rerun DIR`
/// can solve the same run again and compare.
package struct Provenance: Sendable {
    /// The arguments after the executable's name, as given.
    public var arguments: [String]
    /// What follows the command line: `computation` and `run`, or `settings`.
    public var fields: [(String, JSONValue)]

    /// Every setting of the run, option defaults included, keyed by option name without dashes.
    public init(arguments: [String] = Array(CommandLine.arguments.dropFirst()), settings: [(String, JSONValue)]) {
        self.arguments = arguments
        fields = [("settings", .object(settings))]
    }

    /// The run description as encoded, under the name of its computation.
    public init(arguments: [String] = Array(CommandLine.arguments.dropFirst()), computation: String, run: JSONValue) {
        self.arguments = arguments
        fields = [("computation", .string(computation)), ("run", run)]
    }

    /// `run` encoded, under its computation's name.
    public init<Run: RecordableRun>(arguments: [String] = Array(CommandLine.arguments.dropFirst()), run: Run) throws {
        self.init(arguments: arguments, computation: Run.computation, run: try JSONValue.encoding(run))
    }

    /// The command line as one shell-quoted string.
    public var command: String { (["cotflow"] + arguments).map(shellQuoted).joined(separator: " ") }

    /// `cotflow_version`, `command`, `arguments` (the argument list), then `fields`.
    public var json: [(String, JSONValue)] {
        [("cotflow_version", .string(cotflowVersion)),
         ("command", .string(command)),
         ("arguments", .array(arguments.map { .string($0) }))] + fields
    }
}

/// `s` quoted for a POSIX shell when it needs it.
package func shellQuoted(_ s: String) -> String {
    let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,=:@%")
    if !s.isEmpty, s.unicodeScalars.allSatisfy({ plain.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
