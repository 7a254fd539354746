import CotflowModel
import CotflowCore

/// What summary.json records of a comparison, besides the run: the main settings again (for readers
/// of the file), the status, and either the findings (completed) or the runs so far (stopped).
public struct ComparisonMetrics: Codable, Sendable {
    public var task: TaskRecord
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var batchSize, steps, heldOut: Int
    /// How steps map to flow time (`OptimizerKind.timeMapFormula`), or why there is no map.
    public var timeMap: String
    public var deviationFloor: Double
    public var status: RunStatus
    /// A completed comparison's findings.
    public var findings: Findings?
    /// A comparison whose training stopped: the set whose run stopped, and each run's status and final loss.
    public var stoppedRun: TrainableSet?
    public var stoppedRuns: [StoppedRun]?

    /// The findings of a completed comparison.
    public struct Findings: Codable, Sendable {
        public var `init`: InitialisationKind
        public var initScale: Double
        /// The reduced flow's loss at t = 0 and at the end (nil from a random start: no reduced flow).
        public var odeInitialLoss, odeFinalLoss: Double?
        public var runs: [Run]
        /// The full-matrix flow (`--full-flow`): losses, deviations and stages.
        public var fullFlow: JSONValue?
        /// The flow with W24 free, when it ran.
        public var odeFreeInitialLoss, odeFreeFinalLoss: Double?
        /// Stage tables of the flows and of each run.
        public var stageBoundaries: JSONValue
        /// The first run's largest relative loss deviation.
        public var maxRelLossDeviation: Double?

        private enum CodingKeys: String, CodingKey {
            case `init`, initScale = "init_scale", odeInitialLoss = "ode_initial_loss", odeFinalLoss = "ode_final_loss", runs
            case fullFlow = "full_flow", odeFreeInitialLoss = "ode_free_initial_loss", odeFreeFinalLoss = "ode_free_final_loss"
            case stageBoundaries = "stage_boundaries", maxRelLossDeviation = "max_rel_loss_deviation"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(`init`, forKey: .`init`); try c.encode(initScale, forKey: .initScale)
            try c.encodeIfPresent(odeInitialLoss, forKey: .odeInitialLoss); try c.encodeIfPresent(odeFinalLoss, forKey: .odeFinalLoss)
            try encodeRuns(runs, to: encoder, key: CodingKeys.runs)
            try c.encodeIfPresent(fullFlow, forKey: .fullFlow)
            // Only when the flow with W24 free ran.
            if let x = odeFreeInitialLoss { try c.encode(x, forKey: .odeFreeInitialLoss) }
            if let x = odeFreeFinalLoss { try c.encode(x, forKey: .odeFreeFinalLoss) }
            try c.encode(stageBoundaries, forKey: .stageBoundaries)
            try c.encodeIfPresent(maxRelLossDeviation, forKey: .maxRelLossDeviation)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            `init` = try c.decode(InitialisationKind.self, forKey: .`init`)
            initScale = try c.decode(Double.self, forKey: .initScale)
            (odeInitialLoss, odeFinalLoss) = (try c.decodeIfPresent(Double.self, forKey: .odeInitialLoss), try c.decodeIfPresent(Double.self, forKey: .odeFinalLoss))
            runs = try decodeRuns(from: decoder, key: CodingKeys.runs)
            fullFlow = try c.decodeIfPresent(JSONValue.self, forKey: .fullFlow)
            odeFreeInitialLoss = try c.decodeIfPresent(Double.self, forKey: .odeFreeInitialLoss)
            odeFreeFinalLoss = try c.decodeIfPresent(Double.self, forKey: .odeFreeFinalLoss)
            stageBoundaries = try c.decode(JSONValue.self, forKey: .stageBoundaries)
            maxRelLossDeviation = try c.decodeIfPresent(Double.self, forKey: .maxRelLossDeviation)
        }

