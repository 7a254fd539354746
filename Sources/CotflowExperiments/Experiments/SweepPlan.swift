import CotflowExact
import CotflowModel
import CotflowCore
import Foundation

extension ExperimentSettings {
    /// Checks every point of `grid` before any runs: its values make a run of the job
    /// (`ExperimentError`), a flow fits the exact limits and the memory, and no two points are the
    /// same run after rounding (an integer axis, or n = round(n_over_d x d)), which a report would
    /// show as a trend.
    public func check(_ grid: SweepGrid) throws {
        try validate()
        try checkAxes(Set(grid.names))
        var seen: [String: SweepPoint] = [:]
        var maxD = 1
        for point in grid.points {
            let resolved = try resolved(at: point)
            if job == .flow { try ReducedLoss.checkSize(k: resolved.k, option: "k at grid point \(point.label)") }
            let key = try resolved.fixedSettings(axes: []).map { "\($0.0)=\($0.1.rendered(pretty: false))" }.joined(separator: " ")
            if let other = seen[key] {
                throw ExperimentError.sameRun(other.label, point.label)
            }
            seen[key] = point
            maxD = max(maxD, resolved.d)
        }
        if job == .flow {
            try FlowLimits.checkFlow(d: maxD, points: points, stepper: flow.ode.stepper, what: "--points \(points) of each flow")
        }
    }

    /// The sweep description of `grid` at these settings (the fixed settings recorded, with
    /// `cotflow_version` first when `recordVersion`).
    public func description(_ grid: SweepGrid, recordVersion: Bool) throws -> SweepDescription {
        try SweepDescription(grid: grid, metricNames: job.metricNames, integerMetrics: job.integerMetrics,
                             settings: (recordVersion ? [("cotflow_version", .string(cotflowVersion))] : []) + (try fixedSettings(axes: Set(grid.names))))
    }

    /// Runs the job at the points of one shard of `grid` into `directory` (`runSweep`, `jobs` points
    /// at a time on threads, at most one per core), with the phase report of these settings, after
    /// `check(grid)`. `recordVersion`: the files record the cotflow version among the settings (as the CLI's do).
    public func sweep(_ grid: SweepGrid, shard: Shard = .whole, directory: String, resume: Bool = false, jobs: Int,
                      recordVersion: Bool = false, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> SweepOutcome {
        try check(grid)
        let description = try description(grid, recordVersion: recordVersion)
        return try runSweep(grid: grid, shard: shard, directory: directory, metricNames: description.metricNames, integerMetrics: description.integerMetrics,
                     settings: description.settings,
                     resume: resume, jobs: jobs, reporter: PhaseReport.reporter(self),
                     run: { [self] point in try self.run(point) }, progress: progress)
    }
}

/// A sweep as a value: the run description (`settings`), the axes that vary fields of it, the
/// directory of its files and the number of shards of an array job. `cotflow sweep --emit-sbatch`
/// writes it (`sweep.json` beside the script's shards) and each array task runs from it
/// (`cotflow sweep --from FILE`), so no option list is rewritten.
public struct SweepPlan: Codable, Sendable {
    public static let format = "cotflow-sweep-plan 1"
    public var format = SweepPlan.format
    public var settings: ExperimentSettings
    /// The axis specs (`name=lo:hi:count[:log]` or `name=v1,v2,...`).
    public var axes: [String]
    /// The absolute directory of the sweep's files.
    public var directory: String
    /// Array tasks (shards) of the array job.
    public var shards: Int

    public init(settings: ExperimentSettings, axes: [String], directory: String, shards: Int) {
        self.settings = settings
        self.axes = axes
        self.directory = directory
        self.shards = shards
    }

    /// The grid of the axes (names and integer axes from `ExperimentSettings.parameters`).
    public func grid() throws -> SweepGrid {
        try SweepGrid(specs: axes, allowedNames: settings.job.axisNames, integerNames: SweepJob.integerAxes)
    }

    /// The grid, every point checked before any runs (`ExperimentSettings.check`); a refusal is an input error.
    public func checkedGrid() throws -> SweepGrid {
        do {
            let grid = try self.grid()
            try settings.check(grid)
            return grid
        } catch let error as ReportableError {
            throw CotflowError.input(error.description)
        }
    }

    /// The plan as JSON text (sorted keys: the same plan gives the same bytes).
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// Reads a plan written by `encoded()`, through the strict reader of every file the tool reads
    /// back (`JSONInput`: a duplicate key, a BOM, deep nesting; a wrong type named by its path).
    public static func read(_ path: String) throws -> SweepPlan {
        let json = try JSONReader.parse(try JSONInput.text(path, what: "sweep description"), source: "sweep description \(path)")
        guard json["format"]?.stringValue == SweepPlan.format else {
            throw CotflowError.input("\(path) is not a sweep description of format '\(SweepPlan.format)' (its \"format\" is \(json["format"]?.rendered(pretty: false) ?? "missing"))")
        }
        do {
            return try json.decoded()
        } catch {
            throw CotflowError.input("\(path) is not a sweep description (\(SweepPlan.format)): \(describe(error))")
        }
    }

