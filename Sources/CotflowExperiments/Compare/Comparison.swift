import CotflowExact
import CotflowModel
import CotflowCore
import CotflowStages
import Foundation

/// One configuration and one seed: the reduced flow and full-matrix training from the same
/// Assumption 4.1 point. Reduced training (W24 fixed at -1) is compared with the paper's flow,
/// full training (which also trains W24) with the flow with W24 free (MODEL.md section 8).
public struct ComparisonConfig: Sendable, Codable, TaskRun {
    /// Training of every run: task, start (`assumption`, the reduced flow's point, or `random`: full
    /// parameters and the full-matrix flow only), optimizer, learning rate, batch, steps, records,
    /// held-out set, seed. Its objective is cot; its trainable set is replaced by each of `trainable`.
    public var training: TrainingConfig
    /// The step size, exact (the flow's loss polynomial); `training.task.eta` is its double.
    public var eta: Rational
    /// The trainable sets to run (`reduced`, `full` or both).
    public var trainable: [TrainableSet]
    public var flow: FlowOptions
    /// The loss threshold, relative to the initial loss, above which deviations are measured.
    public var deviationFloor: Double
    /// Prompts of the full-matrix flow added as a third curve (nil: no full-matrix flow).
    public var fullFlowPrompts: Int? = nil

    public var d: Int { training.task.d }
    public var n: Int { training.task.n }
    public var k: Int { training.task.k }
    public var seed: UInt64 { training.seed }

    /// Defaults that follow the flow: SGD (the only optimizer with a time map, t = lr x step),
    /// learning rate 0.002 and batch 512, 2500 steps (t = 5), records every 50 steps, 100000
    /// held-out prompts (at 20000 the held-out loss alone is 2% off the population loss), initial
    /// scale 0.05.
    /// See notes/compare.md for how these were chosen.
    public static func defaults(d: Int, n: Int, k: Int, eta: Rational, seed: UInt64) throws -> ComparisonConfig {
        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        let training = TrainingConfig(
            task: task, objective: .cot, trainable: .reduced, initialisation: .assumption, initScale: TrainingConfig.defaultInitScale,
            optimizer: .sgd, learningRate: sgdLearningRate, batchSize: 512, steps: 2500, recordEvery: 50, heldOutSize: 100_000, seed: seed)
        var flow = FlowOptions()
        flow.stopRelativeLoss = 0
        return ComparisonConfig(training: training, eta: eta, trainable: [.reduced], flow: flow, deviationFloor: 1e-3)
    }

    /// Throws the first setting a comparison refuses (`CompareError`).
    public func validate() throws {
        guard !trainable.isEmpty else { throw CompareError.noTrainableSet }
        guard training.objective == .cot else { throw CompareError.objectiveNotCoT(training.objective) }
        guard training.task.eta == eta.doubleValue else { throw CompareError.stepSize(training: training.task.eta, eta: "\(eta)") }
        guard training.steps >= 1 else { throw CompareError.noTrainingSteps }
        guard training.recordEvery >= 1, training.steps / training.recordEvery >= 4 else { throw CompareError.tooFewRecords(steps: training.steps) }
        if let prompts = fullFlowPrompts {
            guard prompts >= 1 else { throw CompareError.fullFlowPrompts(prompts) }
            guard hasTimeMap else { throw CompareError.fullFlowNeedsTimeMap(training.optimizer) }
            guard !flow.ode.stepper.requiresJacobian else {
                throw FullFlowConfigurationError.implicitStepper(flow.ode.stepper, dimension: 2 * (2 * d + 2) * (2 * d + 2))
            }
        }
        if training.initialisation == .random {
            guard trainable == [.full] else { throw CompareError.randomStartNotFull }
            guard fullFlowPrompts != nil else { throw CompareError.randomStartNeedsFullFlow }
        }
    }

    /// True when training steps map to flow time (through the optimizer's time map).
    public var hasTimeMap: Bool { training.optimizer.hasTimeMap }

    /// The default learning rate of SGD (t = 5 at the default 2500 steps).
    static let sgdLearningRate = 0.002
}

