import Foundation

/// The version of cotflow: `cotflow --version`, and the `cotflow_version` of every output file.
public let cotflowVersion = "0.5.0"

/// Where a result came from: the tool's version, the command line that made it and every
/// setting it used (defaults included), written at the top of summary.json and parameter files
/// so that `cotflow rerun DIR` can run the same command again and compare.
package struct Provenance: Sendable {
    /// The arguments after the executable's name, as given.
    public var arguments: [String]
    /// Every setting of the run, option defaults included, keyed by option name without dashes.
    public var settings: [(String, JSONValue)]

    public init(arguments: [String] = Array(CommandLine.arguments.dropFirst()), settings: [(String, JSONValue)]) {
        self.arguments = arguments
        self.settings = settings
    }

    /// `cotflow_version`, `command` (one shell-quoted string), `arguments` (the argument list) and `settings`.
    public var json: [(String, JSONValue)] {
        [("cotflow_version", .string(cotflowVersion)),
         ("command", .string((["cotflow"] + arguments).map(shellQuoted).joined(separator: " "))),
         ("arguments", .array(arguments.map { .string($0) })),
         ("settings", .object(settings))]
    }
}

/// `s` quoted for a POSIX shell when it needs it.
package func shellQuoted(_ s: String) -> String {
    let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,=:@%")
    if !s.isEmpty, s.unicodeScalars.allSatisfy({ plain.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
