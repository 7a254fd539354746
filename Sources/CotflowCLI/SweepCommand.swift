import ArgumentParser
import CotflowExact
import CotflowExperiments
import CotflowModel
import CotflowCore
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a job (flow, train, compare, exact) over a grid of up to 3 parameters, in parallel, optionally sharded; report regimes, transitions and scaling.",
        discussion: """
        Each --vary is name=lo:hi:count (evenly spaced), name=lo:hi:count:log (geometric) or \
        name=v1,v2,... with name a numeric option of the job: flow: \(SweepJob.flow.axisNames.joined(separator: ", ")); \
        train and compare: \(SweepJob.train.axisNames.joined(separator: ", ")); exact: \(SweepJob.exact.axisNames.joined(separator: ", ")) \
        (n_over_d sets n = round(value x d); integer options are rounded). seed is a replicate axis: \
        the report gives the spread across seeds, not trends. Every other option of the job is fixed \
        by its flag. Writes shard-<i>-of-<N>.tsv and .json to --out after every point; an unsharded \
        run also writes sweep.tsv, sweep.json, report.txt and report.json (regimes, transitions, scaling fits). \
        --shard i/N runs the points with index % N == i (default: the SLURM array task, from \
        SLURM_ARRAY_TASK_ID, _COUNT and _MIN); `cotflow merge DIR` combines the shards; --emit-sbatch \
        writes a Slurm array script for the grid. See notes/sweeps.md.
        """
    )

    @Option(help: "What each point runs: flow (reduced gradient flow), train (training), compare (flow against training) or exact (exact GD-chain loss).")
    var job: SweepJob = .flow

    @Option(name: .customLong("vary"), help: "An axis of the grid: name=lo:hi:count, name=lo:hi:count:log or name=v1,v2,... (up to 3 times).")
    var vary: [String] = []

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @OptionGroup var solver: FlowSolverOptions
    @Option(help: "Output points of the log time grid of each flow (sets the resolution of t_loss_half and t_loss_1e-3).") var points = 400
    @Option(help: "W24 in the flow (as `cotflow ode --w24`): fixed (held at --w24-initial, the paper's flow) or free (trained with V31 and W13).")
    var w24: W24Choice = .fixed
    @Option(name: .customLong("w24-initial"), parsing: .unconditional, help: "Initial (with --w24 fixed: held) W24 of the flow, 1e-3 <= |W24| <= 1e3; the axis w24_initial varies it.")
    var w24Initial: Double?

    @OptionGroup var training: SweepTrainingOptions
    @OptionGroup var sizes: TrainingRunOptions

    @Option(name: .customLong("stall-fraction"), help: "A run is stalled when its final loss is above this fraction of its start.")
    var stallFraction = 0.5
    @Option(name: .customLong("converged-fraction"), help: "A training run (or exact chain) has converged when its final loss is at most this fraction of its start (and, for training, it is within --construction-tolerance of the construction).")
    var convergedFraction = 1e-2
    @Option(name: .customLong("construction-tolerance"), help: "Largest relative distance of (-W24) V31 from -eta I and of W13 / (-W24) from I for a converged training run.")
    var constructionTolerance = 0.1

    @Option(help: "Run only shard i/N: the points with index % N == i (0 <= i < N). (default: the SLURM array task if any, else 0/1)")
    var shard: String?
    @Flag(help: "Keep the finished points of an earlier run of this shard in --out and run only the rest.")
    var resume = false
    @Option(help: "Points run at once, each on its own thread (default and at most: the cores). The files have the same bytes for any value.")
    var jobs: Int?
    @Option(help: "Run the sweep described by FILE (written by --emit-sbatch: the settings, axes and --out of the sweep), as each Slurm array task does; --vary and the job's options are taken from it.")
    var from: String?

    @Flag(help: "Draw the report's figure into --out (2 ordered axes: a heatmap of --plot-metric with the regime boundaries; 1 axis: every metric against it with replicate bands).")
    var plot = false
    @Option(name: .customLong("plot-metric"), help: "The metric of the 2-D heatmap (default: the job's main loss).")
    var plotMetric: String?

    @Option(name: .customLong("emit-sbatch"), help: "Write a Slurm array-job script for this sweep to FILE (one task per shard) instead of running it.")
    var emitSbatch: String?
    @Option(help: "Array tasks (shards) of the --emit-sbatch script.")
    var shards = 4
    @Option(name: .customLong("cpus-per-task"), help: "Cores per array task in the --emit-sbatch script (the task runs that many points at once).")
    var cpusPerTask = 1

    func validate() throws {
        if from != nil {
            guard vary.isEmpty, emitSbatch == nil else { throw ValidationError("--from takes the axes and settings from the description: drop --vary and --emit-sbatch") }
            return
        }
        guard (1...3).contains(vary.count) else {
            throw ValidationError("give 1 to 3 --vary name=lo:hi:count (names for --job \(job.rawValue): \(job.axisNames.joined(separator: ", ")))")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
        guard shards >= 1, cpusPerTask >= 1 else { throw ValidationError("--shards and --cpus-per-task must be at least 1") }
        guard stallFraction > 0, stallFraction <= 1, convergedFraction > 0, convergedFraction < 1, constructionTolerance > 0, constructionTolerance.isFinite else {
            throw ValidationError("--stall-fraction must be in (0, 1], --converged-fraction in (0, 1) and --construction-tolerance a positive finite number")
        }
        if job != .flow, w24 != .fixed || w24Initial != nil {
            throw ValidationError("--w24 and --w24-initial apply to --job flow only (\(job.refusal(axis: "w24_initial") ?? "no W24 here"))")
        }
        if let w24Initial, !(w24Initial.isFinite && ExperimentSettings.w24Range.contains(abs(w24Initial))) {
            throw ValidationError("--w24-initial must be a number with 1e-3 <= |W24| <= 1e3 (got \(w24Initial)); the paper's value is -1")
        }
        if job != .train && job != .compare, let flag = training.givenFlag ?? sizes.given.first?.1 {
            throw ValidationError("\(flag) applies to --job train and compare, not \(job.rawValue)")
        }
        if job == .compare, training.objective.map({ $0 != .cot }) ?? false || training.`init`.map({ $0 != .assumption }) ?? false {
            throw ValidationError("--job compare trains the CoT objective from the Assumption 4.1 point (as `cotflow compare` does): drop --objective and --init")
        }
    }

    func run() throws {
        let plan: SweepPlan
        if let from {
            plan = try SweepPlan.read(from)
        } else {
            for spec in vary {
                let name = String(spec.filter { !$0.isWhitespace }.prefix { $0 != "=" })
                if !self.job.axisNames.contains(name), let reason = self.job.refusal(axis: name) { throw ValidationError("axis '\(name)': \(reason)") }
            }
            let grid: SweepGrid
            do {
                grid = try SweepGrid(specs: vary, allowedNames: self.job.axisNames, integerNames: SweepJob.integerAxes)
            } catch {
                throw ValidationError("\(error)")
            }
            let out = output.out.map { $0.hasPrefix("/") ? $0 : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent($0) } ?? ""
            plan = SweepPlan(settings: try experimentSettings(axes: Set(grid.names)), axes: grid.axes.map(\.spec), directory: out,
                             shards: min(shards, grid.count))
        }
        let grid: SweepGrid
        do { grid = try plan.grid() } catch { throw ValidationError("\(error)") }
        let settings = plan.settings
        // Every point's parameters are checked before any runs.
        do { try settings.check(grid) } catch let error as ExperimentError { throw ValidationError("\(error)") } catch let error as ReportableError {
            throw CotflowError.input(error.description)
        }
        let job = settings.job
        if let file = emitSbatch {
            try writeSbatch(plan, to: file)
            return
        }
        guard let out = output.out ?? (from != nil ? plan.directory : nil), !out.isEmpty else { throw ValidationError("give --out DIR for the sweep's files") }
        if plot, let m = plotMetric, !job.metricNames.contains(m) {
            throw ValidationError("--plot-metric \(m) is not a metric of --job \(job.rawValue) (metrics: \(job.metricNames.joined(separator: ", ")))")
        }
        let shard: Shard
        do {
            // A description fixes the shard count of its array; a command line takes any.
            let environment = ProcessInfo.processInfo.environment
            shard = from != nil ? try plan.shard(self.shard, environment: environment) : try Shard.resolve(self.shard, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        // A rerun never discards the finished points of an earlier run: --resume keeps them, --force discards them.
        let summaryName = shard.count == 1 ? "summary.json" : "summary-\(shard.fileStem).json"
        var earlier = [shard.fileStem + ".tsv", shard.fileStem + ".json", summaryName]
        if shard.count == 1 { earlier += ["sweep.tsv", "sweep.json", "report.txt", "report.json"] }
        do {
            try OutputDirectory.prepare(out, files: resume ? [] : earlier, force: output.force, shard: shard.count > 1 ? shard.fileStem : nil)
        } catch let error as CotflowError {
            throw CotflowError.input(error.description + (resume ? "" : "; or pass --resume to keep the finished points of that run and run only the rest"))
        }
        Interruption.install()

        let asked = jobs ?? SweepThreads.cores
        // summary.json records the command line and every setting, so that `cotflow rerun DIR` can run it again.
        let provenance = Provenance(settings: try settings.fixedSettings(axes: Set(grid.names)) + [
            ("vary", .array(grid.axes.map { .string($0.spec) })), ("shard", .string(shard.description)), ("jobs", .int(asked)),
            ("resume", .bool(resume)), ("plot", .bool(plot)), ("plot_metric", plotMetric.map { .string($0) } ?? .null),
        ]).json
        let progress = Progress(total: shard.indices(in: grid).count, label: "sweep \(shard)", unit: "points", enabled: !output.quiet)
        let finished = FinishedPoints()
        let outcome: SweepOutcome
        do {
            outcome = try settings.sweep(grid, shard: shard, directory: out, resume: resume, jobs: asked, recordVersion: true) { done, total in
                finished.count = done
                progress.update(done, detail: "(\(total - done) left)")
            }
        } catch let stopped as SweepInterrupted {
            progress.finish()
            // The shard files already hold every finished point; say so in the summary.
            let summary: JSONValue = .object(provenance + [
                ("status", .string("interrupted")), ("signal", .string(Interruption.signalName)),
                ("job", .string(job.rawValue)), ("grid", grid.json), ("grid_points", .int(grid.count)),
                ("shard", .object([("index", .int(shard.index)), ("count", .int(shard.count))])),
                ("finished_points", .int(finished.count)), ("shard_points", .int(shard.indices(in: grid).count)),
            ])
            try output.write(summary.rendered() + "\n", summaryName)
            throw RunStopped(description: stopped.description)
        }
        progress.finish()
        if plot, let merged = outcome.merged {
            let report = PhaseReport(grid: grid, metricNames: job.metricNames, records: merged.records, settings: settings)
            try renderSweepFigure(report, metric: plotMetric, directory: out)
        } else if plot {
            FileHandle.standardError.write("plot: a shard has no figure; draw it when every shard is done: cotflow merge \(out) --plot\n".data(using: .utf8)!)
        }

        let summary: JSONValue = .object(provenance + [
            ("status", .string("completed")),
            ("job", .string(job.rawValue)),
            ("grid", grid.json),
            ("grid_points", .int(grid.count)),
            ("shard", .object([("index", .int(shard.index)), ("count", .int(shard.count))])),
            ("jobs", .int(asked)),
            ("jobs_used", .int(outcome.jobs)),
            ("records", .int(outcome.records.count)),
            ("failed", .int(outcome.failed)),
            ("resumed", .int(outcome.resumed)),
            ("complete", .bool(outcome.records.count == outcome.shardPoints)),
            // Names in --out (not paths), so that a rerun into another directory writes the same summary.
            ("files", .array(outcome.files.map { .string(($0 as NSString).lastPathComponent) })),
        ])
        try output.write(summary.rendered() + "\n", summaryName)
        output.emit(json: summary, report: {
            var lines = ["\(job.rawValue) sweep \(grid.spec): \(grid.count) points; shard \(shard): \(outcome.records.count) points, \(outcome.failed) failed"
                + (outcome.resumed > 0 ? ", \(outcome.resumed) kept from an earlier run" : "")]
            if outcome.jobs < asked { lines.append("--jobs \(asked): ran \(outcome.jobs) points at once (one per core)") }
            if let merged = outcome.merged { lines.append(merged.report.trimmingCharacters(in: .newlines)) }
            lines.append("wrote " + outcome.files.joined(separator: ", "))
            if shard.count > 1 { lines.append("when every shard is done: cotflow merge \(out)") }
            return lines.joined(separator: "\n")
        }())
    }

    /// Points finished so far (counted by the progress callback), for an interrupted sweep's summary.
    final class FinishedPoints: @unchecked Sendable { var count = 0 }

    /// The fixed settings of every run, from the options.
    func experimentSettings(axes: Set<String>) throws -> ExperimentSettings {
        for (name, flag) in sizes.given where axes.contains(name) {
            throw ValidationError("\(flag) is fixed but \(name) is also an axis; give one")
        }
        if axes.contains("w24_initial"), w24Initial != nil { throw ValidationError("--w24-initial is fixed but w24_initial is also an axis; give one") }
        var s = ExperimentSettings(job: job, optimizer: try training.optimizer.resolved())
        (s.d, s.n, s.k, s.seed) = (task.d, task.n, task.k, task.seed)
        s.eta = task.eta == nil ? nil : try task.stepSize()
        s.initScale = scale.initScale
        let ranges = try scale.ranges()
        if scale.vRange != nil { s.vRange = ranges.v }
        if scale.wRange != nil { s.wRange = ranges.w }
        s.flow = try solver.flowOptions()
        guard points >= 2, 1e-3 < s.flow.ode.endTime else { throw ValidationError("--points must be at least 2 and --t-end above 1e-3") }
        s.w24 = w24 == .free ? .free(initial: w24Initial ?? -1) : .fixed(w24Initial ?? -1)
        s.points = points
        training.apply(to: &s.training)
        if let x = sizes.learningRate { s.training.learningRate = x }
        if let x = sizes.batchSize { s.training.batchSize = x }
        if let x = sizes.steps { s.training.steps = x }
        if let x = sizes.recordEvery { s.training.recordEvery = x }
        if let x = sizes.heldOut { s.training.heldOutSize = x }
        (s.stallFraction, s.convergedFraction, s.constructionTolerance) = (stallFraction, convergedFraction, constructionTolerance)
        try checkingInput { try s.checkAxes(axes) }
        return s
    }
}

/// The kind options of `train` (and of the training in `compare`) that a sweep can fix; unset: the
/// command's default (train: full parameters, random init, Adam; compare: reduced parameters from
/// Assumption 4.1, SGD). The sizes are `TrainingRunOptions`.
struct SweepTrainingOptions: ParsableArguments {
    @Option(help: "Training objective (train): cot, nocot or looped.") var objective: TrainingObjective?
    @Option(help: "Trainable set (train, compare): full or reduced.") var params: TrainableSet?
    @Option(help: "Initialisation (train): random or assumption.") var `init`: InitialisationKind?
    @OptionGroup var optimizer: OptimizerOptions

    /// Sets the kinds given (the optimizer is set with the job's defaults: `ExperimentSettings(job:optimizer:)`).
    func apply(to c: inout TrainingConfig) {
        if let objective { c.objective = objective }
        if let params { c.trainable = params }
        if let x = self.`init` { c.initialisation = x }
    }

    /// The first training flag given, for the error when the job does not train.
    var givenFlag: String? {
        if objective != nil { return "--objective" }
        if params != nil { return "--params" }
        if self.`init` != nil { return "--init" }
        if optimizer.optimizer != nil { return "--optimizer" }
        return nil
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard outputs of a sweep into sweep.tsv, sweep.json, report.txt and report.json.",
        discussion: "Reads every shard-<i>-of-<N>.json in DIR, checks that they describe one grid and that every shard is complete, and writes the merged files (byte-identical to an unsharded run of the grid) to DIR."
    )

    @Argument(help: "The directory holding the shard files.")
    var directory: String

    @Flag(name: .customLong("allow-partial"), help: "Merge even when shards or points are missing; the missing points are listed.")
    var allowPartial = false

    @Flag(help: "Print one JSON object on stdout instead of the report.")
    var json = false

    @Flag(help: "Draw the report's figure (sweep_plot.svg/.png) into DIR, as `sweep --plot` does.")
    var plot = false
    @Option(name: .customLong("plot-metric"), help: "The metric of a 2-D heatmap (default: the job's main loss).")
    var plotMetric: String?

    func run() throws {
        let outcome = try reportingErrors { try mergeShards(directory: directory, allowPartial: allowPartial, metric: plot ? plotMetric : nil, reporter: PhaseReport.reporter()) }
        let summary: JSONValue = .object([
            ("grid", outcome.description.grid.json),
            ("grid_points", .int(outcome.description.grid.count)),
            ("shards", .int(outcome.shardCount)),
            ("records", .int(outcome.records.count)),
            ("failed", .int(outcome.failed)),
            ("missing", .array(outcome.missing.map { .int($0) })),
            ("complete", .bool(outcome.missing.isEmpty)),
            ("files", .array(outcome.files.map { .string($0) })),
        ])
        if json {
            print(summary.rendered())
        } else {
            print("merged \(outcome.shardCount) shard\(outcome.shardCount == 1 ? "" : "s") of \(outcome.description.grid.spec): \(outcome.records.count) of \(outcome.description.grid.count) points")
            print(outcome.report, terminator: "")
            print("wrote " + outcome.files.joined(separator: ", "))
        }
        if plot {
            let settings = try reportingErrors { try ExperimentSettings(recorded: outcome.description.settings) }
            if let m = plotMetric, !outcome.description.metricNames.contains(m) {
                throw ValidationError("--plot-metric \(m) is not a metric of this sweep (metrics: \(outcome.description.metricNames.joined(separator: ", ")))")
            }
            let report = PhaseReport(grid: outcome.description.grid, metricNames: outcome.description.metricNames,
                                     records: outcome.records, settings: settings)
            try renderSweepFigure(report, metric: plotMetric, directory: directory)
        }
        if !outcome.missing.isEmpty {
            FileHandle.standardError.write("cotflow: warning: \(outcome.missing.count) points missing from the merge\n".data(using: .utf8)!)
        }
    }
}