/// One training run set against the flow.
public struct TrainingComparison: Sendable {
    public let trainable: TrainableSet
    public let result: TrainingResult
    /// Record times (the optimizer's time map, e.g. t = lr x step for SGD) and the held-out CoT loss (mean) at each.
    public let times: [Double]
    public let losses: [Double]
    /// The flow this run is compared with (W24 fixed for reduced training, free for full); nil
    /// from a random start.
    public let flow: FlowTrajectory?
    /// ||W||_F^2 - ||V||_F^2 of the trained parameters at each record: conserved by gradient flow,
    /// it drifts under SGD.
    public let conservedQuantity: [Double]
    /// max over records of |conservedQuantity - its initial value|.
    public var conservedDrift: Double {
        guard let first = conservedQuantity.first else { return .nan }
        return conservedQuantity.map { abs($0 - first) }.max() ?? .nan
    }
    /// W24 of the trained parameters at each record.
    public let w24: [Double]
    /// |train - flow| / flow at each record (nil without a time map).
    public let relativeLossDeviation: [Double]?
    /// max_j max(|v_diag_j - v_j|, |w_diag_j - w_j|) at each record (nil without a time map).
    public let eigenvalueDeviation: [Double]?
    /// Diagonals of V31 and W13 in the initial eigenbasis, per record.
    public let v: [[Double]]
    public let w: [[Double]]
    /// Distance from the invariant manifold, per record.
    public let offBlockNorm: [Double]
    public let offDiagonalNorm: [Double]
    public let commutatorNorm: [Double]
    /// The largest relative loss deviation over the records where the flow's loss is above
    /// `deviationFloor` times its initial value (nil without a time map).
    public let maxRelativeLossDeviation: Double?
    /// Why `maxRelativeLossDeviation` is nil with a time map and a flow (a held-out mean overflowed, ...).
    public let lossDeviationMissing: String?
    public let maxEigenvalueDeviation: Double?
    /// Stages of the training curve (held-out loss, diagonals in the initial eigenbasis).
    public let stages: StageAnalysis
    /// Agreement of the training stages with the flow's, per detector (with a time map).
    public let changePointAgreement: StageAgreement?
    public let mechanisticAgreement: StageAgreement?
    /// This run against the full-matrix flow (with `fullFlowPrompts`).
    public internal(set) var fullFlow: FullFlowDeviation? = nil
    /// The flow of the optimizer's modified drift and the noise diagnostics along the flow
    /// (an Assumption 4.1 start with a time map).
    public internal(set) var correction: FlowCorrection? = nil
}

/// The reduced flow and the training runs from one initial point, with their deviations and stage
/// tables (`Comparator.run`).
public struct Comparison: Sendable {
    public let config: ComparisonConfig
    /// The paper's flow (W24 fixed at -1), on the training record times when there is a time map,
    /// else on its own grid; nil from a random start.
    public let flow: FlowTrajectory?
    public let flowStages: StageAnalysis?
    /// The flow with W24 free, when full training from the Assumption 4.1 point is compared
    /// (same times as `flow`).
    public let freeFlow: FlowTrajectory?
    public let freeFlowStages: StageAnalysis?
    /// The full-matrix flow on the record times (with `fullFlowPrompts`).
    public let fullFlow: FullFlowCurve?
    public let runs: [TrainingComparison]