        init(_ c: Comparison) {
            let training = c.config.training
            (`init`, initScale) = (training.initialisation, training.initScale)
            odeInitialLoss = c.flow.map { $0.losses.first ?? .nan }
            odeFinalLoss = c.flow.map(\.finalLoss)
            runs = c.runs.map(Run.init)
            fullFlow = c.fullFlow.map(\.json)
            odeFreeInitialLoss = c.freeFlow.map { $0.losses.first ?? .nan }
            odeFreeFinalLoss = c.freeFlow.map(\.finalLoss)
            stageBoundaries = .object((c.flowStages.map { [("ode", $0.json)] } ?? []) + (c.freeFlowStages.map { [("ode_free", $0.json)] } ?? [])
                + (c.fullFlow.map { [("full_flow", $0.stages.json)] } ?? []) + c.runs.map { ($0.trainable.rawValue, $0.stages.json) })
            maxRelLossDeviation = c.runs.first?.maxRelativeLossDeviation
        }
    }

    /// One training run against its flow.
    public struct Run: Codable, Sendable {
        public var trainable: TrainableSet
        /// The flow it was compared with (`w24_fixed` or `w24_free`; nil from a random start).
        public var flow: String?
        public var maxRelLossDeviation, maxEigenvalueDeviation: Double?
        /// Why `maxRelLossDeviation` is null with a flow to compare with (a held-out mean overflowed, ...).
        public var maxRelLossDeviationMissing: String?
        public var finalLoss, maxOffBlockNorm, maxOffdiagNorm, maxCommutatorNorm: Double
        public var stageAgreementChangePoints, stageAgreementMechanistic: StageAgreement?
        /// Against the full-matrix flow (`--full-flow`).
        public var fullFlow: JSONValue?
        public var finalW24: Double
        public var flowFinalW24: Double?
        /// ||W||^2 - ||V||^2 at the start and its drift: conserved by the flow only when W24 is trained too (full).
        public var conservedQuantityInitial, conservedQuantityDrift: Double?
        /// The modified drift's flow and whether SGD is expected to follow the flow (`FlowCorrection`).
        public var firstCorrection: FlowCorrectionMetrics?

        enum CodingKeys: String, CodingKey {
            case flow, maxRelLossDeviation = "max_rel_loss_deviation", maxEigenvalueDeviation = "max_eigenvalue_deviation"
            case maxRelLossDeviationMissing = "max_rel_loss_deviation_missing"
            case finalLoss = "final_loss", maxOffBlockNorm = "max_off_block_norm", maxOffdiagNorm = "max_offdiag_norm"
            case maxCommutatorNorm = "max_commutator_norm", stageAgreementChangePoints = "stage_agreement_change_points"
            case stageAgreementMechanistic = "stage_agreement_mechanistic", fullFlow = "full_flow", finalW24 = "final_w24"
            case flowFinalW24 = "flow_final_w24", conservedQuantityInitial = "conserved_quantity_initial"
            case conservedQuantityDrift = "conserved_quantity_drift", firstCorrection = "first_correction"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(flow, forKey: .flow)
            // A deviation that could not be measured is null with its reason.
            if maxRelLossDeviation == nil, let why = maxRelLossDeviationMissing {
                try c.encodeNil(forKey: .maxRelLossDeviation)
                try c.encode(why, forKey: .maxRelLossDeviationMissing)
            } else {
                try c.encodeIfPresent(maxRelLossDeviation, forKey: .maxRelLossDeviation)
            }
            try c.encodeIfPresent(maxEigenvalueDeviation, forKey: .maxEigenvalueDeviation)
            try c.encode(finalLoss, forKey: .finalLoss); try c.encode(maxOffBlockNorm, forKey: .maxOffBlockNorm)
            try c.encode(maxOffdiagNorm, forKey: .maxOffdiagNorm); try c.encode(maxCommutatorNorm, forKey: .maxCommutatorNorm)
            try c.encodeIfPresent(stageAgreementChangePoints, forKey: .stageAgreementChangePoints)
            try c.encodeIfPresent(stageAgreementMechanistic, forKey: .stageAgreementMechanistic)
            try c.encodeIfPresent(fullFlow, forKey: .fullFlow)
            try c.encode(finalW24, forKey: .finalW24); try c.encodeIfPresent(flowFinalW24, forKey: .flowFinalW24)
            try c.encodeIfPresent(conservedQuantityInitial, forKey: .conservedQuantityInitial)
            try c.encodeIfPresent(conservedQuantityDrift, forKey: .conservedQuantityDrift)
            try c.encodeIfPresent(firstCorrection, forKey: .firstCorrection)
        }