    /// The directory a plan read from `path` runs into: `out` when given on the command line, else
    /// its recorded directory, which must be the one that holds `path` (where `--emit-sbatch`
    /// writes it), so that an edited description cannot send a run's files elsewhere.
    public func directory(readFrom path: String, out: String?) throws -> String {
        if let out { return out }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        let holder = resolved((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
        guard directory.hasPrefix("/"), resolved(directory) == holder else {
            throw CotflowError.input("\(path) records the directory '\(directory)', not the one that holds it (\(holder)): a description runs into its own directory; move it back, or give --out DIR")
        }
        return directory
    }

    /// The shard an array task runs: `shard` (or the Slurm array task) must split the grid into
    /// this plan's shard count, or be the whole grid; with `anyCount` (a plan made from a command
    /// line) it may split it into any count. A bad shard is an input error.
    public func shard(_ text: String?, environment: [String: String], anyCount: Bool = false) throws -> Shard {
        let s: Shard
        do { s = try Shard.resolve(text, environment: environment) } catch let error as ReportableError { throw CotflowError.input(error.description) }
        guard anyCount || s.count == 1 || s.count == shards else {
            throw CotflowError.input("shard \(s) does not split the grid into the description's \(shards) shards")
        }
        return s
    }

    /// The Slurm array script that runs this plan from `planFile`, one task per shard, with the
    /// executable at its absolute path `executable`.
    public func sbatchScript(planFile: String, executable: String, cpusPerTask: Int, workingDirectory: String) throws -> String {
        for (what, path) in [("--out", directory), ("the working directory", workingDirectory), ("the cotflow executable", executable)]
        where path.contains(where: \.isWhitespace) {
            throw CotflowError.input("--emit-sbatch: \(what) '\(path)' contains white space, which #SBATCH lines cannot hold; use a path without spaces")
        }
        let time = try slurmTime(cores: cpusPerTask)
        return SlurmScript.arrayJob(arguments: [executable, "sweep", "--from", planFile], tasks: shards, cpusPerTask: cpusPerTask,
                                    workingDirectory: workingDirectory, outputDirectory: directory,
                                    time: (time.text, "3 x the largest shard's estimate (\(WorkEstimate.duration(time.seconds)) on \(cpusPerTask) core\(cpusPerTask == 1 ? "" : "s") "
                                        + "at \(MachineRates.current.source == "measured" ? "the rates measured where this script was written" : MachineRates.environmentKey)) + 10 min"))
    }

    /// Writes this plan into its directory (`fileName`) and the Slurm array script that runs it
    /// (`cotflow sweep --from`, one task per shard) to `file`; returns what was written and how to submit it.
    public func emitSbatch(to file: String, executable: String, cpusPerTask: Int, workingDirectory: String) throws -> String {
        guard !directory.isEmpty else { throw CotflowError.input("--emit-sbatch needs --out DIR: where the array tasks write their shards") }
        let planFile = (directory as NSString).appendingPathComponent(SweepPlan.fileName)
        let script = try sbatchScript(planFile: planFile, executable: executable, cpusPerTask: cpusPerTask, workingDirectory: workingDirectory)
        try checkDirectory()
        // Slurm opens each task's output file in --out before the task starts: the directory must exist.
        // It is prepared as every run's is (created, locked, checked writable): a run that holds it is not written into.
        try OutputDirectory.prepare(directory, files: [], force: false)
        try SweepFiles.writeAtomically(try encoded(), to: planFile)
        try SweepFiles.writeAtomically(script, to: file, mode: 0o755)
        return "wrote \(file) and \(planFile): \(shards) array tasks over \(try grid().count) points; submit with `sbatch \(SlurmScript.quote(file))`, then `cotflow merge \(directory)`"
    }

    /// Refuses a directory whose sweep files (shards, merged files or a description) describe
    /// another sweep than this plan's.
    public func checkDirectory() throws {
        let description = try settings.description(try grid(), recordVersion: true)
        if let foreign = try SweepFiles.otherSweep(in: directory, than: description) {
            throw CotflowError.input("--out \(directory) holds another sweep (\(foreign)); choose another directory")
        }
        let planPath = (directory as NSString).appendingPathComponent(SweepPlan.fileName)
        if FileManager.default.fileExists(atPath: planPath), var old = try? SweepPlan.read(planPath) {
            // Another shard count of the same sweep is the same sweep.
            old.shards = shards
            guard try old.encoded() != encoded() else { return }
            throw CotflowError.input("--out \(directory) holds the description of another sweep (\(planPath)); choose another directory")
        }
    }

    /// The description's file name in the sweep's directory.
    public static let fileName = "sweep-description.json"
}
