import CotflowCore
import CotflowModel
import CotflowStages

extension Comparison {
    /// What `cotflow compare` prints: the curves compared, each run's deviations and stage
    /// agreement, the stage tables, and the files written to `out`.
    public func report(out: String?) -> String {
        let c = self
        var lines = ["\(c.flow == nil ? "full-matrix flow" : c.fullFlow == nil ? "reduced flow" : "reduced and full-matrix flows") against \(c.config.training.optimizer.name) training from \(c.config.training.initialisation == .random ? "a random start (scale \(fmt(c.config.training.initScale)))" : "the Assumption 4.1 point"), (d, n, k) = (\(c.config.d), \(c.config.n), \(c.config.k)), eta = \(c.config.eta), "
            + "learning rate \(fmt(c.config.training.learningRate)), batch \(c.config.training.batchSize), \(c.config.training.steps) steps, \(c.config.training.heldOutSize) held-out prompts"]
        if !c.config.hasTimeMap { lines.append("Adam has no map from steps to flow time: compare the shapes (stages) only") }
        for run in c.runs {
            var line = "\(run.trainable.rawValue)" + (run.flow.map { " (against the flow with W24 \($0.w24.isFree ? "free" : "fixed at -1"))" } ?? "") + ": final held-out CoT loss \(fmt(run.losses.last ?? .nan))"
            if let dev = run.maxRelativeLossDeviation {
                line += ", max relative loss deviation \(fmt(dev)) (where the flow's loss > \(fmt(c.config.deviationFloor)) x its start)"
            } else if let why = run.lossDeviationMissing {
                line += ", max relative loss deviation: none (\(why))"
            }
            if let e = run.maxEigenvalueDeviation { line += ", max eigenvalue deviation \(fmt(e))" }
            line += "; off the manifold: block norm <= \(fmt(run.offBlockNorm.max() ?? .nan)), off-diagonal <= \(fmt(run.offDiagonalNorm.max() ?? .nan)), commutator <= \(fmt(run.commutatorNorm.max() ?? .nan))"
            lines.append(line)
            if run.trainable == .full {
                lines.append("  W24 \(fmt(run.w24.first ?? .nan)) -> \(fmt(run.w24.last ?? .nan))" + (run.flow.map { " (flow with W24 free: \(fmt($0.u.last ?? .nan)))" } ?? "") + "; "
                    + "||W||_F^2 - ||V||_F^2 = \(fmt(run.conservedQuantity.first ?? .nan)) at the start, drifts by up to \(fmt(run.conservedDrift)) under SGD (conserved by gradient flow)")
            }
            lines += run.fullFlowLines(c)
            lines += run.correction?.reportLines ?? []
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
        if let out {
            lines.append("wrote \(out)/comparison.csv, " + (c.flow != nil ? "ode_trajectory.csv, " : "") + (c.fullFlow != nil ? "full_flow_trajectory.csv, " : "") + "train_*_trajectory.csv, summary.json")
        }
        return lines.joined(separator: "\n")
    }
}
