import CotflowModel
import CotflowCore
import CotflowStages
import Foundation

/// The full-matrix gradient flow as a third curve of a comparison (MODEL.md section 8): every
/// entry of V and W on the loss of `prompts` fixed prompts, from training's initial point, on the
/// training record times. Its parameters are scored on training's held-out set, so that SGD and
/// this flow are compared through the same function of the parameters.
public struct FullFlowCurve: Sendable {
    public let prompts: Int
    /// The flow on the record times (loss = mean CoT loss on its own prompts).
    public let trajectory: FullFlowTrajectory
    /// Mean teacher-forced CoT loss of the flow's parameters on training's held-out set, per record.
    public let heldOutLosses: [Double]
    /// Diagonals of V31 and W13 in training's initial eigenbasis, per record.
    public let v: [[Double]]
    public let w: [[Double]]
    public let manifoldDistance: [Double]
    public let stages: StageAnalysis
    /// What the reduction leaves out: |reduced flow - full flow| / reduced flow per record, the reduced
    /// flow being the one with W24 free, which the full-matrix flow also trains (nil
    /// without a reduced flow, i.e. from a random start).
    public let reductionDeviation: [Double]?
    /// Its largest value over the records where the reduced flow's loss is above the deviation floor.
    public let maxReductionDeviation: Double?
    public let seconds: Double
}

/// One training run against the full-matrix flow: what sampling and the step size add.
public struct FullFlowDeviation: Sendable {
    /// |training - full flow| / full flow per record, both on the held-out set.
    public let relativeLossDeviation: [Double]
    /// Largest over the records where the full flow's held-out loss is above the deviation floor
    /// times its initial value.
    public let maxRelativeLossDeviation: Double?
    /// Why `maxRelativeLossDeviation` is nil (a held-out mean overflowed, ...).
    public let lossDeviationMissing: String?
    /// max_j max(|v_diag_j - flow|, |w_diag_j - flow|) per record.
    public let eigenvalueDeviation: [Double]
    public let changePointAgreement: StageAgreement
    public let mechanisticAgreement: StageAgreement

    public var maxEigenvalueDeviation: Double { eigenvalueDeviation.max() ?? .nan }
}

extension Comparator {
    /// The full-matrix flow on the training record times from training's initial point.
    static func fullFlow(_ config: ComparisonConfig, prompts: Int, training: TrainingConfig, result: TrainingResult,
                         reduced: FlowTrajectory?, progress: ((Double) -> Void)? = nil) throws -> FullFlowCurve {
        let started = Date()
        let task = training.task
        let times = result.trajectory.times
        let flow = try FullMatrixFlow(task: task, promptCount: prompts, seed: config.seed)
        var options = FullMatrixFlow.defaultOptions
        options.ode.stepper = config.flow.ode.stepper
        options.ode.endTime = times.last!
        options.ode.grid = .times(Array(times.dropFirst().dropLast()))
        options.stopRelativeLoss = 0
        let trajectory: FullFlowTrajectory
        do {
            trajectory = try flow.integrate(from: result.initialParameters, basis: result.basis, options: options,
                                            progress: progress.map { report in { t in
                                                report(FlowSteps.fullWorkFraction(at: t, end: options.ode.endTime, d: task.d, n: task.n, k: task.k))
                                            } })
        } catch let failure as FullFlowFailure {
            throw CompareError.fullFlowFailed("\(failure)")
        }
        guard trajectory.times.count == times.count else {
            throw CompareError.flowStopped(full: true, at: trajectory.finalTime, lastRecord: times.last!)
        }
        let heldOut = PromptSets.heldOut(training)
        let heldOutLosses = trajectory.parameters.map {
            Objectives.compute(.cot, parameters: $0, task: task, batch: heldOut, gradient: false).loss
        }
        let columns = try trajectory.parameterColumns()
        let v = columns.map(\.vDiagonal), w = columns.map(\.wDiagonal)
        let distance = columns.map(\.dataOffBlockNorm)
        let stages = try StageAnalysis(times: times, losses: heldOutLosses, v: v, w: w, eta: task.eta, manifoldDistance: distance)
        var reduction: [Double]? = nil, maxReduction: Double? = nil
        if let reduced {
            let r = zip(reduced.losses, heldOutLosses).map { abs($1 - $0) / $0 }
            let floor = config.deviationFloor * reduced.losses[0]
            reduction = r
            maxReduction = zip(r, reduced.losses).filter { $0.1 > floor }.map(\.0).max()
        }
        return FullFlowCurve(prompts: prompts, trajectory: trajectory, heldOutLosses: heldOutLosses, v: v, w: w,
                             manifoldDistance: distance, stages: stages, reductionDeviation: reduction,
                             maxReductionDeviation: maxReduction, seconds: Date().timeIntervalSince(started))
    }

    /// Training against the full-matrix flow at the same record times.
    static func deviation(losses: [Double], v: [[Double]], w: [[Double]], stages: StageAnalysis,
                          from flow: FullFlowCurve, floorFraction: Double) -> FullFlowDeviation {
        let loss = relativeLossDeviation(losses, from: flow.heldOutLosses, floorFraction: floorFraction)
        let eigen = v.indices.map { i in
            v[i].indices.map { max(abs(v[i][$0] - flow.v[i][$0]), abs(w[i][$0] - flow.w[i][$0])) }.max() ?? 0
        }
        return FullFlowDeviation(
            relativeLossDeviation: loss.each,
            maxRelativeLossDeviation: loss.largest,
            lossDeviationMissing: loss.missing,
            eigenvalueDeviation: eigen,
            changePointAgreement: StageAgreement(stages.changePoint, reference: flow.stages.changePoint),
            mechanisticAgreement: StageAgreement(stages.mechanistic, reference: flow.stages.mechanistic))
    }
}
