import CotflowStages
import CotflowCore

// The full-matrix flow's part of the comparison's summary.json and report (`cotflow compare --full-flow`).

extension FullFlowDeviation {
    /// Per run: training against the full-matrix flow (`runs.<set>.full_flow`).
    public var json: JSONValue {
        .object([
            ("max_rel_loss_deviation", maxRelativeLossDeviation.map { .number($0) } ?? .null),
        ] + (lossDeviationMissing.map { [("max_rel_loss_deviation_missing", .string($0))] } ?? []) + [
            ("rel_loss_deviation_at_t0", .number(relativeLossDeviation.first ?? .nan)),
            ("max_eigenvalue_deviation", .number(maxEigenvalueDeviation)),
            ("stage_agreement_change_points", changePointAgreement.json),
            ("stage_agreement_mechanistic", mechanisticAgreement.json),
        ])
    }
}

extension FullFlowCurve {
    /// The flow itself (top-level `full_flow`).
    public var json: JSONValue {
        let s = trajectory.statistics
        return .object([
            ("prompts", .int(prompts)),
            ("initial_loss", .number(heldOutLosses.first ?? .nan)), ("final_loss", .number(heldOutLosses.last ?? .nan)),
            ("initial_prompt_loss", .number(trajectory.losses.first ?? .nan)), ("final_prompt_loss", .number(trajectory.finalLoss)),
            ("data_off_block_norm_initial", .number(manifoldDistance.first ?? .nan)),
            ("data_off_block_norm_final", .number(manifoldDistance.last ?? .nan)),
            ("max_rel_loss_deviation_from_reduced_flow", maxReductionDeviation.map { .number($0) } ?? .null),
            ("steps", .int(s.acceptedSteps)), ("failed_steps", .int(s.failedSteps)), ("rhs_evals", .int(s.rhsEvaluations)),
            ("seconds", .number(seconds)),
        ])
    }
}

extension TrainingComparison {
    /// The decomposition of this run's deviation into the reduction's part and sampling's.
    public func fullFlowLines(_ c: Comparison) -> [String] {
        guard let f = fullFlow, let full = c.fullFlow else { return [] }
        var lines: [String] = []
        if let reduction = full.maxReductionDeviation {
            lines.append("  what the reduction leaves out: reduced flow with W24 free against the full-matrix flow (\(full.prompts) prompts), max relative loss deviation \(fmt(reduction))")
        }
        lines.append("  what sampling and the step size add: \(trainable.rawValue) SGD against the full-matrix flow, max relative loss deviation "
            + "\(f.maxRelativeLossDeviation.map(fmt) ?? "none (\(f.lossDeviationMissing ?? "not measured"))"), max eigenvalue deviation \(fmt(f.maxEigenvalueDeviation)) (both scored on the held-out set)")
        for (detector, agreement) in [("change points", f.changePointAgreement), ("mechanistic", f.mechanisticAgreement)] {
            lines.append("  against the full-matrix flow, \(detector): " + (agreement.sameStages
                ? "same stages, boundaries within \(fmt(100 * (agreement.maxRelativeBoundaryDifference ?? 0)))%"
                : "different stages"))
        }
        return lines
    }
}

extension MechanisticBoundaries {
    /// " (on the block manifold from t = ...)" where the landmark was found.
    public var blockManifoldNote: String {
        blockManifoldReached.map { " (on the block manifold from t = \(fmt($0)))" } ?? ""
    }
}