    /// One row per record time, every series a column (only with a time map).
    public var table: CSVTable? {
        guard config.hasTimeMap, let first = runs.first else { return nil }
        let d = config.d
        var header = ["t"]
        if flow != nil { header += ["ode_loss"] + (1...d).map { "ode_v_\($0)" } + (1...d).map { "ode_w_\($0)" } }
        if freeFlow != nil {
            header += ["ode_free_loss"] + (1...d).map { "ode_free_v_\($0)" } + (1...d).map { "ode_free_w_\($0)" }
                + ["ode_free_w24", "ode_free_conserved"]
        }
        if fullFlow != nil {
            header += ["full_flow_loss", "full_flow_prompt_loss", "full_flow_data_off_block_norm"]
                + (flow != nil ? ["full_flow_reduction_dev"] : []) + (1...d).map { "full_flow_v_\($0)" } + (1...d).map { "full_flow_w_\($0)" }
        }
        for run in runs {
            let p = run.trainable.rawValue + "_"
            header += ["loss"].map { p + $0 }
            if run.flow != nil { header += ["rel_loss_dev", "eigen_dev"].map { p + $0 } }
            if fullFlow != nil { header += ["full_flow_rel_loss_dev", "full_flow_eigen_dev"].map { p + $0 } }
            header += ["off_block_norm", "offdiag_norm", "commutator_norm", "w24", "w2_minus_v2"].map { p + $0 }
            header += (1...d).map { "\(p)v_\($0)" } + (1...d).map { "\(p)w_\($0)" }
        }
        var table = CSVTable(header: header)
        for i in first.times.indices {
            var row = [first.times[i]]
            if let flow { row += [flow.losses[i]] + flow.v[i] + flow.w[i] }
            if let free = freeFlow {
                row += [free.losses[i]] + free.v[i] + free.w[i] + [free.u[i], free.conservedQuantity(at: i)]
            }
            if let f = fullFlow {
                row += [f.heldOutLosses[i], f.trajectory.losses[i], f.manifoldDistance[i]] + (f.reductionDeviation.map { [$0[i]] } ?? [])
                row += f.v[i] + f.w[i]
            }
            for run in runs {
                row += [run.losses[i]]
                if run.flow != nil { row += [run.relativeLossDeviation![i], run.eigenvalueDeviation![i]] }
                if let f = run.fullFlow { row += [f.relativeLossDeviation[i], f.eigenvalueDeviation[i]] }
                row += [run.offBlockNorm[i], run.offDiagonalNorm[i], run.commutatorNorm[i], run.w24[i], run.conservedQuantity[i]]
                row += run.v[i] + run.w[i]
            }
            table.append(row)
        }
        return table
    }
}

/// A comparison whose training diverged or was interrupted: the training runs so far (the last
/// one stopped early, see its `status`), for the caller to write.
public struct ComparisonStopped: Error, CustomStringConvertible, Sendable {
    public let runs: [(TrainableSet, TrainingResult)]
    /// The phase after training that was stopped (`the reduced flow`, `the full-matrix flow`), if any.
    public var phase: String? = nil
    public var description: String {
        if let phase, let signal = Interruption.signalNumber.map({ _ in Interruption.signalName }) {
            return "compare: interrupted by \(signal) during \(phase) (the training runs had finished)"
        }
        return "compare: \(runs.last.map { "\($0.0.rawValue) training \($0.1.status)" } ?? "stopped")"
    }
}

/// Relative loss deviations of training from a flow, per record, and the largest over the records
/// compared, or why there is none.
struct LossDeviation {
    let each: [Double]
    let largest: Double?
    let missing: String?
}

