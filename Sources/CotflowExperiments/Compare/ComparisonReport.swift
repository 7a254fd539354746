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
            for (detector, agreement) in [("stages", run.mechanisticAgreement), ("cross-check by change points", run.changePointAgreement)] {
                guard let agreement else { continue }
                lines.append("  \(detector): " + (agreement.sameStages
                    ? "same stages as the flow, boundaries within \(fmt(100 * (agreement.maxRelativeBoundaryDifference ?? 0)))%"
                    : "different stages from the flow"))
            }
        }
        // The stage table of every curve (notes/stages.md), the plateau ends side by side first.
        let curves: [(String, StageAnalysis)] = (c.flowStages.map { [("flow", $0)] } ?? []) + (c.freeFlowStages.map { [("flow with W24 free", $0)] } ?? [])
            + (c.fullFlow.map { [("full-matrix flow", $0.stages)] } ?? []) + c.runs.map { ("\($0.trainable.rawValue) training", $0.stages) }
        lines.append(plateauLine)
        for (label, stages) in curves {
            lines.append(StageTable.text(stages.story.stages, title: "\(label), stages" + stages.boundaries.blockManifoldNote))
            if let landmarks = stages.story.landmarkLine { lines.append("  " + landmarks) }
            if let check = stages.story.crossCheckLine { lines.append("  " + check) }
        }
        if let out {
            lines.append("wrote \(out)/comparison.csv, " + (c.flow != nil ? "ode_trajectory.csv, " : "") + (c.fullFlow != nil ? "full_flow_trajectory.csv, " : "") + "train_*_trajectory.csv, summary.json")
        }
        return lines.joined(separator: "\n")
    }

    /// The plateau end of every curve, in the order of the report, and the curve it is compared
    /// with (nil for the first): the one number per curve that `--json`
    /// (`stage_boundaries.<curve>.plateau_end`) and the figure's title quote too.
    public var plateauEnds: [(label: String, t: Double?, reference: (label: String, t: Double?)?)] {
        let flow = flowStages.map { ("flow", $0.story.plateauEnd) }, free = freeFlowStages.map { ("flow with W24 free", $0.story.plateauEnd) }
        let full = fullFlow.map { ("full-matrix flow", $0.stages.story.plateauEnd) }
        var out: [(label: String, t: Double?, reference: (label: String, t: Double?)?)] = []
        if let flow { out.append((flow.0, flow.1, nil)) }
        if let free { out.append((free.0, free.1, flow)) }
        if let full { out.append((full.0, full.1, free ?? flow)) }
        for run in runs {
            // Training against the flow it is compared with (none without a time map: Adam's steps are not flow time).
            let reference = !config.hasTimeMap ? nil : run.flow?.w24.isFree == true ? (free ?? flow) : (flow ?? full)
            out.append(("\(run.trainable.rawValue) \(config.training.optimizer.name == "sgd" ? "SGD" : config.training.optimizer.name)", run.stages.story.plateauEnd, reference))
        }
        return out
    }

    /// "plateau end (products v_j w_j reach 10% of -eta): flow t = 0.93, full SGD t = 0.95 (+2.9% from the flow)".
    public var plateauLine: String {
        let parts = plateauEnds.map { e -> String in
            guard let t = e.t else { return "\(e.label): no plateau" }
            guard let r = e.reference, let tr = r.t, tr > 0 else { return "\(e.label) t = \(fmt(t))" }
            return "\(e.label) t = \(fmt(t)) (" + String(format: "%+.1f%%", 100 * (t - tr) / tr) + " from the \(r.label))"
        }
        return "plateau end (products v_j w_j reach 10% of -eta; notes/stages.md): " + parts.joined(separator: ", ")
    }
}
