import CotflowCore
import CotflowModel
import CotflowStages
import Foundation

// Each run's steps of the one pipeline (`OutputRun.solve(into:provenance:)`): the files it may
// write, its progress display, the files it writes, its report (with the stage line of `ode` and
// `train`) and when its command exits 1. A sweep shard's: beside its run (SweepShardRun.swift).

extension TrainingOutcome: RunOutcome {}

extension TrainingRun: OutputRun {
    package static let outputFiles = ["trajectory.csv", "summary.json", "parameters.json", "initial_parameters.json"]

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> TrainingOutcome {
        let bar = Progress(total: config.steps, label: "train", enabled: !output.quiet)
        defer { bar.finish() }
        return try solve(reporting: { done, _, loss in bar.update(done, loss: loss) })
    }

    package func write(_ outcome: TrainingOutcome, output: RunOutput, provenance: Provenance) throws {
        try output.write(outcome.result.trajectory.table.text, "trajectory.csv")
        if let out = output.directory { try outcome.saveParameters(in: out, run: self, provenance: provenance) }
    }

    package func report(_ outcome: TrainingOutcome, output: RunOutput) -> String {
        let t = outcome.result.trajectory
        let stages = config.objective != .cot ? StageLine.none
            : StageLine(times: t.times, losses: t.cotLossMeans, v: t.vDiagonals, w: t.wDiagonals, eta: config.task.eta, manifoldDistance: t.parameters.map(\.dataOffBlockNorm))
        return stages.adding(to: outcome.report(run: self, out: output.directory, plotted: output.plotted))
    }

    package func failure(_ outcome: TrainingOutcome, output: RunOutput) -> RunStopped? {
        outcome.status.holds ? nil : RunStopped("training \(outcome.status); the trajectory so far is kept" + (output.directory.map { " in \($0)" } ?? ""))
    }
}

extension ReducedFlowOutcome: RunOutcome {}

extension ReducedFlowRun: OutputRun {
    package static let outputFiles = ["trajectory.csv", "summary.json"]

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> ReducedFlowOutcome {
        let bar = Progress(total: 1, label: "ode", enabled: !output.quiet && !output.json, phases: estimate())
        defer { bar.finish() }
        return try solve(progress: bar.report)
    }

    package func write(_ outcome: ReducedFlowOutcome, output: RunOutput, provenance: Provenance) throws {
        try output.write(outcome.trajectory.table.text, "trajectory.csv")
    }

    package func report(_ outcome: ReducedFlowOutcome, output: RunOutput) -> String {
        let t = outcome.trajectory
        return StageLine(times: t.times, losses: t.losses, v: t.v, w: t.w, eta: eta.doubleValue)
            .adding(to: outcome.report(out: output.directory, plotted: output.plotted))
    }

    package func failure(_ outcome: ReducedFlowOutcome, output: RunOutput) -> RunStopped? {
        guard case .failed(let reason) = outcome.status else { return nil }
        return RunStopped("the flow failed: \(reason); the trajectory so far is kept")
    }
}

extension FullFlowOutcome: RunOutcome {}

extension FullFlowRun: OutputRun {
    package static let outputFiles = ["trajectory.csv", "summary.json", "parameters.json", "initial_parameters.json"]

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> FullFlowOutcome {
        let bar = Progress(total: 1, label: "ode", enabled: !output.quiet && !output.json)
        defer { bar.finish() }
        return try solve { t in bar.report(progress(at: t)) }
    }

    package func write(_ outcome: FullFlowOutcome, output: RunOutput, provenance: Provenance) throws {
        try output.write(try outcome.trajectory.table().text, "trajectory.csv")
        if let out = output.directory, let first = outcome.trajectory.parameters.first, let last = outcome.trajectory.parameters.last {
            try first.save(to: (out as NSString).appendingPathComponent("initial_parameters.json"), provenance: provenance, task: taskFields)
            if last.isFinite { try last.save(to: (out as NSString).appendingPathComponent("parameters.json"), provenance: provenance, task: taskFields) }
        }
    }

    package func report(_ outcome: FullFlowOutcome, output: RunOutput) throws -> String {
        let t = outcome.trajectory, columns = try t.parameterColumns()
        return StageLine(times: t.times, losses: t.losses, v: columns.map(\.vDiagonal), w: columns.map(\.wDiagonal), eta: eta.doubleValue,
                         manifoldDistance: columns.map(\.dataOffBlockNorm)).adding(to: outcome.report(out: output.directory))
    }

    package func failure(_ outcome: FullFlowOutcome, output: RunOutput) -> RunStopped? {
        guard case .failed(let reason) = outcome.status else { return nil }
        return RunStopped("the full-matrix flow failed: \(reason); the trajectory so far is kept")
    }
}