        /// Decodes the fields; `trainable` is the run's key in `runs` (set by the caller).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func number(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
            trainable = .reduced
            flow = try c.decodeIfPresent(String.self, forKey: .flow)
            (maxRelLossDeviation, maxEigenvalueDeviation) = (try number(.maxRelLossDeviation), try number(.maxEigenvalueDeviation))
            maxRelLossDeviationMissing = try c.decodeIfPresent(String.self, forKey: .maxRelLossDeviationMissing)
            finalLoss = try c.decode(Double.self, forKey: .finalLoss)
            maxOffBlockNorm = try c.decode(Double.self, forKey: .maxOffBlockNorm)
            maxOffdiagNorm = try c.decode(Double.self, forKey: .maxOffdiagNorm)
            maxCommutatorNorm = try c.decode(Double.self, forKey: .maxCommutatorNorm)
            stageAgreementChangePoints = try c.decodeIfPresent(StageAgreement.self, forKey: .stageAgreementChangePoints)
            stageAgreementMechanistic = try c.decodeIfPresent(StageAgreement.self, forKey: .stageAgreementMechanistic)
            fullFlow = try c.decodeIfPresent(JSONValue.self, forKey: .fullFlow)
            (finalW24, flowFinalW24) = (try c.decode(Double.self, forKey: .finalW24), try number(.flowFinalW24))
            (conservedQuantityInitial, conservedQuantityDrift) = (try number(.conservedQuantityInitial), try number(.conservedQuantityDrift))
            firstCorrection = try c.decodeIfPresent(FlowCorrectionMetrics.self, forKey: .firstCorrection)
        }

