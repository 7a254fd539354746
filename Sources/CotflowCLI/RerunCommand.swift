import ArgumentParser
import CotflowFlow
import CotflowIO
import CotflowTraining
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
            recorded = try RecordedRun(json: try JSONReader.parse(String(decoding: data, as: UTF8.self), source: summaryPath))
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
            default:
                throw ValidationError("cannot rerun a \(recorded.computation) run")
            }
        } catch let error as DecodingError {
            throw CotflowError.input("the recorded \(recorded.computation) run does not decode: \(error)")
        }
    }
}
