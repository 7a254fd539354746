import CotflowCompare
import CotflowIO
import CotflowStages

/// The full-matrix flow's part of `cotflow compare --full-flow` output.
extension CompareCommand {
    /// Per run: training against the full-matrix flow (`runs.<set>.full_flow`).
    func fullFlowJSON(_ f: FullFlowDeviation) -> JSONValue {
        .object([
            ("max_rel_loss_deviation", f.maxRelativeLossDeviation.map { .number($0) } ?? .null),
            ("rel_loss_deviation_at_t0", .number(f.relativeLossDeviation.first ?? .nan)),
            ("max_eigenvalue_deviation", .number(f.maxEigenvalueDeviation)),
            ("stage_agreement_change_points", f.changePointAgreement.json),
            ("stage_agreement_mechanistic", f.mechanisticAgreement.json),
        ])
    }

    /// The flow itself (top-level `full_flow`).
    func fullFlowJSON(_ f: FullFlowCurve) -> JSONValue {
        let s = f.trajectory.statistics
        return .object([
            ("prompts", .int(f.prompts)),
            ("initial_loss", .number(f.heldOutLosses.first ?? .nan)), ("final_loss", .number(f.heldOutLosses.last ?? .nan)),
            ("initial_prompt_loss", .number(f.trajectory.losses.first ?? .nan)), ("final_prompt_loss", .number(f.trajectory.finalLoss)),
            ("data_off_block_norm_initial", .number(f.manifoldDistance.first ?? .nan)),
            ("data_off_block_norm_final", .number(f.manifoldDistance.last ?? .nan)),
            ("max_rel_loss_deviation_from_reduced_flow", f.maxReductionDeviation.map { .number($0) } ?? .null),
            ("steps", .int(s.acceptedSteps)), ("failed_steps", .int(s.failedSteps)), ("rhs_evals", .int(s.rhsEvaluations)),
            ("seconds", .number(f.seconds)),
        ])
    }

    /// The decomposition of one run's deviation.
    func fullFlowLines(_ run: TrainingComparison, _ c: Comparison) -> [String] {
        guard let f = run.fullFlow, let full = c.fullFlow else { return [] }
        var lines: [String] = []
        if let reduction = full.maxReductionDeviation {
            lines.append("  what the reduction leaves out: reduced flow with W24 free against the full-matrix flow (\(full.prompts) prompts), max relative loss deviation \(fmt(reduction))")
        }
        lines.append("  what sampling and the step size add: \(run.trainable.rawValue) SGD against the full-matrix flow, max relative loss deviation "
            + "\(f.maxRelativeLossDeviation.map(fmt) ?? "n/a"), max eigenvalue deviation \(fmt(f.maxEigenvalueDeviation)) (both scored on the held-out set)")
        for (detector, agreement) in [("change points", f.changePointAgreement), ("mechanistic", f.mechanisticAgreement)] {
            lines.append("  against the full-matrix flow, \(detector): " + (agreement.sameStages
                ? "same stages, boundaries within \(fmt(100 * (agreement.maxRelativeBoundaryDifference ?? 0)))%"
                : "different stages"))
        }
        return lines
    }

    /// " (block manifold reached at t = ...)" where the landmark was found.
    func blockManifoldNote(_ b: MechanisticBoundaries) -> String {
        b.blockManifoldReached.map { " (on the block manifold from t = \(fmt($0)))" } ?? ""
    }
}