        init(_ run: TrainingComparison) {
            trainable = run.trainable
            flow = run.flow.map { $0.w24.isFree ? "w24_free" : "w24_fixed" }
            (maxRelLossDeviation, maxEigenvalueDeviation) = (run.maxRelativeLossDeviation, run.maxEigenvalueDeviation)
            maxRelLossDeviationMissing = run.lossDeviationMissing
            finalLoss = run.losses.last ?? .nan
            (maxOffBlockNorm, maxOffdiagNorm) = (run.offBlockNorm.max() ?? .nan, run.offDiagonalNorm.max() ?? .nan)
            maxCommutatorNorm = run.commutatorNorm.max() ?? .nan
            (stageAgreementChangePoints, stageAgreementMechanistic) = (run.changePointAgreement, run.mechanisticAgreement)
            fullFlow = run.fullFlow.map(\.json)
            (finalW24, flowFinalW24) = (run.w24.last ?? .nan, run.flow.map { $0.u.last ?? .nan })
            conservedQuantityInitial = run.trainable == .full ? run.conservedQuantity.first ?? .nan : nil
            conservedQuantityDrift = run.trainable == .full ? run.conservedDrift : nil
            firstCorrection = run.correction.map(FlowCorrectionMetrics.init)
        }
    }

    /// A training run of a comparison that stopped: its status and final held-out CoT loss.
    public struct StoppedRun: Codable, Sendable {
        public var trainable: TrainableSet
        public var status: RunStatus
        /// Null for a diverged run (it has no final values).
        public var finalLoss: Double?

        private enum CodingKeys: String, CodingKey { case finalLoss = "final_loss" }

        public func encode(to encoder: Encoder) throws {
            try status.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(finalLoss, forKey: .finalLoss)
        }

        public init(from decoder: Decoder) throws {
            trainable = .reduced
            status = try RunStatus(from: decoder)
            finalLoss = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Double.self, forKey: .finalLoss)
        }

        init(_ trainable: TrainableSet, _ result: TrainingResult) {
            (self.trainable, status, finalLoss) = (trainable, result.status.runStatus, result.heldOutCoT?.mean)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case optimizer, momentum, learningRate = "learning_rate", batchSize = "batch_size"
        case steps, heldOut = "held_out", timeMap = "time_map", deviationFloor = "deviation_floor", stoppedRun = "stopped_run", runs
    }

    init(run: ComparisonRun, comparison: Comparison) {
        self.init(run.config, status: .completed)
        findings = Findings(comparison)
    }

    init(run: ComparisonRun, stopped: ComparisonStopped) {
        self.init(run.config, status: stopped.runs.last.map { $0.1.status.runStatus } ?? .completed)
        stoppedRun = stopped.runs.last?.0
        stoppedRuns = stopped.runs.map(StoppedRun.init)
    }

    private init(_ c: ComparisonConfig, status: RunStatus) {
        let t = c.training
        task = TaskRecord(c)
        (optimizer, learningRate, batchSize, steps, heldOut) = (t.optimizer, t.learningRate, t.batchSize, t.steps, t.heldOutSize)
        timeMap = t.optimizer.timeMapFormula ?? "none (\(t.optimizer.name)): shapes only"
        deviationFloor = c.deviationFloor
        self.status = status
    }

    public func encode(to encoder: Encoder) throws {
        try task.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try optimizer.encodeFlat(to: &c, name: .optimizer, momentum: .momentum)
        try c.encode(learningRate, forKey: .learningRate); try c.encode(batchSize, forKey: .batchSize)
        try c.encode(steps, forKey: .steps); try c.encode(heldOut, forKey: .heldOut)
        try c.encode(timeMap, forKey: .timeMap); try c.encode(deviationFloor, forKey: .deviationFloor)
        try status.encode(to: encoder)
        if let findings { try findings.encode(to: encoder) }
        if let stoppedRun, let stoppedRuns {
            try c.encode(stoppedRun, forKey: .stoppedRun)
            try encodeRuns(stoppedRuns, to: encoder, key: CodingKeys.runs)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        task = try TaskRecord(from: decoder)
        optimizer = try OptimizerKind(flat: c, name: .optimizer, momentum: .momentum)
        (learningRate, batchSize) = (try c.decode(Double.self, forKey: .learningRate), try c.decode(Int.self, forKey: .batchSize))
        (steps, heldOut) = (try c.decode(Int.self, forKey: .steps), try c.decode(Int.self, forKey: .heldOut))
        (timeMap, deviationFloor) = (try c.decode(String.self, forKey: .timeMap), try c.decode(Double.self, forKey: .deviationFloor))
        status = try RunStatus(from: decoder)
        if let stopped = try c.decodeIfPresent(TrainableSet.self, forKey: .stoppedRun) {
            stoppedRun = stopped
            stoppedRuns = try decodeRuns(from: decoder, key: CodingKeys.runs)
        } else {
            findings = try Findings(from: decoder)
        }
    }
}

/// The runs of a comparison are an object keyed by trainable set, in run order.
private protocol KeyedRun: Codable { var trainable: TrainableSet { get set } }
extension ComparisonMetrics.Run: KeyedRun {}
extension ComparisonMetrics.StoppedRun: KeyedRun {}

private func encodeRuns<R: KeyedRun, K: CodingKey>(_ runs: [R], to encoder: Encoder, key: K) throws {
    var outer = encoder.container(keyedBy: K.self)
    var c = outer.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
    for run in runs { try c.encode(run, forKey: AnyCodingKey(run.trainable.rawValue)) }
}

private func decodeRuns<R: KeyedRun, K: CodingKey>(from decoder: Decoder, key: K) throws -> [R] {
    let c = try decoder.container(keyedBy: K.self).nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
    return try c.allKeys.map { name in
        guard let set = TrainableSet(rawValue: name.stringValue) else {
            throw DecodingError.dataCorruptedError(forKey: name, in: c, debugDescription: "unknown trainable set '\(name.stringValue)'")
        }
        var run = try c.decode(R.self, forKey: name)
        run.trainable = set
        return run
    }
}
