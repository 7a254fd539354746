import CotflowCore

/// The validity-map columns of the compare job (notes/sgd-correction.md, notes/sweeps.md): the
/// first correction's deviation and, along the flow, what decides whether SGD can follow it
/// (`FlowCorrection`, `FlowValidity`). Nil where the comparison measured none (Adam, a diverged run).
public struct ValidityMetrics: Codable, Sendable, Equatable {
    /// Training's largest relative loss deviation from the flow of the modified drift.
    public var firstCorrectionDeviation: Double?
    /// The largest noise bound `h tr(Sigma) / (4 B L)` along the flow, and the gradient-noise
    /// scale `tr(Sigma) / |G|^2` where it is.
    public var noiseBound: Double?
    public var noiseScale: Double?
    /// The largest shares of the loss and of the gradient norms carried by the top 1% of prompts.
    public var lossTop1pctShare: Double?
    public var gradientTop1pctShare: Double?
    /// The smallest Hill tail index of the per-prompt gradient norms along the flow, and its standard error.
    public var gradientTailIndex: Double?
    public var gradientTailIndexError: Double?
    /// The verdict: the flow is expected to describe the training here (`FlowValidity.verdict`).
    public var flowExpected: Bool?
    /// Records whose held-out CoT mean overflowed (no mean there; the deviation is then not measured).
    public var heldOutOverflowedRecords: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case firstCorrectionDeviation = "first_correction_deviation", noiseBound = "noise_bound", noiseScale = "noise_scale"
        case lossTop1pctShare = "loss_top1pct_share", gradientTop1pctShare = "gradient_top1pct_share"
        case gradientTailIndex = "gradient_tail_index", gradientTailIndexError = "gradient_tail_index_se"
        case flowExpected = "flow_expected", heldOutOverflowedRecords = "held_out_overflowed_records"
    }

    public init(firstCorrectionDeviation: Double? = nil, noiseBound: Double? = nil, noiseScale: Double? = nil, lossTop1pctShare: Double? = nil,
                gradientTop1pctShare: Double? = nil, gradientTailIndex: Double? = nil, gradientTailIndexError: Double? = nil,
                flowExpected: Bool? = nil, heldOutOverflowedRecords: Int? = nil) {
        self.firstCorrectionDeviation = firstCorrectionDeviation
        self.noiseBound = noiseBound
        self.noiseScale = noiseScale
        self.lossTop1pctShare = lossTop1pctShare
        self.gradientTop1pctShare = gradientTop1pctShare
        self.gradientTailIndex = gradientTailIndex
        self.gradientTailIndexError = gradientTailIndexError
        self.flowExpected = flowExpected
        self.heldOutOverflowedRecords = heldOutOverflowedRecords
    }

    /// The columns of one compared training run.
    init(_ run: TrainingComparison) {
        heldOutOverflowedRecords = run.result.trajectory.records.filter { $0.cotLossOverflowed > 0 }.count
        guard let c = run.correction else { return }
        let v = c.validity
        firstCorrectionDeviation = c.maxRelativeLossDeviation
        noiseBound = v.largestNoiseExcess?.noiseExcess
        noiseScale = v.largestNoiseExcess?.noise.noiseScale
        lossTop1pctShare = v.points.map(\.noise.losses.topPercentShare).max()
        gradientTop1pctShare = v.points.map(\.noise.gradientNorms.topPercentShare).max()
        gradientTailIndex = v.smallestTailIndex?.index.alpha
        gradientTailIndexError = v.smallestTailIndex?.index.standardError
        flowExpected = v.verdict.expected
    }

    /// The compare job's regime (`CompareMetrics.regime`): follows the flow or not; `deviation` is
    /// training's largest relative loss deviation from the flow, nil when none was measured;
    /// `optimizer` in words (`OptimizerKind.prose`).
    func regime(deviation: Double?, tolerance: Double, optimizer: String) -> RunRegime? {
        let correction = firstCorrectionDeviation.map { "; first correction \(compactNumber($0))" } ?? ""
        let verdict = flowExpected.map { "; the flow is \($0 ? "" : "not ")expected to describe \(optimizer) here" } ?? ""
        if let deviation {
            return RunRegime(regime: deviation <= tolerance ? .follows : .doesNotFollow,
                             detail: "max relative loss deviation \(compactNumber(deviation)) from the flow\(correction)\(verdict)")
        }
        if let n = heldOutOverflowedRecords, n > 0 {
            return RunRegime(regime: .doesNotFollow,
                             detail: "no deviation: the held-out CoT loss has no mean (prompts overflowed) at \(n) records, where the flow's loss is finite\(verdict)")
        }
        return nil
    }
}
