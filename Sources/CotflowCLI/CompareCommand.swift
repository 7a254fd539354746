import ArgumentParser
import CotflowExperiments
import CotflowExact
import CotflowPlot
import CotflowModel
import CotflowCore
import CotflowStages
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "The reduced gradient flow against full training of the transformer from the same initial point.",
        discussion: "Training starts from the Assumption 4.1 point of --seed and the flow from its eigenvalues. With an optimizer that maps steps to flow time (SGD: t = learning rate x step) the flow is evaluated at every record time; Adam has no such map, so only the shapes of the curves (their stages) are compared. The training loss is the teacher-forced CoT loss on a fixed held-out set. With --full-flow the full-matrix gradient flow (every entry of V and W on --prompts fixed prompts) from training's start is a third curve, scored on the same held-out set, and the report splits training's deviation into the reduction's part and sampling's; --init random compares full training with it alone (notes/compare.md). Writes comparison.csv (one row per record time) and summary.json with --out."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Trainable sets to run: reduced (against the flow with W24 fixed), full (against the flow with W24 free) or both.")
    var params: ComparedSets = .reduced
    @OptionGroup var optimizerOptions: OptimizerOptions
    @OptionGroup var training: TrainingRunOptions
    @Option(help: "GSL stepper of the flow.") var stepper: Stepper = TrainingRunOptions.compare.flow.ode.stepper
    @Flag(help: "Render comparison.svg/.png (losses, eigenvalues) with gnuplot into --out; without gnuplot the data and script are written.")
    var plot = false
    @Flag(name: .customLong("full-flow"), help: "Add the full-matrix gradient flow (every entry of V and W on --prompts fixed prompts) from training's start as a third curve, and split training's deviation into the reduction's part and sampling's (notes/compare.md).")
    var fullFlow = false
    @Option(parsing: .unconditional, help: "Prompts of the full-matrix flow (with --full-flow). Fewer prompts bias the flow (notes/compare.md: 8% at (4, 30, 3) with 16384, 2.6% with 65536).") var prompts = 65536
    @Option(help: "Training's start: assumption (Assumption 4.1, also the reduced flow's) or random (iid N(0, init-scale^2) entries; needs --params full and --full-flow: no reduced flow then).")
    var `init`: InitialisationKind = TrainingRunOptions.compare.training.initialisation

    /// The optimizer given, else the comparison's.
    private func optimizer() throws -> OptimizerKind {
        try optimizerOptions.resolved(default: TrainingRunOptions.compare.training.optimizer)
    }

    /// The defaults of the training in `compare`: the comparison's, with the optimizer's learning rate.
    private func defaultSizes() throws -> TrainingSizes {
        var sizes = TrainingSizes(TrainingRunOptions.compare)
        sizes.learningRate = ComparisonConfig.defaultLearningRate(optimizer: try optimizer())
        return sizes
    }

    func validate() throws {
        try checkingInput { try ReducedLoss.checkSize(k: task.k) }
        try training.checkLimits(task, training.resolved(over: try defaultSizes()), objective: .cot, command: "compare")
        try output.checkPlot(plot)
        if fullFlow {
            guard prompts >= 1 else { throw ValidationError("--prompts must be at least 1 (got \(prompts))") }
            let optimizer = try optimizer()
            guard optimizer.hasTimeMap else { throw ValidationError(CompareError.fullFlowNeedsTimeMap(optimizer).description) }
            guard !stepper.requiresJacobian else {
                throw ValidationError("--stepper \(stepper.rawValue): \(FullFlowConfigurationError.implicitStepper(stepper, dimension: 2 * (2 * task.d + 2) * (2 * task.d + 2)))")
            }
        }
        if self.`init` == .random {
            guard params == .full else { throw ValidationError("--init random needs --params full: a random start is off the reduced model") }
            guard fullFlow else { throw ValidationError("--init random has no reduced flow to compare with; add --full-flow") }
        }
    }

    func run() throws {
        let eta = try task.stepSize()
        let ranges = try scale.ranges()
        var config = try ComparisonConfig.defaults(d: task.d, n: task.n, k: task.k, eta: eta, seed: task.seed)
        config.training.vRange = ranges.v
        config.training.wRange = ranges.w
        config.trainable = params.trainable
        config.training.optimizer = try optimizer()
        let sizes = training.resolved(over: try defaultSizes())
        config.training.learningRate = sizes.learningRate
        config.training.batchSize = sizes.batchSize
        config.training.steps = sizes.steps
        config.training.recordEvery = sizes.recordEvery
        config.training.heldOutSize = sizes.heldOut
        config.flow.ode.stepper = stepper
        config.training.initialisation = self.`init`
        config.training.initScale = scale.initScale
        if fullFlow { config.fullFlowPrompts = prompts }
        try output.prepare(files: ["comparison.csv", "ode_trajectory.csv", "full_flow_trajectory.csv", "summary.json", "comparison.svg", "comparison.png"]
                           + TrainableSet.allCases.map { "train_\($0.rawValue)_trajectory.csv" })
        Interruption.install()

        let comparison: Comparison
        do {
            let bar = Progress(total: config.training.steps * config.trainable.count, label: "compare", enabled: !output.quiet)
            defer { bar.finish() }
            let offsets = Dictionary(uniqueKeysWithValues: config.trainable.enumerated().map { ($1, $0 * config.training.steps) })
            comparison = try Comparator.run(config) { trainable, done, _ in bar.update(offsets[trainable]! + done) }
        } catch let stopped as ComparisonStopped {
            // Write the training runs computed so far, marked in summary.json.
            for (trainable, result) in stopped.runs {
                try output.write(result.trajectory.table.text, "train_\(trainable.rawValue)_trajectory.csv")
            }
            let last = stopped.runs.last!.1
            let summary = JSONValue.object(commonSummary(config) + last.status.json + [
                ("stopped_run", .string(stopped.runs.last!.0.rawValue)),
                ("runs", .object(stopped.runs.map { ($0.0.rawValue, .object($0.1.status.json + [
                    ("final_loss", .number($0.1.heldOutCoT.mean))])) })),
            ])
            try output.write(summary.rendered() + "\n", "summary.json")
            if output.json { print(summary.rendered()) }
            throw RunStopped(description: stopped.description + "; the training trajectories so far are kept"
                             + (output.out.map { " in \($0)" } ?? " (give --out DIR to keep them)"))
        }
        let settings = task.settings(eta: config.eta) + scale.settings(ranges) + [
            ("params", .string(params.rawValue))] + config.training.optimizer.settings + [("learning_rate", .number(config.training.learningRate)),
            ("batch_size", .int(config.training.batchSize)), ("steps", .int(config.training.steps)), ("record_every", .int(config.training.recordEvery)),
            ("held_out", .int(config.training.heldOutSize)), ("deviation_floor", .number(config.deviationFloor)),
            ("init", .string(config.training.initialisation.rawValue)), ("full_flow", .bool(fullFlow)),
            ("prompts", config.fullFlowPrompts.map { .int($0) } ?? .null),
        ] + config.flow.settings
        let summary = withProvenance(Provenance(settings: settings), self.summary(comparison))
        if let table = comparison.table { try output.write(table.text, "comparison.csv") }
        if let flow = comparison.flow { try output.write(flow.table.text, "ode_trajectory.csv") }
        if let full = comparison.fullFlow { try output.write(try reportingErrors { try full.trajectory.table() }.text, "full_flow_trajectory.csv") }
        for run in comparison.runs { try output.write(run.result.trajectory.table.text, "train_\(run.trainable.rawValue)_trajectory.csv") }
        try output.write(summary.rendered() + "\n", "summary.json")
        output.emit(json: summary, report: report(comparison))
        if plot { try renderFigure(Figures.comparison(comparison), name: "comparison", title: "reduced flow vs training, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(comparison.config.eta)", output: output) }
    }

    private func commonSummary(_ config: ComparisonConfig) -> [(String, JSONValue)] {
        [
            ("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(config.eta) + [
            ("seed", .int(Int(truncatingIfNeeded: task.seed)))] + config.training.optimizer.settings + [
            ("learning_rate", .number(config.training.learningRate)), ("batch_size", .int(config.training.batchSize)),
            ("steps", .int(config.training.steps)), ("held_out", .int(config.training.heldOutSize)),
            ("time_map", .string(config.training.optimizer.timeMapFormula ?? "none (\(config.training.optimizer.name)): shapes only")),
            ("deviation_floor", .number(config.deviationFloor)),
        ]
    }

    private func summary(_ c: Comparison) -> JSONValue {
        var pairs: [(String, JSONValue)] = commonSummary(c.config) + [("status", .string("completed"))] + [
            ("init", .string(c.config.training.initialisation.rawValue)), ("init_scale", .number(c.config.training.initScale)),
            ("ode_initial_loss", c.flow.map { .number($0.losses.first ?? .nan) } ?? .null), ("ode_final_loss", c.flow.map { .number($0.finalLoss) } ?? .null),
        ]
        var runs: [(String, JSONValue)] = []
        for run in c.runs {
            runs.append((run.trainable.rawValue, .object([
                ("flow", run.flow.map { .string($0.w24.isFree ? "w24_free" : "w24_fixed") } ?? .null),
                ("max_rel_loss_deviation", run.maxRelativeLossDeviation.map { .number($0) } ?? .null),
                ("max_eigenvalue_deviation", run.maxEigenvalueDeviation.map { .number($0) } ?? .null),
                ("final_loss", .number(run.losses.last ?? .nan)),
                ("max_off_block_norm", .number(run.offBlockNorm.max() ?? .nan)),
                ("max_offdiag_norm", .number(run.offDiagonalNorm.max() ?? .nan)),
                ("max_commutator_norm", .number(run.commutatorNorm.max() ?? .nan)),
                ("stage_agreement_change_points", run.changePointAgreement?.json ?? .null),
                ("stage_agreement_mechanistic", run.mechanisticAgreement?.json ?? .null),
                ("full_flow", run.fullFlow.map(\.json) ?? .null),
                ("final_w24", .number(run.w24.last ?? .nan)), ("flow_final_w24", run.flow.map { .number($0.u.last ?? .nan) } ?? .null),
                // ||W||^2 - ||V||^2 is conserved by the flow only when W24 is trained too.
                ("conserved_quantity_initial", run.trainable == .full ? .number(run.conservedQuantity.first ?? .nan) : .null),
                ("conserved_quantity_drift", run.trainable == .full ? .number(run.conservedDrift) : .null),
            ])))
        }
        pairs.append(("runs", .object(runs)))
        pairs.append(("full_flow", c.fullFlow.map(\.json) ?? .null))
        if let free = c.freeFlow {
            pairs.append(("ode_free_initial_loss", .number(free.losses.first ?? .nan)))
            pairs.append(("ode_free_final_loss", .number(free.finalLoss)))
        }
        pairs.append(("stage_boundaries", .object((c.flowStages.map { [("ode", $0.json)] } ?? []) + (c.freeFlowStages.map { [("ode_free", $0.json)] } ?? [])
            + (c.fullFlow.map { [("full_flow", $0.stages.json)] } ?? [])
            + c.runs.map { ($0.trainable.rawValue, $0.stages.json) })))
        if let first = c.runs.first {
            pairs.append(("max_rel_loss_deviation", first.maxRelativeLossDeviation.map { .number($0) } ?? .null))
        }
        return .object(pairs)
    }

    private func report(_ c: Comparison) -> String {
        var lines = ["\(c.flow == nil ? "full-matrix flow" : c.fullFlow == nil ? "reduced flow" : "reduced and full-matrix flows") against \(c.config.training.optimizer.name) training from \(c.config.training.initialisation == .random ? "a random start (scale \(fmt(c.config.training.initScale)))" : "the Assumption 4.1 point"), (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(c.config.eta), "
            + "learning rate \(fmt(c.config.training.learningRate)), batch \(c.config.training.batchSize), \(c.config.training.steps) steps, \(c.config.training.heldOutSize) held-out prompts"]
        if !c.config.hasTimeMap { lines.append("Adam has no map from steps to flow time: compare the shapes (stages) only") }
        for run in c.runs {
            var line = "\(run.trainable.rawValue)" + (run.flow.map { " (against the flow with W24 \($0.w24.isFree ? "free" : "fixed at -1"))" } ?? "") + ": final held-out CoT loss \(fmt(run.losses.last ?? .nan))"
            if let dev = run.maxRelativeLossDeviation {
                line += ", max relative loss deviation \(fmt(dev)) (where the flow's loss > \(fmt(c.config.deviationFloor)) x its start)"
            }
            if let e = run.maxEigenvalueDeviation { line += ", max eigenvalue deviation \(fmt(e))" }
            line += "; off the manifold: block norm <= \(fmt(run.offBlockNorm.max() ?? .nan)), off-diagonal <= \(fmt(run.offDiagonalNorm.max() ?? .nan)), commutator <= \(fmt(run.commutatorNorm.max() ?? .nan))"
            lines.append(line)
            if run.trainable == .full {
                lines.append("  W24 \(fmt(run.w24.first ?? .nan)) -> \(fmt(run.w24.last ?? .nan))" + (run.flow.map { " (flow with W24 free: \(fmt($0.u.last ?? .nan)))" } ?? "") + "; "
                    + "||W||_F^2 - ||V||_F^2 = \(fmt(run.conservedQuantity.first ?? .nan)) at the start, drifts by up to \(fmt(run.conservedDrift)) under SGD (conserved by gradient flow)")
            }
            lines += run.fullFlowLines(c)
            for (detector, agreement) in [("change points", run.changePointAgreement), ("mechanistic", run.mechanisticAgreement)] {
                guard let agreement else { continue }
                lines.append("  \(detector): " + (agreement.sameStages
                    ? "same stages as the flow, boundaries within \(fmt(100 * (agreement.maxRelativeBoundaryDifference ?? 0)))%"
                    : "different stages from the flow"))
            }
        }
        if let stages = c.flowStages {
            lines.append(StageTable.text(stages.changePoint, title: "flow, change-point stages"))
            lines.append(StageTable.text(stages.mechanistic, title: "flow, mechanistic stages"))
        }
        if let free = c.freeFlowStages {
            lines.append(StageTable.text(free.changePoint, title: "flow with W24 free, change-point stages"))
            lines.append(StageTable.text(free.mechanistic, title: "flow with W24 free, mechanistic stages"))
        }
        if let full = c.fullFlow {
            lines.append(StageTable.text(full.stages.changePoint, title: "full-matrix flow, change-point stages"))
            lines.append(StageTable.text(full.stages.mechanistic, title: "full-matrix flow, mechanistic stages" + full.stages.boundaries.blockManifoldNote))
        }
        for run in c.runs {
            lines.append(StageTable.text(run.stages.changePoint, title: "\(run.trainable.rawValue) training, change-point stages"))
            lines.append(StageTable.text(run.stages.mechanistic, title: "\(run.trainable.rawValue) training, mechanistic stages" + run.stages.boundaries.blockManifoldNote))
        }
        if let out = output.out {
            lines.append("wrote \(out)/comparison.csv, " + (c.flow != nil ? "ode_trajectory.csv, " : "") + (c.fullFlow != nil ? "full_flow_trajectory.csv, " : "") + "train_*_trajectory.csv, summary.json")
        }
        return lines.joined(separator: "\n")
    }
}
