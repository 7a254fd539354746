import ArgumentParser
import CotflowExact
import CotflowExperiments
import CotflowModel
import CotflowCore
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a job (flow, train, compare, exact) over a grid of up to 3 parameters (and seeds), in parallel, optionally sharded; report regimes, transitions and scaling.",
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

    @Option(name: .customLong("vary"), help: "An axis of the grid: name=lo:hi:count, name=lo:hi:count:log or name=v1,v2,... (up to 3 times, and once more for seed).")
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

    @Option(help: "Training objective (train): cot, nocot or looped.") var objective: TrainingObjective?
    @Option(help: "Trainable set (train, compare): full or reduced.") var params: TrainableSet?
    @Option(help: "Initialisation (train): random or assumption.") var `init`: InitialisationKind?
    @OptionGroup var training: TrainingOptions

    @Option(name: .customLong("flow-time"), parsing: .unconditional, help: "Train each point (train, compare) to this flow time instead of a fixed --steps: steps = the fewest whose flow time, through the optimizer's time map (sgd: learning rate x step; momentum: its map), reaches it; Adam, with no time map, is refused.")
    var flowTime: Double?
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

    @Flag(help: "Draw the report's figure into --out (2 ordered axes: a heatmap of --plot-metric with the regime boundaries; 1 axis: --plot-metric against it, medians with the replicate range shaded and the regimes marked).")
    var plot = false
    @Option(name: .customLong("plot-metric"), help: "The metric of the 2-D heatmap (default: the job's main loss), or comma-separated metrics of a 1-D figure (default: the one or two that decide the regimes, constant ones left out).")
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
        guard (1...SweepGrid.maximumAxes).contains(vary.count) else {
            throw ValidationError("give 1 to 3 --vary (and one for seed) name=lo:hi:count (names for --job \(job.rawValue): \(job.axisNames.joined(separator: ", ")))")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
        guard shards >= 1, cpusPerTask >= 1 else { throw ValidationError("--shards and --cpus-per-task must be at least 1") }
        if job != .flow, w24 != .fixed || w24Initial != nil {
            throw ValidationError("--w24 and --w24-initial apply to --job flow only (\(job.refusal(axis: "w24_initial") ?? "no W24 here"))")
        }
        try checkingInput { _ = try trainingConfig(axes: []) }
        if flowTime != nil, training.steps != nil { throw ValidationError("--flow-time sets each point's steps (flow time through the time map at its learning rate); drop --steps") }
    }

    func run() throws {
        let plan: SweepPlan
        if let from {
            plan = try SweepPlan.read(from)
        } else {
            let grid = try job.grid(vary)
            let out = output.out.map { $0.hasPrefix("/") ? $0 : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent($0) } ?? ""
            plan = SweepPlan(settings: try experimentSettings(axes: Set(grid.names)), axes: grid.axes.map(\.spec), directory: out,
                             shards: min(shards, grid.count))
        }
        // Every point's parameters are checked before any runs.
        let job = plan.settings.job
        _ = try plan.checkedGrid()
        if let file = emitSbatch {
            // Each array task is one shard: its estimate is what the limit and Slurm's --time see.
            let shards = try plan.shardEstimates(), largest = shards.indices.max { shards[$0].operations < shards[$1].operations }
            if output.printEstimate(largest.map { shards[$0] } ?? WorkEstimate(), what: "sweep shard \(largest ?? 0)/\(plan.shards), the largest of the array") { return }
            if let largest {
                try shards[largest].check(what: "shard \(largest)/\(plan.shards) of the sweep", lower: "the job's sizes, or raise --shards (each array task runs one shard)")
            }
            return try writeSbatch(plan, to: file)
        }
        let out = try from.map { try plan.directory(readFrom: $0, out: output.out) } ?? output.out ?? ""
        guard !out.isEmpty || output.estimate else { throw ValidationError("give --out DIR for the sweep's files") }
        if plot, let m = plotMetric?.split(separator: ",").map(String.init).first(where: { !job.metricNames.contains($0) }) {
            throw ValidationError("--plot-metric \(m) is not a metric of --job \(job.rawValue) (metrics: \(job.metricNames.joined(separator: ", ")))")
        }
        // A description fixes the shard count of its array; a command line takes any.
        let shard = try plan.shard(self.shard, environment: ProcessInfo.processInfo.environment, anyCount: from == nil)
        let run = SweepShardRun(plan: plan, shard: shard, directory: out, jobs: jobs ?? SweepThreads.cores, resume: resume, force: output.force,
                                plot: plot, plotMetric: plotMetric)
        try output.solve(run, what: "sweep shard \(shard) (\(shard.indices(in: try run.grid).count) points)") { outcome in
            if let report = outcome.figure { try renderSweepFigure(report, metric: plotMetric, directory: out) }
        }
    }

    /// The training of the train and compare jobs (defaults resolved by `ExperimentSettings.training`).
    func trainingConfig(axes: Set<String>) throws -> TrainingConfig {
        let (t, optimizer) = (training, try training.resolvedOptimizer())
        return try ExperimentSettings.training(job: job, objective: objective, trainable: params, initialisation: self.`init`, optimizer: optimizer,
                                               learningRate: t.learningRate, batchSize: t.batchSize, steps: t.steps, recordEvery: t.recordEvery, heldOut: t.heldOut, axes: axes)
    }

    /// The fixed settings of every run, from the options.
    func experimentSettings(axes: Set<String>) throws -> ExperimentSettings {
        if axes.contains("w24_initial"), w24Initial != nil { throw ValidationError("--w24-initial is fixed but w24_initial is also an axis; give one") }
        var s = ExperimentSettings(job: job)
        s.training = try trainingConfig(axes: axes)
        (s.d, s.n, s.k, s.seed) = (task.d, task.n, task.k, task.seed)
        let ranges = try scale.ranges()
        (s.eta, s.initScale) = (task.eta == nil ? nil : try task.stepSize(), scale.initScale)
        (s.vRange, s.wRange) = (scale.vRange == nil ? nil : ranges.v, scale.wRange == nil ? nil : ranges.w)
        (s.flow, s.points) = (try solver.flowOptions(), points)
        s.w24 = w24 == .free ? .free(initial: w24Initial ?? -1) : .fixed(w24Initial ?? -1)
        (s.stallFraction, s.convergedFraction, s.constructionTolerance) = (stallFraction, convergedFraction, constructionTolerance)
        s.flowTime = flowTime
        return s
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard outputs of a sweep into sweep.tsv, sweep.json, report.txt and report.json.",
        discussion: "Reads every shard-<i>-of-<N>.json in DIR, checks that they describe one grid and that every shard is complete, and writes the merged files (byte-identical to an unsharded run of the grid) to DIR."
    )

    @Argument(help: "The directory holding the shard files.") var directory: String
    @Flag(name: .customLong("allow-partial"), help: "Merge even when shards or points are missing; the missing points are listed.")
    var allowPartial = false
    @Flag(help: "Print one JSON object on stdout instead of the report.") var json = false
    @Flag(help: "Draw the report's figure (sweep_plot.svg/.png) into DIR, as `sweep --plot` does.")
    var plot = false
    @Option(name: .customLong("plot-metric"), help: "The metric of a 2-D heatmap (default: the job's main loss), or comma-separated metrics of a 1-D figure.")
    var plotMetric: String?
    @Flag(help: "Print the merge's estimated work and time (reading the shard files) and exit without merging.") var estimate = false

    func run() throws {
        if estimate { return print(mergeEstimate(directory: directory).printed(what: "merge", json: json)) }
        let outcome = try mergeShards(directory: directory, allowPartial: allowPartial, metric: plot ? plotMetric : nil, reporter: PhaseReport.reporter())
        print(json ? try JSONValue.encoding(MergeSummary(outcome)).rendered() : outcome.summaryReport)
        if plot { try renderSweepFigure(try outcome.figureReport(metric: plotMetric), metric: plotMetric, directory: directory) }
        if !outcome.missing.isEmpty { warn("\(outcome.missing.count) points missing from the merge") }
    }
}
