import CotflowCore
import CotflowExact
import CotflowModel

/// The first correction to the flow along one training run (MODEL.md section 10,
/// notes/sgd-correction.md): the flow of the optimizer's modified drift on the run's record times,
/// training's deviation from it beside its deviation from the plain flow, and whether SGD is
/// expected to follow the flow there (`FlowValidity`).
public struct FlowCorrection: Sendable {
    /// c of the drift `-G - c H G` (`OptimizerKind.driftCorrection`).
    public let driftCoefficient: Double
    public let modifiedFlow: FlowTrajectory
    public let relativeLossDeviation: [Double]
    /// Over the records where the plain flow's loss is above the comparison's floor.
    public let maxRelativeLossDeviation: Double?
    /// Why `maxRelativeLossDeviation` is nil (a held-out mean overflowed, ...).
    public let deviationMissing: String?
    public let validity: FlowValidity

    /// Prompts the noise diagnostics are measured on at each point.
    public static let diagnosticPrompts = 4096

    /// For `run`, compared with the reduced flow `run.flow` from `start` (of `loss`, integrated with
    /// `options` on the record times); nil without a drift (Adam) or without a reduced flow.
    static func measure(_ run: TrainingComparison, config: ComparisonConfig, start: AssumptionInitialisation,
                        loss: ReducedLoss, options flowOptions: FlowOptions) throws -> FlowCorrection? {
        let training = config.training
        guard let flow = run.flow, let c = training.optimizer.driftCorrection(learningRate: training.learningRate),
              let scale = training.optimizer.timeScale else { return nil }
        var options = flowOptions
        options.driftCorrection = c
        let modified = try ReducedFlow(loss: loss, w24: flow.w24).integrate(v0: start.v, w0: start.w, options: options)
        guard modified.times.count == run.times.count else {
            throw CompareError.flowStopped(full: false, at: modified.finalTime, lastRecord: run.times.last!)
        }
        // Counted over the records the plain flow's deviation counts.
        let deviation = Comparator.relativeLossDeviation(run.losses, from: modified.losses, floorFraction: config.deviationFloor,
                                                        counted: flow.losses, times: run.times)
        let floor = config.deviationFloor * flow.losses[0]
        // What the first correction predicts of training's deviation: the modified flow's from the plain one.
        let shift = Comparator.relativeLossDeviation(modified.losses, from: flow.losses, floorFraction: config.deviationFloor)
        let validity = FlowValidity.measure(flow: flow, basis: start.basis(), task: training.task, trainable: run.trainable,
                                            batchSize: training.batchSize, step: training.learningRate * scale,
                                            optimizer: training.optimizer.prose, driftShift: shift.largest, driftCoefficient: c,
                                            prompts: diagnosticPrompts, seed: config.seed, floor: floor)
        return FlowCorrection(driftCoefficient: c, modifiedFlow: modified, relativeLossDeviation: deviation.each,
                              maxRelativeLossDeviation: deviation.largest, deviationMissing: deviation.missing, validity: validity)
    }

    /// The report's lines for this run.
    public var reportLines: [String] {
        let verdict = validity.verdict
        var lines = ["  first correction (flow of the modified drift -G - c H G, c = \(fmt(driftCoefficient))): max relative loss deviation "
                     + (maxRelativeLossDeviation.map { fmt($0) + " from it" } ?? "none (\(deviationMissing ?? "not measured"))"),
                     "  the flow is \(verdict.expected ? "expected" : "NOT expected") to describe \(validity.optimizer) here: \(verdict.reason)"]
        for p in validity.points {
            let tail = p.noise.gradientNorms.tailIndex.map { "\(fmt($0.alpha)) ± \(fmt($0.standardError))" } ?? "n/a"
            lines.append("    t = \(fmt(p.time)): flow loss \(fmt(p.flowLoss)), noise scale tr(Sigma)/|G|^2 = \(fmt(p.noise.noiseScale)), "
                + "noise bound \(fmt(p.noiseExcess)), top 1% carry \(fmt(p.noise.losses.topPercentShare)) of the loss and "
                + "\(fmt(p.noise.gradientNorms.topPercentShare)) of the gradient norms, Hill index \(tail)")
        }
        return lines
    }
}

/// What summary.json records of a run's first correction.
public struct FlowCorrectionMetrics: Codable, Sendable {
    /// One point of the flow's diagnostics (`FlowValidity.Point`).
    public struct Point: Codable, Sendable {
        public var t, flowLoss, noiseScale, noiseBound, lossTop1Share, gradientTop1Share: Double
        public var gradientTailIndex, gradientTailIndexError: Double?
        enum CodingKeys: String, CodingKey {
            case t, flowLoss = "flow_loss", noiseScale = "noise_scale", noiseBound = "noise_bound", lossTop1Share = "loss_top1_share"
            case gradientTop1Share = "gradient_top1_share", gradientTailIndex = "gradient_tail_index", gradientTailIndexError = "gradient_tail_index_se"
        }
    }
    public var driftCoefficient: Double
    public var maxRelLossDeviationModifiedFlow: Double?
    /// Why `maxRelLossDeviationModifiedFlow` is null, when it is.
    public var maxRelLossDeviationModifiedFlowMissing: String?
    public var flowExpected: Bool
    public var verdict: String
    public var prompts: Int
    public var points: [Point]

    enum CodingKeys: String, CodingKey {
        case driftCoefficient = "drift_coefficient", maxRelLossDeviationModifiedFlow = "max_rel_loss_deviation_modified_flow"
        case maxRelLossDeviationModifiedFlowMissing = "max_rel_loss_deviation_modified_flow_missing"
        case flowExpected = "flow_expected", verdict, prompts, points
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(driftCoefficient, forKey: .driftCoefficient)
        // A deviation that could not be measured is null with its reason.
        if let x = maxRelLossDeviationModifiedFlow { try c.encode(x, forKey: .maxRelLossDeviationModifiedFlow) } else { try c.encodeNil(forKey: .maxRelLossDeviationModifiedFlow) }
        try c.encodeIfPresent(maxRelLossDeviationModifiedFlowMissing, forKey: .maxRelLossDeviationModifiedFlowMissing)
        try c.encode(flowExpected, forKey: .flowExpected); try c.encode(verdict, forKey: .verdict)
        try c.encode(prompts, forKey: .prompts); try c.encode(points, forKey: .points)
    }

    init(_ c: FlowCorrection) {
        driftCoefficient = c.driftCoefficient
        maxRelLossDeviationModifiedFlow = c.maxRelativeLossDeviation
        maxRelLossDeviationModifiedFlowMissing = c.deviationMissing
        (flowExpected, verdict) = c.validity.verdict
        prompts = FlowCorrection.diagnosticPrompts
        points = c.validity.points.map {
            Point(t: $0.time, flowLoss: $0.flowLoss, noiseScale: $0.noise.noiseScale, noiseBound: $0.noiseExcess,
                  lossTop1Share: $0.noise.losses.topPercentShare, gradientTop1Share: $0.noise.gradientNorms.topPercentShare,
                  gradientTailIndex: $0.noise.gradientNorms.tailIndex?.alpha, gradientTailIndexError: $0.noise.gradientNorms.tailIndex?.standardError)
        }
    }
}
