import ArgumentParser
import CotflowExact
import CotflowFlow
import CotflowODE
import CotflowStages
import CotflowSupport
import CotflowSweep
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the reduced gradient flow over a grid of 1 or 2 parameters, optionally sharded.",
        discussion: """
        Each --vary is name=lo:hi:count (evenly spaced), name=lo:hi:count:log (geometric) or \
        name=v1,v2,... with name one of \(SweepCommand.axisNames.joined(separator: ", ")) \
        (n_over_d sets n = round(value x d); d, n, k and seed ranges are rounded to integers). \
        At each point the flow runs from the Assumption 4.1 point of the seed (by default until the \
        loss is 1e-10 of min(its start, d)) and records \(SweepCommand.metricNames.joined(separator: ", ")). \
        Writes shard-<i>-of-<N>.tsv and .json to --out after every point; an unsharded run also \
        writes sweep.tsv, sweep.json and report.txt. --shard i/N runs the points with index % N == i \
        (default: the SLURM array task, from SLURM_ARRAY_TASK_ID, _COUNT and _MIN); `cotflow merge DIR` \
        combines the shards. See notes/sweeps.md.
        """
    )

    static let axisNames = ["d", "n", "k", "eta", "init_scale", "n_over_d", "seed"]
    static let integerAxes: Set<String> = ["d", "n", "k", "seed"]
    static let metricNames = ["initial_loss", "final_loss", "t_end", "converged", "steps",
                              "t_loss_half", "t_loss_1e-3", "exact_eval_loss",
                              "plateau_end", "product_reached", "exponential_start", "stage_count"]
    /// The exact GD-chain loss is skipped (NaN) above this chain length (2k Wishart moments).
    static let exactMaximumK = 30

    @Option(name: .customLong("vary"), help: "An axis of the grid: name=lo:hi:count, name=lo:hi:count:log or name=v1,v2,... (once or twice).")
    var vary: [String] = []

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @OptionGroup var solver: FlowSolverOptions
    @Option(help: "Output points of the log time grid of each flow (sets the resolution of t_loss_half and t_loss_1e-3).") var points = 400

    @Option(help: "Run only shard i/N: the points with index % N == i (0 <= i < N). (default: the SLURM array task if any, else 0/1)")
    var shard: String?
    @Flag(help: "Keep the finished points of an earlier run of this shard in --out and run only the rest.")
    var resume = false

    func run() throws {
        try task.validateTask()
        guard let out = output.out, !out.isEmpty else { throw ValidationError("give --out DIR for the sweep's files") }
        guard !vary.isEmpty else { throw ValidationError("give at least one --vary name=lo:hi:count (names: \(Self.axisNames.joined(separator: ", ")))") }
        var options = try solver.flowOptions()
        guard points >= 2, 1e-3 < solver.tEnd else { throw ValidationError("--points must be at least 2 and --t-end above 1e-3") }

        let grid: SweepGrid
        let shard: Shard
        do {
            grid = try SweepGrid(specs: vary, allowedNames: Self.axisNames, integerNames: Self.integerAxes)
            shard = try Shard.resolve(self.shard, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let names = Set(grid.names)
        if names.contains("n"), names.contains("n_over_d") { throw ValidationError("vary n or n_over_d, not both") }
        if names.contains("init_scale"), scale.vRange != nil || scale.wRange != nil {
            throw ValidationError("an init_scale axis cannot be combined with --v-range or --w-range")
        }
        if names.contains("eta"), task.eta != nil { throw ValidationError("--eta is fixed but eta is also an axis; give one") }
        _ = try scale.ranges()
        // Check every point's parameters before running any; two points that round to the same
        // run (an integer axis, or n = round(n_over_d x d)) would be reported as a trend.
        var seen: [String: SweepPoint] = [:]
        for point in grid.points {
            let p = try parameters(point)
            try readingInput { try Limits.checkReducedLoss(k: p.k, option: "k at grid point \(point.label)") }
            let key = "d=\(p.d) n=\(p.n) k=\(p.k) eta=\(p.eta) seed=\(p.seed) init_scale=\(p.initScale)"
            if let other = seen[key] {
                throw ValidationError("grid points \(other.label) and \(point.label) are the same run (\(key)) after rounding to integers; "
                    + "choose axis values that differ after rounding")
            }
            seen[key] = point
        }
        try readingInput {
            try Limits.checkFlow(d: grid.points.map { (try? parameters($0).d) ?? task.d }.max() ?? task.d, points: points,
                                 stepper: parseStepper(solver.stepper), what: "--points \(points) of each flow")
        }
        // A rerun never discards the finished points of an earlier run: --resume keeps them, --force discards them.
        let summaryName = shard.count == 1 ? "summary.json" : "summary-\(shard.fileStem).json"
        var earlier = [shard.fileStem + ".tsv", shard.fileStem + ".json", summaryName]
        if shard.count == 1 { earlier += ["sweep.tsv", "sweep.json", "report.txt"] }
        do {
            try OutputDirectory.prepare(out, files: resume ? [] : earlier, force: output.force)
        } catch let error as CotflowError {
            throw CotflowError.input(error.description + (resume ? "" : "; or pass --resume to keep the finished points of that run and run only the rest"))
        }
        Interruption.install()

        options.grid = .logarithmic(points: points, first: 1e-3)

        let progress = Progress(total: shard.indices(in: grid).count, label: "sweep \(shard)", unit: "points", enabled: !output.quiet)
        let finished = FinishedPoints()
        let outcome: SweepOutcome
        do {
            outcome = try runSweep(grid: grid, shard: shard, directory: out, metricNames: Self.metricNames,
                                   settings: settings(names: names), resume: resume,
                                   run: { point in try self.measure(point, options: options) },
                                   progress: { done, total in
                                       finished.count = done
                                       progress.update(done, detail: "(\(total - done) left)")
                                   })
        } catch let stopped as SweepInterrupted {
            progress.finish()
            // The shard files already hold every finished point; say so in the summary.
            let summary: JSONValue = .object([
                ("status", .string("interrupted")), ("signal", .string(Interruption.signalName)),
                ("grid", grid.json), ("grid_points", .int(grid.count)),
                ("shard", .object([("index", .int(shard.index)), ("count", .int(shard.count))])),
                ("finished_points", .int(finished.count)), ("shard_points", .int(shard.indices(in: grid).count)),
            ])
            try output.write(summary.rendered() + "\n", summaryName)
            throw RunStopped(description: stopped.description)
        }
        progress.finish()

        let summary: JSONValue = .object([
            ("status", .string("completed")),
            ("grid", grid.json),
            ("grid_points", .int(grid.count)),
            ("shard", .object([("index", .int(shard.index)), ("count", .int(shard.count))])),
            ("records", .int(outcome.records.count)),
            ("failed", .int(outcome.failed)),
            ("resumed", .int(outcome.resumed)),
            ("complete", .bool(outcome.records.count == outcome.shardPoints)),
            ("files", .array(outcome.files.map { .string($0) })),
        ])
        try output.write(summary.rendered() + "\n", summaryName)
        output.emit(json: summary, report: {
            var lines = ["sweep \(grid.spec): \(grid.count) points; shard \(shard): \(outcome.records.count) points, \(outcome.failed) failed"
                + (outcome.resumed > 0 ? ", \(outcome.resumed) kept from an earlier run" : "")]
            if let merged = outcome.merged { lines.append(merged.report.trimmingCharacters(in: .newlines)) }
            lines.append("wrote " + outcome.files.joined(separator: ", "))
            if shard.count > 1 { lines.append("when every shard is done: cotflow merge \(out)") }
            return lines.joined(separator: "\n")
        }())
    }

    /// Points finished so far (counted by the progress callback), for an interrupted sweep's summary.
    final class FinishedPoints: @unchecked Sendable { var count = 0 }

    /// The run parameters at a point: the fixed options overridden by the point's axis values.
    struct Parameters {
        var d: Int, n: Int, k: Int, eta: Rational, seed: UInt64, initScale: Double
    }

    func parameters(_ point: SweepPoint) throws -> Parameters {
        func integer(_ name: String, _ fallback: Int) throws -> Int {
            guard let x = point[name] else { return fallback }
            guard x >= 1, x <= 1_000_000 else { throw ValidationError("grid point \(point.label): \(name) must be an integer from 1 to 1000000") }
            return Int(x)
        }
        let d = try integer("d", task.d)
        var n = try integer("n", task.n)
        if let ratio = point["n_over_d"] {
            guard ratio > 0, ratio * Double(d) < 1e6 else { throw ValidationError("grid point \(point.label): n_over_d must be positive") }
            n = Int((ratio * Double(d)).rounded())
            guard n >= 1 else { throw ValidationError("grid point \(point.label): n = round(n_over_d x d) = 0; n must be at least 1") }
        }
        let k = try integer("k", task.k)
        var seed = task.seed
        if let s = point["seed"] {
            guard s >= 0, s < 9.0e18 else { throw ValidationError("grid point \(point.label): seed must be a non-negative integer") }
            seed = UInt64(s)
        }
        var eta: Rational
        if let e = point["eta"] {
            guard e > 0, let r = Rational.parse(SweepFormat.number(e)) else { throw ValidationError("grid point \(point.label): eta must be positive") }
            eta = r
        } else if task.eta != nil {
            eta = try task.stepSize()
        } else {
            eta = paperStepSize(n: n, d: d)
        }
        var initScale = scale.initScale
        if let s = point["init_scale"] {
            guard s > 0, s <= 100 else { throw ValidationError("grid point \(point.label): init_scale must be in (0, 100]") }
            initScale = s
        }
        return Parameters(d: d, n: n, k: k, eta: eta, seed: seed, initScale: initScale)
    }

    /// Settings held fixed across the grid, recorded in the outputs (shards merge only when they agree).
    func settings(names: Set<String>) throws -> [(String, String)] {
        var s: [(String, String)] = [("cotflow_version", cotflowVersion), ("model", "reduced gradient flow from Assumption 4.1")]
        if !names.contains("d") { s.append(("d", "\(task.d)")) }
        if !names.contains("n"), !names.contains("n_over_d") { s.append(("n", "\(task.n)")) }
        if !names.contains("k") { s.append(("k", "\(task.k)")) }
        if !names.contains("eta") { s.append(("eta", task.eta == nil ? "n/(n+d+1)" : try task.stepSize().description)) }
        if !names.contains("seed") { s.append(("seed", "\(task.seed)")) }
        if !names.contains("init_scale") { s.append(("init_scale", SweepFormat.number(scale.initScale))) }
        if let v = scale.vRange { s.append(("v_range", v)) }
        if let w = scale.wRange { s.append(("w_range", w)) }
        s += [("stepper", solver.stepper), ("abs_tol", SweepFormat.number(solver.absTol)), ("rel_tol", SweepFormat.number(solver.relTol)),
              ("max_steps", "\(solver.maxSteps)"), ("t_end", SweepFormat.number(solver.tEnd)), ("stop_loss", SweepFormat.number(solver.stopLoss)),
              ("points", "\(points)"), ("exact_eval_loss", "k <= \(Self.exactMaximumK)")]
        return s
    }

    /// Runs the reduced flow at one point and returns its metrics.
    func measure(_ point: SweepPoint, options: FlowOptions) throws -> [String: Double] {
        if Interruption.requested {
            throw SweepInterrupted("\(Interruption.signalName) received; the finished points are kept, rerun with --resume to run the rest")
        }
        let p = try parameters(point)
        let defaults = AssumptionInitialisation.defaultRanges(scale: p.initScale)
        let ranges = point["init_scale"] == nil ? try scale.ranges() : defaults
        let start = AssumptionInitialisation(d: p.d, seed: p.seed, vRange: ranges.v, wRange: ranges.w)
        let loss = try ReducedLoss(n: p.n, d: p.d, k: p.k, eta: p.eta)
        var metrics: [String: Double] = [:]
        if p.k <= Self.exactMaximumK {
            metrics["exact_eval_loss"] = gdChainLoss(n: p.n, d: p.d, k: p.k, eta: p.eta).doubleValue
        }
        do {
            let t = try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)
            trajectoryMetrics(t, into: &metrics)
            stageMetrics(t, eta: p.eta.doubleValue, into: &metrics)
            return metrics
        } catch let failure as FlowFailure {
            trajectoryMetrics(failure.partial, into: &metrics)
            metrics["converged"] = 0
            throw SweepPointFailure("flow failed: \(failure.reason)", metrics: metrics)
        }
    }

    private func stageMetrics(_ t: FlowTrajectory, eta: Double, into metrics: inout [String: Double]) {
        metrics.merge(StageMetrics.stages(times: t.times, losses: t.losses, v: t.v, w: t.w, eta: eta)) { $1 }
    }

    private func trajectoryMetrics(_ t: FlowTrajectory, into metrics: inout [String: Double]) {
        metrics["initial_loss"] = t.losses.first ?? .nan
        metrics["final_loss"] = t.finalLoss
        metrics["t_end"] = t.finalTime
        metrics["converged"] = t.converged ? 1 : 0
        metrics["steps"] = Double(t.statistics.acceptedSteps)
        metrics["t_loss_half"] = StageMetrics.timeBelow(0.5, times: t.times, losses: t.losses)
        metrics["t_loss_1e-3"] = StageMetrics.timeBelow(1e-3, times: t.times, losses: t.losses)
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the shard outputs of a sweep into sweep.tsv, sweep.json and report.txt.",
        discussion: "Reads every shard-<i>-of-<N>.json in DIR, checks that they describe one grid and that every shard is complete, and writes the merged files (byte-identical to an unsharded run of the grid) to DIR."
    )

    @Argument(help: "The directory holding the shard files.")
    var directory: String

    @Flag(name: .customLong("allow-partial"), help: "Merge even when shards or points are missing; the missing points are listed.")
    var allowPartial = false

    @Flag(help: "Print one JSON object on stdout instead of the report.")
    var json = false

    func run() throws {
        let outcome = try readingInput { try mergeShards(directory: directory, allowPartial: allowPartial) }
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
        if !outcome.missing.isEmpty {
            FileHandle.standardError.write("cotflow: warning: \(outcome.missing.count) points missing from the merge\n".data(using: .utf8)!)
        }
    }
}