extension EvaluationOutcome: RunOutcome {}

extension EvaluationRun: OutputRun {
    package static let outputFiles = ["summary.json", "per_prompt.csv"]

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> EvaluationOutcome {
        let bar = SharedProgress(Progress(total: prompts, label: "eval", unit: "prompts", enabled: !output.quiet, phases: estimate()))
        defer { bar.finish() }
        return try solve { phase, done, total in bar.report(phase, done: done, total: total, unit: phase == "exact GD reference" ? "steps" : "prompts") }
    }

    package func write(_ outcome: EvaluationOutcome, output: RunOutput, provenance: Provenance) throws {
        try output.write(outcome.table.text, "per_prompt.csv")
    }

    package func report(_ outcome: EvaluationOutcome, output: RunOutput) -> String { outcome.report(out: output.directory, plotted: output.plotted) }
}

extension HessianOutcome: RunOutcome {}

extension HessianRun: OutputRun {
    package static let outputFiles = ["summary.json", "eigenvalues.csv"]

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> HessianOutcome {
        let bar = Progress(total: 1, label: "hessian", unit: "columns", enabled: !output.quiet, phases: estimate())
        defer { bar.finish() }
        return try solve { phase, done, total in bar.update(phase: phase, done: done, total: total, unit: phase == "Hessian columns" ? "columns" : "steps") }
    }

    package func write(_ outcome: HessianOutcome, output: RunOutput, provenance: Provenance) throws {
        try output.write(outcome.table.text, "eigenvalues.csv")
    }

    package func report(_ outcome: HessianOutcome, output: RunOutput) -> String { outcome.report(out: output.directory) }
}

extension StagesOutcome: RunOutcome {}

extension StagesRun: OutputRun {
    package static let outputFiles = ["stages.csv", "change_point_stages.csv", "stages.json", "stages.svg", "stages.png"]
    package static var summaryName: String? { "stages.json" }

    package func compute(_ output: RunOutput, provenance: Provenance) throws -> StagesOutcome { try solve() }

    package func write(_ outcome: StagesOutcome, output: RunOutput, provenance: Provenance) throws {
        let story = outcome.stages.story
        try output.write(StageTable.csvText(story.stages), "stages.csv")
        if story.boundaries != nil { try output.write(StageTable.csvText(story.changePoints), "change_point_stages.csv") }
    }

    package func report(_ outcome: StagesOutcome, output: RunOutput) -> String { outcome.report(out: output.directory) }
}

extension ComparisonOutcome: RunOutcome {}

extension ComparisonRun: OutputRun {
    package func compute(_ output: RunOutput, provenance: Provenance) throws -> ComparisonOutcome {
        // Every phase in the display; the time left weighs them by the estimate's shares.
        let bar = Progress(total: config.training.steps, label: "compare", enabled: !output.quiet, phases: estimate())
        defer { bar.finish() }
        return try solve(progress: { trainable, done, total in bar.update(phase: "training (\(trainable.rawValue))", done: done, total: total) },
                         phase: { name, fraction in bar.update(phase: name, done: Int(100 * fraction), total: 100, unit: "%") })
    }

    /// The comparison's tables, or, when a training run stopped, the training runs so far.
    package func write(_ outcome: ComparisonOutcome, output: RunOutput, provenance: Provenance) throws {
        guard let comparison = outcome.comparison else {
            for (trainable, result) in outcome.stoppedRuns { try output.write(result.trajectory.table.text, "train_\(trainable.rawValue)_trajectory.csv") }
            return
        }
        if let table = comparison.table { try output.write(table.text, "comparison.csv") }
        if let flow = comparison.flow { try output.write(flow.table.text, "ode_trajectory.csv") }
        if let full = comparison.fullFlow { try output.write(try full.trajectory.table().text, "full_flow_trajectory.csv") }
        for r in comparison.runs { try output.write(r.result.trajectory.table.text, "train_\(r.trainable.rawValue)_trajectory.csv") }
    }

    /// A training run that stopped ends the comparison: no report.
    package func abort(_ outcome: ComparisonOutcome, output: RunOutput) -> Error? {
        guard outcome.comparison == nil else { return nil }
        return RunStopped((outcome.stopDescription ?? "compare: stopped") + "; the training trajectories so far are kept"
                          + (output.directory.map { " in \($0)" } ?? " (give --out DIR to keep them)"))
    }

    package func report(_ outcome: ComparisonOutcome, output: RunOutput) -> String { outcome.comparison?.report(out: output.directory) ?? "" }
}
