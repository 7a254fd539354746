import ArgumentParser
import CotflowExperiments
import CotflowModel
import CotflowCore
import Foundation

struct RerunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Solve the run recorded in a summary.json again, and check that it reproduces.",
        discussion: "Reads DIR/summary.json (written by train or ode), decodes the run it records and solves it again in this process (from any working directory) into a new directory (default DIR/rerun), and compares every JSON and CSV file both runs wrote: JSON numbers and CSV cells within --tolerance (relative), everything else exactly. Timings (seconds), the command line and the output directory are not compared. Exit status 0 when everything reproduces, 1 when something differs."
    )

    @Argument(help: "Directory of an earlier run (with summary.json).") var directory: String
    @Option(help: "Directory for the new run. (default: DIR/rerun; must not exist yet)") var out: String?
    @Option(parsing: .unconditional, help: "Largest relative difference of a number counted as equal. (default: 0, bit-for-bit)") var tolerance = 0.0
    @Flag(help: "Print one JSON object on stdout instead of the report.") var json = false

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a non-negative number (got \(tolerance))") }
    }

    func run() throws {
        let summaryPath = (directory as NSString).appendingPathComponent("summary.json")
        guard let data = FileManager.default.contents(atPath: summaryPath) else {
            throw ValidationError("\(summaryPath): no such file; give a directory written by cotflow ode, train, eval, compare or sweep with --out")
        }
        let recorded: RecordedRun
        do {
            let json = try JSONReader.parse(String(decoding: data, as: UTF8.self), source: summaryPath)
            // Commands that record no run value yet (eval, compare, stages, sweep): their command line, in a subprocess.
            if json["run"] == nil, json["settings"] != nil, let arguments = json["arguments"]?.arrayValue?.compactMap(\.stringValue),
               arguments.first != "rerun", let version = json["cotflow_version"]?.stringValue {
                return try legacyRerun(arguments: arguments, version: version)
            }
            recorded = try RecordedRun(json: json)
        } catch let error as ReportableError {
            throw ValidationError("\(summaryPath) \(error.description)")
        }
        // A rerun writes no summary of its own; one that records `rerun` was made by hand: never rerun a rerun.
        guard recorded.provenance.arguments.first != "rerun", recorded.computation != "rerun" else {
            throw ValidationError("\(summaryPath) records a rerun; rerun the original directory instead")
        }
        let version = recorded.version
        if version != cotflowVersion {
            warn("\(summaryPath) was written by cotflow \(version), this is \(cotflowVersion): differences may come from the versions")
        }
        let target = out ?? (directory as NSString).appendingPathComponent("rerun")
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationError("--out \(target) exists already; remove it or give another --out")
        }
        FileHandle.standardError.write("rerun: the recorded \(recorded.computation) run of \(shellQuoted(recorded.provenance.command))\n".data(using: .utf8)!)
        try Self.solve(recorded, into: target)

        try compare(into: target, version: version)
    }

    /// The pre-run-value path, for summaries that record only a command line: runs it again in a
    /// subprocess with --out replaced (to be removed once every command records its run).
    private func legacyRerun(arguments: [String], version: String) throws {
        let summaryPath = (directory as NSString).appendingPathComponent("summary.json")
        if version != cotflowVersion {
            warn("\(summaryPath) was written by cotflow \(version), this is \(cotflowVersion): differences may come from the versions")
        }
        let target = out ?? (directory as NSString).appendingPathComponent("rerun")
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationError("--out \(target) exists already; remove it or give another --out")
        }
        let rerunArguments = Self.replacingOut(arguments, with: target)
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        FileHandle.standardError.write("rerun: \((["cotflow"] + rerunArguments).map(shellQuoted).joined(separator: " "))\n".data(using: .utf8)!)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = rerunArguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        guard FileManager.default.fileExists(atPath: (target as NSString).appendingPathComponent("summary.json")) else {
            throw CotflowError("the rerun (exit status \(process.terminationStatus)) wrote no summary.json into \(target)")
        }

        try compare(into: target, version: version)
    }

    private func compare(into target: String, version: String) throws {
        let comparison = OutputComparison(original: directory, rerun: target, tolerance: tolerance)
        let compared = comparison.compared, differences = comparison.differences
        let reproduces = differences.isEmpty
        if json {
            print(JSONValue.object([("cotflow_version", .string(cotflowVersion)), ("directory", .string(directory)), ("rerun", .string(target)),
                                    ("recorded_version", .string(version)), ("tolerance", .number(tolerance)),
                                    ("files", .array(compared.map { .string($0) })), ("reproduces", .bool(reproduces)),
                                    ("differences", .array(differences.prefix(100).map { .string($0) }))]).rendered())
        } else {
            print("reran \(directory) into \(target) (cotflow \(cotflowVersion); recorded by \(version))")
            print("compared \(compared.joined(separator: ", "))" + (tolerance > 0 ? " within relative tolerance \(tolerance)" : " bit for bit"))
            if reproduces {
                print("REPRODUCES: every number and field agrees")
            } else {
                print("DOES NOT REPRODUCE: \(differences.count) difference\(differences.count == 1 ? "" : "s")")
                for line in differences.prefix(20) { print("  \(line)") }
                if differences.count > 20 { print("  ... (\(differences.count - 20) more)") }
            }
        }
        if !reproduces { throw ExitCode.failure }
    }

    /// Solves the recorded run in this process, writing its files into `target` (no report on stdout).
    static func solve(_ recorded: RecordedRun, into target: String) throws {
        var output = OutputOptions()
        (output.out, output.json, output.quiet, output.force) = (target, false, true, false)
        let arguments = recorded.provenance.arguments
        do {
            switch recorded.computation {
            case TrainingRun.computation:
                let run: TrainingRun = try recorded.run.decoded()
                try TrainCommand.solve(run, output: output, provenance: try Provenance(arguments: arguments, run: run), printing: false)
            case ReducedFlowRun.computation:
                let run: ReducedFlowRun = try recorded.run.decoded()
                try ODECommand.solve(run, output: output, provenance: try Provenance(arguments: arguments, run: run), printing: false)
            case ComparisonRun.computation:
                let run: ComparisonRun = try recorded.run.decoded()
                try CompareCommand.solve(run, output: output, provenance: try Provenance(arguments: arguments, run: run), printing: false)
            default:
                throw ValidationError("cannot rerun a \(recorded.computation) run")
            }
        } catch let error as DecodingError {
            throw CotflowError.input("the recorded \(recorded.computation) run does not decode: \(error)")
        }
    }

    /// The arguments with every `--out X` / `--out=X` replaced by `--out target` (added when absent).
    static func replacingOut(_ arguments: [String], with target: String) -> [String] {
        var out: [String] = [], i = 0, replaced = false
        while i < arguments.count {
            let a = arguments[i]
            if a == "--out" { out += ["--out", target]; i += 2; replaced = true; continue }
            if a.hasPrefix("--out=") { out += ["--out", target]; i += 1; replaced = true; continue }
            out.append(a)
            i += 1
        }
        return replaced ? out : out + ["--out", target]
    }
}
