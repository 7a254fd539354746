import ArgumentParser
import CotflowFigures
import CotflowIO
import CotflowModel
import CotflowNumerics
import CotflowTask
import CotflowTraining
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the one-layer linear transformer (full D x D matrices) on freshly sampled prompts.",
        discussion: "Records a trajectory every --record-every steps: batch loss, held-out CoT and evaluation losses (mean and median), eigenvalues of the symmetric parts of V31 and W13, their diagonals in the initial eigenbasis, W24, the norm outside those blocks, the off-diagonal mass of V31 and W13 in the initial eigenbasis and their commutator norm. With --out writes trajectory.csv, summary.json, parameters.json (final) and initial_parameters.json. Time t is the optimizer's map of steps to the flow time of `cotflow ode` (SGD: t = learning rate x step); an optimizer without one (Adam) records t = learning rate x step."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Training objective: cot (teacher-forced chain), nocot (one step) or looped (the layer applied k times).")
    var objective: TrainingObjective = .cot
    @Option(help: "Trainable set: full (every entry of V and W) or reduced (V31 and W13, W24 = -1, the rest zero).")
    var params: TrainableSet = .full
    @Option(help: "Initialisation: random (iid N(0, init-scale^2) entries) or assumption (Assumption 4.1).")
    var `init`: InitialisationKind = .random
    @OptionGroup var optimizerOptions: OptimizerOptions
    @OptionGroup var training: TrainingRunOptions
    @Flag(help: "Render figure.svg/.png (losses; eigenvalues of V31 and W13 with the construction's -eta and 1; W24) with gnuplot into --out.")
    var plot = false
    @Flag(help: "Curriculum (looped: number of loops; cot: chain length): train at --curriculum-start first and grow the length by one in equal stages until it reaches k at step R = min(round(--curriculum-ramp x steps), steps - 1), then train at k. Stage l (l = start...k-1) covers steps [(l-start) R/(k-start), (l-start+1) R/(k-start)); e.g. the defaults at k = 6 and 1000 steps train 1, 2, ..., 6 loops from steps 0, 100, ..., 500. Held-out records always use k; batch_loss is at the current length. The stages are in summary.json.")
    var curriculum = false
    @Option(name: .customLong("curriculum-start"), help: "First length of the curriculum, 1...k (default \(Curriculum().start)).") var curriculumStart: Int?
    @Option(name: .customLong("curriculum-ramp"), help: "Fraction of the steps, in [0, 1), over which the curriculum ramps to k (default \(Curriculum.defaultRampFraction)).")
    var curriculumRamp: Double?
    @Option(name: .customLong("clip-norm"), help: "Scale a batch gradient whose Euclidean norm exceeds this down to it (default: no clipping).")
    var clipNorm: Double?

    private var curriculumConfig: Curriculum? {
        curriculum ? Curriculum(start: curriculumStart ?? Curriculum().start, rampFraction: curriculumRamp ?? Curriculum.defaultRampFraction) : nil
    }

    func validate() throws {
        if !curriculum, curriculumStart != nil || curriculumRamp != nil {
            throw ValidationError("--curriculum-start and --curriculum-ramp need --curriculum")
        }
        if curriculum, objective == .nocot {
            throw ValidationError("--curriculum applies to --objective looped or cot (the no-CoT model has one step)")
        }
        if let s = curriculumStart, !(1...max(task.k, 1)).contains(s) {
            throw ValidationError("--curriculum-start must be in 1...k = 1...\(task.k) (got \(s))")
        }
        if let c = clipNorm, !(c.isFinite && c > 0) { throw ValidationError("--clip-norm must be a positive number (got \(c))") }
        if let f = curriculumRamp, !(f.isFinite && f >= 0 && f < 1) {
            throw ValidationError("--curriculum-ramp must be a fraction in [0, 1) so that the run ends at k (got \(f))")
        }
        try training.checkLimits(task, training.resolved(over: TrainingSizes(TrainingRunOptions.train)), objective: objective, command: "training")
        try output.checkPlot(plot)
    }

    func run() throws {
        let eta = try task.stepSize()
        let ranges = try scale.ranges()
        let optimizer = try optimizerOptions.resolved(default: TrainingRunOptions.train.optimizer)
        var used: TrainingConfig?
        try output.prepare(files: ["trajectory.csv", "summary.json", "parameters.json", "initial_parameters.json"])
        Interruption.install()
        let result: TrainingResult = try reportingErrors {
            let taskConfig = try TaskConfig(d: task.d, n: task.n, k: task.k, eta: eta.doubleValue)
            let sizes = training.resolved(over: TrainingSizes(TrainingConfig.defaults(task: taskConfig, objective: objective, seed: task.seed)))
            let config = TrainingConfig(
                task: taskConfig, objective: objective, trainable: params, initialisation: self.`init`,
                initScale: scale.initScale, vRange: ranges.v, wRange: ranges.w, optimizer: optimizer,
                learningRate: sizes.learningRate, batchSize: sizes.batchSize, steps: sizes.steps, recordEvery: sizes.recordEvery,
                heldOutSize: sizes.heldOut, seed: task.seed, curriculum: curriculumConfig, clipNorm: clipNorm)
            used = config
            let trainer = try Trainer(config: config)
            let bar = Progress(total: config.steps, label: "train", enabled: !output.quiet)
            defer { bar.finish() }
            return try trainer.run(reporting: { done, _, loss in bar.update(done, loss: loss) })
        }
        let provenance = Provenance(settings: settings(used!, eta: eta, ranges: ranges))
        let summary = withProvenance(provenance, self.summary(result, eta: eta, optimizer: optimizer))
        try output.write(result.trajectory.table.text, "trajectory.csv")
        try output.write(summary.rendered() + "\n", "summary.json")
        if let out = output.out {
            let task = self.task.settings(eta: eta).filter { $0.0 != "seed" }
            // A diverged run's parameters may be non-finite: then only the initial ones are saved.
            if result.parameters.isFinite || result.status == .completed {
                try result.parameters.save(to: (out as NSString).appendingPathComponent("parameters.json"), provenance: provenance, task: task)
            }
            try result.initialParameters.save(to: (out as NSString).appendingPathComponent("initial_parameters.json"), provenance: provenance, task: task)
        }
        output.emit(json: summary, report: report(result, eta: eta, optimizer: optimizer))
        if plot {
            try renderFigure(Figures.training(result.trajectory, eta: eta.doubleValue), name: "figure",
                             title: "\(objective.rawValue) training (\(optimizer.name)), (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta)", output: output)
        }
        if result.status != .completed {
            throw RunStopped(description: "training \(result.status); the trajectory so far is kept" + (output.out.map { " in \($0)" } ?? ""))
        }
    }

    /// Every setting of the run, defaults resolved.
    private func settings(_ c: TrainingConfig, eta: Rational, ranges: (v: ClosedRange<Double>, w: ClosedRange<Double>)) -> [(String, JSONValue)] {
        task.settings(eta: eta) + [
            ("objective", .string(objective.rawValue)), ("params", .string(params.rawValue)), ("init", .string(self.`init`.rawValue)),
        ] + scale.settings(ranges) + c.optimizer.settings + [
            ("learning_rate", .number(c.learningRate)), ("batch_size", .int(c.batchSize)),
            ("steps", .int(c.steps)), ("record_every", .int(c.recordEvery)), ("held_out", .int(c.heldOutSize)),
            ("curriculum", .bool(c.curriculum != nil)), ("curriculum_start", c.curriculum.map { .int($0.start) } ?? .null),
            ("curriculum_ramp", c.curriculum.map { .number($0.rampFraction) } ?? .null),
            ("clip_norm", c.clipNorm.map { .number($0) } ?? .null),
        ]
    }

    private func summary(_ r: TrainingResult, eta: Rational, optimizer: OptimizerKind) -> JSONValue {
        let status = r.status.json
        let p = r.parameters
        return .object([
            ("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
            ("seed", .int(Int(truncatingIfNeeded: task.seed))), ("objective", .string(objective.rawValue)),
            ("params", .string(params.rawValue)), ("init", .string(self.`init`.rawValue)),
        ] + optimizer.settings + [
            ("curriculum", curriculumJSON(r)),
            ("clip_norm", clipNorm.map { .number($0) } ?? .null), ("clipped_steps", .int(r.clippedSteps)),
            ("steps", .int(r.stepsDone)), ("seconds", .number(r.seconds)),
            ("final_cot_loss", .number(r.heldOutCoT.mean)),
        ] + status + r.heldOutEval.json(prefix: "eval_loss_") + r.heldOutCoT.json(prefix: "cot_loss_") + [
            ("w24", .number(p.W24)), ("off_block_norm", .number(p.offBlockNorm)),
        ])
    }

    private func curriculumJSON(_ r: TrainingResult) -> JSONValue {
        guard let c = curriculumConfig else { return .null }
        return .object([
            ("over", .string(objective == .looped ? "loops" : "chain_length")),
            ("start", .int(c.start)), ("ramp_fraction", .number(c.rampFraction)),
            ("stages", .array(r.curriculumStages.map { .object([("from_step", .int($0.fromStep)), ("length", .int($0.length))]) })),
        ])
    }

    private func report(_ r: TrainingResult, eta: Rational, optimizer: OptimizerKind) -> String {
        var lines = [
            "\(objective.rawValue) training, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta) = \(fmt(eta.doubleValue)), "
                + "\(params.rawValue) parameters, \(self.`init`.rawValue) init, \(optimizer.name)",
            "\(r.stepsDone) steps in \(String(format: "%.1f", r.seconds)) s",
        ] + (r.curriculumStages.isEmpty ? [] : [
            "curriculum over the \(objective == .looped ? "number of loops" : "chain length"): "
                + r.curriculumStages.map { "\($0.length) from step \($0.fromStep)" }.joined(separator: ", "),
        ]) + [
            r.heldOutEval.report(name: "held-out evaluation loss"),
            r.heldOutCoT.report(name: "held-out CoT loss"),
        ]
        if case .diverged(let step, let reason) = r.status { lines.append("DIVERGED at step \(step): \(reason)") }
        if case .interrupted(let step, let signal) = r.status { lines.append("INTERRUPTED by \(signal) at step \(step)") }
        let p = r.parameters
        if case let (v, w)? = p.blockEigenvalues {
            lines.append("V31 eigenvalues (symmetric part) in [\(fmt(v.first!)), \(fmt(v.last!))] (construction -eta = \(fmt(-eta.doubleValue))); "
                + "W13 in [\(fmt(w.first!)), \(fmt(w.last!))] (construction 1); W24 = \(fmt(p.W24)); norm outside the blocks \(fmt(p.offBlockNorm))")
        }
        // Predictions are invariant under V31 -> V31 / c, W13 -> c W13, W24 -> c W24; with W24 free
        // (full parameters) compare the invariant pair (-W24) V31 and W13 / (-W24) with the construction.
        if case let (v, w)? = p.rescaledBlockEigenvalues {
            lines.append("rescaled to W24 = -1 (a symmetry of the model): (-W24) V31 eigenvalues in [\(fmt(v.first!)), \(fmt(v.last!))], "
                + "W13 / (-W24) in [\(fmt(w.first!)), \(fmt(w.last!))]")
        }
        if let out = output.out { lines.append("wrote \(out)/trajectory.csv, summary.json, parameters.json, initial_parameters.json" + (plot ? ", figure.*" : "")) }
        return lines.joined(separator: "\n")
    }
}