/// Runs a comparison: the flow, then each training run from the same point.
public enum Comparator {
    /// Runs the flow and each training run. `progress(run, step, total)` reports training progress;
    /// `phase(name, fraction)` each later phase as it starts (fraction 0) and the full-matrix
    /// flow's progress, named as the phases of `ComparisonConfig.workEstimate`.
    public static func run(_ config: ComparisonConfig,
                           progress: ((TrainableSet, Int, Int) -> Void)? = nil, phase: ((String, Double) -> Void)? = nil) throws -> Comparison {
        try config.validate()
        let training = config.training
        let start = AssumptionInitialisation(d: config.d, seed: config.seed, vRange: training.vRange, wRange: training.wRange)

        var results: [(TrainableSet, TrainingResult)] = []
        var trainingConfigs: [TrainingConfig] = []
        for trainable in config.trainable {
            var run = training
            run.trainable = trainable
            let result = try Trainer(config: run).run { done, total in progress?(trainable, done, total) }
            results.append((trainable, result))
            trainingConfigs.append(run)
            if result.status != .completed { throw ComparisonStopped(runs: results) }
        }

        var flow: FlowTrajectory? = nil, flowStages: StageAnalysis? = nil
        var freeFlow: FlowTrajectory? = nil, freeFlowStages: StageAnalysis? = nil
        let eta = config.eta.doubleValue
        // The reduced loss and the flows' options, kept for the first correction.
        var reduced: (loss: ReducedLoss, options: FlowOptions)? = nil
        if training.initialisation == .assumption {
            phase?("exact reduced loss", 0)
            let loss = try ReducedLoss.shared(n: config.n, d: config.d, k: config.k, eta: config.eta)
            var flowOptions = config.flow
            let recordTimes = results[0].1.trajectory.times
            if config.hasTimeMap {
                // The flow on exactly the training record times.
                flowOptions.ode.endTime = recordTimes.last!
                flowOptions.ode.grid = .times(Array(recordTimes.dropFirst().dropLast()))
                flowOptions.stopRelativeLoss = 0
            } else if flowOptions.stopRelativeLoss == 0 {
                // No record times to reach: stop at the flow's usual converged loss, not at t_end,
                // where ln(loss) near 1e-22 is round-off whose wiggles the detectors would name.
                flowOptions.stopRelativeLoss = FlowOptions().stopRelativeLoss
            }
            func integrate(_ w24: W24Mode) throws -> (FlowTrajectory, StageAnalysis) {
                let reduced = try ReducedFlow(loss: loss, w24: w24).integrate(v0: start.v, w0: start.w, options: flowOptions)
                if config.hasTimeMap && reduced.times.count != recordTimes.count {
                    throw CompareError.flowStopped(full: false, at: reduced.finalTime, lastRecord: recordTimes.last!)
                }
                return (reduced, try StageAnalysis(times: reduced.times, losses: reduced.losses, v: reduced.v, w: reduced.w, eta: eta))
            }
            reduced = (loss, flowOptions)
            phase?("reduced flow", 0)
            (flow, flowStages) = try stoppable("the reduced flow", results) { try integrate(.paper) }
            // Full training and the full-matrix flow also train W24: their reduced flow is the one
            // with W24 free.
            if config.trainable.contains(.full) || config.fullFlowPrompts != nil {
                (freeFlow, freeFlowStages) = try stoppable("the reduced flow with W24 free", results) { try integrate(.free(initial: -1)) }
            }
        }
        // The full-matrix flow from training's initial point (the same for every trainable set).
        let full = try config.fullFlowPrompts.map { prompts in
            try stoppable("the full-matrix flow", results) {
                phase?("full-matrix flow", 0)
                return try fullFlow(config, prompts: prompts, training: trainingConfigs[0], result: results[0].1, reduced: freeFlow ?? flow,
                                    progress: { phase?("full-matrix flow", $0) })
            }
        }
        var runs = try results.map { trainable, result in
            let isFull = trainable == .full
            var run = try compare(trainable: trainable, result: result, flow: isFull ? freeFlow : flow,
                                  flowStages: isFull ? freeFlowStages : flowStages, config: config)
            if let full {
                run.fullFlow = deviation(losses: run.losses, v: run.v, w: run.w, stages: run.stages, from: full, floorFraction: config.deviationFloor)
            }
            return run
        }
        if let reduced {
            phase?("first correction", 0)
            for i in runs.indices {
                runs[i].correction = try stoppable("the first correction", results) {
                    try FlowCorrection.measure(runs[i], config: config, start: start, loss: reduced.loss, options: reduced.options)
                }
            }
        }
        return Comparison(config: config, flow: flow, flowStages: flowStages, freeFlow: freeFlow, freeFlowStages: freeFlowStages,
                          fullFlow: full, runs: runs)
    }

    /// Relative deviations `|x - r| / r` of `losses` from `reference`, and the largest of them over
    /// the records where `counted` (the reference by default) is above `floorFraction` x its start.
    /// A counted record without a finite training loss (the held-out mean overflowed) leaves no
    /// largest deviation, with the reason (`times` names where).
    static func relativeLossDeviation(_ losses: [Double], from reference: [Double], floorFraction: Double,
                                      counted: [Double]? = nil, times: [Double]? = nil) -> LossDeviation {
        let each = zip(losses, reference).map { abs($0 - $1) / $1 }
        let counted = counted ?? reference, floor = floorFraction * counted[0]
        let kept = each.indices.filter { $0 < counted.count && counted[$0] > floor }
        func at(_ i: Int) -> String { times.map { "t = \(fmt($0[i]))" } ?? "record \(i)" }
        if let first = kept.first(where: { !losses[$0].isFinite }) {
            let count = kept.filter { !losses[$0].isFinite }.count
            return LossDeviation(each: each, largest: nil, missing: "the held-out CoT loss has no mean (prompts overflowed) at \(count) of the \(kept.count) records compared, first at \(at(first))")
        }
        if let first = kept.first(where: { !reference[$0].isFinite }) {
            return LossDeviation(each: each, largest: nil, missing: "the flow's loss is not finite at \(at(first))")
        }
        guard !kept.isEmpty else {
            return LossDeviation(each: each, largest: nil, missing: "no record where the flow's loss is above \(fmt(floorFraction)) x its start")
        }
        return LossDeviation(each: each, largest: kept.map { each[$0] }.max(), missing: nil)
    }

    /// Runs a phase after training (a flow polls the stop request at every step): a stop request
    /// during it ends the comparison as `ComparisonStopped`, with the finished training runs.
    private static func stoppable<T>(_ phase: String, _ results: [(TrainableSet, TrainingResult)], _ body: () throws -> T) throws -> T {
        func stopIfRequested() throws {
            guard Interruption.requested, let last = results.last else { return }
            let marked = last.1.markedInterrupted(signal: Interruption.signalName)
            throw ComparisonStopped(runs: results.dropLast() + [(last.0, marked)], phase: phase)
        }
        let value: T
        do { value = try body() } catch {
            try stopIfRequested()
            throw error
        }
        try stopIfRequested()
        return value
    }

    private static func compare(trainable: TrainableSet, result: TrainingResult, flow: FlowTrajectory?,
                                flowStages: StageAnalysis?, config: ComparisonConfig) throws -> TrainingComparison {
        let t = result.trajectory, d = config.d, columns = t.parameters
        let times = t.times, losses = t.cotLossMeans
        let v = t.vDiagonals, w = t.wDiagonals
        var relative: [Double]? = nil, eigen: [Double]? = nil
        var maxRelative: Double? = nil, maxEigen: Double? = nil, missing: String? = nil
        if config.hasTimeMap, let flow {
            let loss = relativeLossDeviation(losses, from: flow.losses, floorFraction: config.deviationFloor, times: times)
            (relative, maxRelative, missing) = (loss.each, loss.largest, loss.missing)
            eigen = times.indices.map { i in
                (0..<d).map { max(abs(v[i][$0] - flow.v[i][$0]), abs(w[i][$0] - flow.w[i][$0])) }.max() ?? 0
            }
            maxEigen = eigen!.max()
        }
        let stages = try StageAnalysis(times: times, losses: losses, v: v, w: w, eta: config.eta.doubleValue,
                                       manifoldDistance: columns.map(\.dataOffBlockNorm))
        return TrainingComparison(
            trainable: trainable, result: result, times: times, losses: losses, flow: flow,
            conservedQuantity: columns.map(\.w2MinusV2), w24: columns.map(\.w24),
            relativeLossDeviation: relative, eigenvalueDeviation: eigen, v: v, w: w,
            offBlockNorm: columns.map(\.offBlockNorm), offDiagonalNorm: columns.map(\.offDiagonalNorm),
            commutatorNorm: columns.map(\.commutatorNorm),
            maxRelativeLossDeviation: maxRelative, lossDeviationMissing: missing, maxEigenvalueDeviation: maxEigen, stages: stages,
            changePointAgreement: config.hasTimeMap ? flowStages.map { StageAgreement(stages.changePoint, reference: $0.changePoint) } : nil,
            mechanisticAgreement: config.hasTimeMap ? flowStages.map { StageAgreement(stages.mechanistic, reference: $0.mechanistic) } : nil)
    }
}
