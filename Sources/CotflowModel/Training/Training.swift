import CotflowCore
import Foundation

/// The objective a run trains on (MODEL.md section 3).
public enum TrainingObjective: String, Sendable, CaseIterable, Codable {
    case cot, nocot, looped

    /// The objective minimised on each batch.
    public var objective: Objective {
        switch self {
        case .cot: return .cot
        case .nocot: return .nocot
        case .looped: return .looped
        }
    }

    /// The held-out test loss reported as `eval_loss_*`: the autoregressive k-step loss for `cot`,
    /// the one-step loss `||w^_1 - w*||^2` for `nocot`, the looped k-step loss for `looped`.
    public var testObjective: Objective {
        switch self {
        case .cot: return .eval
        case .nocot: return .nocot
        case .looped: return .looped
        }
    }
}

/// Which entries of V and W are trained.
public enum TrainableSet: String, Sendable, CaseIterable, Codable {
    /// Every entry of V and W.
    case full
    /// V31 and W13 as full d x d blocks; W24 fixed at -1, everything else fixed at zero.
    case reduced
}

/// Initial parameters.
public enum InitialisationKind: String, Sendable, CaseIterable, Codable {
    /// iid N(0, initScale^2) for every trainable entry (W24 = -1 for `reduced`).
    case random
    /// Assumption 4.1: V31 = U diag(v) U^T, W13 = U diag(w) U^T, W24 = -1, all else zero.
    case assumption
}

/// Options of a training run.
public struct TrainingConfig: Sendable, Codable {
    public var task: TaskConfig
    public var objective: TrainingObjective
    public var trainable: TrainableSet
    public var initialisation: InitialisationKind
    /// Standard deviation of `random` initial entries, and the `sigma` of the default Assumption 4.1 ranges.
    public var initScale: Double
    public var vRange: ClosedRange<Double>
    public var wRange: ClosedRange<Double>
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var batchSize: Int
    public var steps: Int
    public var recordEvery: Int
    /// Size of the fixed held-out set (stream `StreamLabel.heldOut`).
    public var heldOutSize: Int
    public var seed: UInt64
    /// Curriculum over the number of loops (`looped`) or the chain length (`cot`); nil trains at k throughout.
    public var curriculum: Curriculum?
    /// When set, a batch gradient (over the trainable entries) whose Euclidean norm exceeds this is
    /// scaled down to it before the optimizer step; nil never clips.
    public var clipNorm: Double?

    public init(task: TaskConfig, objective: TrainingObjective, trainable: TrainableSet,
                initialisation: InitialisationKind, initScale: Double = TrainingConfig.defaultInitScale,
                vRange: ClosedRange<Double>? = nil, wRange: ClosedRange<Double>? = nil,
                optimizer: OptimizerKind, learningRate: Double, batchSize: Int, steps: Int,
                recordEvery: Int, heldOutSize: Int, seed: UInt64, curriculum: Curriculum? = nil, clipNorm: Double? = nil) {
        let ranges = AssumptionInitialisation.defaultRanges(scale: initScale)
        self.task = task; self.objective = objective; self.trainable = trainable
        self.initialisation = initialisation; self.initScale = initScale
        self.vRange = vRange ?? ranges.v; self.wRange = wRange ?? ranges.w
        self.optimizer = optimizer; self.learningRate = learningRate; self.batchSize = batchSize
        self.steps = steps; self.recordEvery = recordEvery; self.heldOutSize = heldOutSize; self.seed = seed
        self.curriculum = curriculum; self.clipNorm = clipNorm
    }

    public static let defaultInitScale = 0.05

    /// Default options: Adam, learning rate 0.003, batch 256, 1000 steps, a record every 50 steps and
    /// 4000 held-out prompts, `full` parameters from a `random` initialisation of scale 0.05.
    ///
    /// Why: from a small initialisation the loss sits on a plateau near the saddle at zero, which
    /// SGD leaves slowly and with a learning rate that must be tuned per (d, n, k); Adam's
    /// per-coordinate scaling leaves it within a few hundred steps. At lr 0.003 and batch 256 the
    /// no-CoT run at (d, n) = (10, 20) ends within about 1% of the optimum d(d+1)/(n+d+1) (the noise
    /// floor of a constant learning rate), and CoT runs, whose loss is zero at the construction for
    /// every prompt (no gradient noise at the optimum), converge to it. 4000 held-out prompts give
    /// standard errors of about 1% of the mean no-CoT loss. A default CoT run at (d, n, k) = (10, 40, 5)
    /// takes about 2 s in a release build on 2 cores.
    public static func defaults(task: TaskConfig, objective: TrainingObjective = .cot, seed: UInt64 = 1) -> TrainingConfig {
        TrainingConfig(task: task, objective: objective, trainable: .full, initialisation: .random,
                       optimizer: .adam, learningRate: 0.003, batchSize: 256, steps: 1000, recordEvery: 50,
                       heldOutSize: 4000, seed: seed)
    }

    /// The default task: d = 10, n = 40, k = 5 at the paper's step size n/(n+d+1) (MODEL.md section 6:
    /// at n close to 2d with long chains a few true chains diverge and dominate means).
    public static func defaultTask() -> TaskConfig {
        // Valid by construction.
        try! TaskConfig(d: 10, n: 40, k: 5, eta: paperStepSize(n: 40, d: 10).doubleValue)
    }

    /// Throws a `TrainingError` naming the first invalid option.
    public func validate() throws {
        guard learningRate.isFinite, learningRate > 0 else { throw TrainingError.learningRate(learningRate) }
        guard batchSize >= 1 else { throw TrainingError.batchSize(batchSize) }
        guard steps >= 0 else { throw TrainingError.steps(steps) }
        guard recordEvery >= 1 else { throw TrainingError.recordEvery(recordEvery) }
        guard heldOutSize >= 1 else { throw TrainingError.heldOutSize(heldOutSize) }
        // `--init-scale`'s bound (`AssumptionInitialisation.check`; zero allowed here): a decoded run has not been through it.
        guard initScale.isFinite, initScale >= 0, initScale <= 100 else { throw TrainingError.initScale(initScale) }
        for r in [vRange, wRange] where !(r.lowerBound.isFinite && r.upperBound.isFinite) {
            throw TrainingError.nonFiniteRanges
        }
        if let c = clipNorm, !(c.isFinite && c > 0) { throw TrainingError.clipNorm(c) }
        try optimizer.validate()
        if let c = curriculum {
            guard objective != .nocot else { throw TrainingError.curriculumWithoutChain }
            try c.validate(k: task.k)
        }
    }
}

/// How a run ended.
public enum TrainingStatus: Sendable, Equatable, CustomStringConvertible {
    case completed
    /// Training's own quantities (parameters, gradient, batch loss) became non-finite at optimizer
    /// step `step`; held-out losses never decide it (notes/training.md, "Divergence"). (At long chains
    /// and n close to 2d a true GD chain can itself overflow; that shows up as a non-finite batch loss.)
    case diverged(step: Int, reason: String)
    /// Stopped by SIGINT or SIGTERM (`Interruption`) at optimizer step `step`, which is recorded.
    case interrupted(step: Int, signal: String)

    /// True for `diverged`.
    public var isDiverged: Bool {
        if case .diverged = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .completed: return "completed"
        case .diverged(let step, let reason): return "diverged at step \(step): \(reason)"
        case .interrupted(let step, let signal): return "interrupted by \(signal) at step \(step)"
        }
    }
}

/// One record of a training run: the losses at a step and what the parameters look like there.
public struct TrainingRecord: Sendable, Equatable {
    /// Optimizer steps taken.
    public let step: Int
    /// Flow time through the optimizer's time map (SGD: t = learning rate x step); for an optimizer
    /// without one (Adam), learning rate x step.
    public let time: Double
    /// Loss of the batch of this step (the training objective, at the curriculum's length).
    public let batchLoss: Double
    /// Held-out teacher-forced CoT loss, mean and median.
    public let cotLossMean: Double
    public let cotLossMedian: Double
    /// Held-out test loss (the objective's `testObjective`), mean and median.
    public let evalLossMean: Double
    public let evalLossMedian: Double
    /// Held-out prompts whose CoT or test loss overflowed (is not finite); the means are then NaN
    /// and the medians rank those prompts above every finite loss (`SampleSummary`).
    public let cotLossOverflowed: Int
    public let evalLossOverflowed: Int
    public let parameters: ParameterColumns

    /// The row of the trajectory table, in the order of `TrainingTrajectory.header(d:)`.
    public var values: [Double] {
        [Double(step), time, batchLoss, cotLossMean, cotLossMedian, evalLossMean, evalLossMedian,
         Double(cotLossOverflowed), Double(evalLossOverflowed)] + parameters.values
    }

    /// The columns measured on the held-out set, which may be non-finite without the run diverging.
    static let heldOutColumns: Set<String> = ["cot_loss_mean", "cot_loss_median", "eval_loss_mean", "eval_loss_median"]
}

/// A training trajectory: one record at step 0, every `recordEvery` steps and the last step.
public struct TrainingTrajectory: Sendable, Equatable {
    /// The task's dimension d (the number of eigenvalue columns).
    public let d: Int
    public internal(set) var records: [TrainingRecord]

    public init(d: Int, records: [TrainingRecord] = []) { self.d = d; self.records = records }

    /// Trajectory header for dimension d.
    public static func header(d: Int) -> [String] {
        ["step", "t", "batch_loss", "cot_loss_mean", "cot_loss_median", "eval_loss_mean", "eval_loss_median",
         "cot_loss_overflowed", "eval_loss_overflowed"] + ParameterColumns.names(d: d)
    }

    public var steps: [Int] { records.map(\.step) }
    public var times: [Double] { records.map(\.time) }
    public var batchLosses: [Double] { records.map(\.batchLoss) }
    public var cotLossMeans: [Double] { records.map(\.cotLossMean) }
    public var cotLossMedians: [Double] { records.map(\.cotLossMedian) }
    public var evalLossMeans: [Double] { records.map(\.evalLossMean) }
    public var parameters: [ParameterColumns] { records.map(\.parameters) }
    /// Diagonals of V31 and W13 in the run's basis, per record.
    public var vDiagonals: [[Double]] { records.map(\.parameters.vDiagonal) }
    public var wDiagonals: [[Double]] { records.map(\.parameters.wDiagonal) }
    public var w24: [Double] { records.map(\.parameters.w24) }
    /// The invariant pair ((-W24) diag V31, diag W13 / (-W24)) per record (`ParameterColumns.invariantPair`).
    public var invariantPairs: [(v: [Double], w: [Double])] { records.map(\.parameters.invariantPair) }

    /// The table written as `trajectory.csv` (output only).
    public var table: CSVTable {
        // A held-out statistic over prompts that overflowed does not exist: an empty cell.
        var table = CSVTable(header: Self.header(d: d), integerColumns: ["step", "cot_loss_overflowed", "eval_loss_overflowed"],
                             optionalColumns: ["cot_loss_mean", "cot_loss_median", "eval_loss_mean", "eval_loss_median"])
        for r in records { table.append(r.values) }
        return table
    }
}

/// What a training run produced: final and initial parameters, the trajectory, how it ended, and
/// the held-out losses at its last record.
public struct TrainingResult: Sendable {
    public let parameters: TransformerParameters
    public let initialParameters: TransformerParameters
    public let trajectory: TrainingTrajectory
    public private(set) var status: TrainingStatus
    /// Wall-clock seconds of the run (held-out evaluations included).
    public let seconds: Double
    /// Held-out per-prompt test losses (the objective's `testObjective`) at the final parameters;
    /// nil for a diverged run, which has no final values (its last finite record is `lastRecord`).
    public let heldOutEval: SampleSummary?
    /// Held-out per-prompt teacher-forced CoT losses at the final parameters; nil for a diverged run.
    public let heldOutCoT: SampleSummary?
    /// The eigenbasis used for the `v_diag_j`/`w_diag_j` columns (d x d row-major, columns are vectors).
    public let basis: [Double]
    /// The curriculum's stages as scheduled over `steps` (empty without a curriculum).
    public let curriculumStages: [Curriculum.Stage]
    /// Optimizer steps whose batch gradient was clipped (0 without `clipNorm`).
    public let clippedSteps: Int

    /// Steps done: where the run diverged or was interrupted, else the last recorded step.
    public var stepsDone: Int {
        switch status {
        case .diverged(let step, _), .interrupted(let step, _): return step
        case .completed: return trajectory.records.last?.step ?? 0
        }
    }

    /// The last record of the trajectory (every record holds finite training quantities): for a
    /// diverged run, the last values before it diverged, at their own step.
    public var lastRecord: TrainingRecord? { trajectory.records.last }

    /// This result marked interrupted by `signal` after its last step: a later phase that used it
    /// (a comparison's flows) was stopped, so the run as a whole did not complete.
    public func markedInterrupted(signal: String) -> TrainingResult {
        var result = self
        result.status = .interrupted(step: stepsDone, signal: signal)
        return result
    }
}

/// Trains a transformer on fresh batches each step.
///
/// Determinism: the batch is split into fixed chunks of `Objectives.chunkSize` prompts; chunk c
/// draws its prompts from its own stream `[StreamLabel.training, c]` of the seed, step after step,
/// and chunk gradients are summed in chunk order, so a run is bit-identical for the same options
/// whatever the thread timing.
public struct Trainer: Sendable {
    public let config: TrainingConfig

    public init(config: TrainingConfig) throws {
        try config.validate()
        // Here the sizes of every allocation are decided: the memory they need is checked first,
        // for every caller (the CLI checks earlier, with its options' names; examples and the library here).
        let t = config.task
        let data = config.objective.objective.needsData || config.objective.testObjective.needsData
        try ResourceLimit.checkMemory(TrainingLimits.trainingBytes(d: t.d, n: t.n, k: t.k, batch: config.batchSize, heldOut: config.heldOutSize, data: data),
                                      what: "training at (d, n, k) = (\(t.d), \(t.n), \(t.k)) with batch \(config.batchSize) and \(config.heldOutSize) held-out prompts")
        self.config = config
    }

    /// The initial parameters and the basis of the diagonal columns.
    public func initialParameters() -> (parameters: TransformerParameters, basis: [Double]) {
        let d = config.task.d, dim = 2 * d + 2
        switch config.initialisation {
        case .random:
            let r = Random(seed: config.seed, stream: [StreamLabel.initialisation])
            var p = TransformerParameters.zeros(d: d)
            switch config.trainable {
            case .full:
                for i in 0..<(dim * dim) { p.V[i] = config.initScale * r.gaussian() }
                for i in 0..<(dim * dim) { p.W[i] = config.initScale * r.gaussian() }
            case .reduced:
                p.V31 = (0..<(d * d)).map { _ in config.initScale * r.gaussian() }
                p.W13 = (0..<(d * d)).map { _ in config.initScale * r.gaussian() }
                p.W24 = -1
            }
            return (p, identity(d))
        case .assumption:
            let a = AssumptionInitialisation(d: d, seed: config.seed, vRange: config.vRange, wRange: config.wRange)
            let basis = a.basis()
            let p = TransformerParameters.reduced(d: d, v31: AssumptionInitialisation.matrix(eigenvalues: a.v, basis: basis),
                                                  w13: AssumptionInitialisation.matrix(eigenvalues: a.w, basis: basis))
            return (p, basis)
        }
    }

    /// Runs the training. `progress(step, total)` is called after every optimizer step.
    public func run(progress: ((Int, Int) -> Void)? = nil) throws -> TrainingResult {
        try run(reporting: progress.map { report in { step, total, _ in report(step, total) } })
    }

    /// Runs the training; `reporting(step, total, batchLoss)` is called after every optimizer step.
    public func run(reporting progress: ((Int, Int, Double) -> Void)?) throws -> TrainingResult {
        GSL.initialize()
        let start = Date()
        let cfg = config, task = cfg.task, d = task.d, dim = 2 * d + 2
        let objective = cfg.objective.objective, test = cfg.objective.testObjective
        let (initial, basis) = initialParameters()
        var params = initial

        // Fixed held-out set.
        let heldOut = PromptSets.heldOut(cfg)

        // Trainable mask (nil = everything).
        let mask: (V: [Bool], W: [Bool])? = cfg.trainable == .reduced
            ? { let m = TransformerParameters.reducedMasks(d: d); return (m.V, m.W) }() : nil

        // Kernel workspaces and the batches' storage, sized at the first step and reused by every step and evaluation.
        let workspaces = WorkspacePool()
        let batches = FreshBatchObjective(batchSize: cfg.batchSize, seed: cfg.seed, label: StreamLabel.training, workspaces: workspaces)
        var optimizer = cfg.optimizer.optimizer(size: 2 * dim * dim, learningRate: cfg.learningRate)

        var trajectory = TrainingTrajectory(d: d)
        var status = TrainingStatus.completed
        var lastEval: [Double] = [], lastCoT: [Double] = []
        var clipped = 0

        for step in 0...cfg.steps {
            let current = params
            let wantGradient = step < cfg.steps
            // The batch loss is at the curriculum's length of this step; prompts do not depend on it.
            let length = cfg.curriculum?.length(step: step, steps: cfg.steps, k: task.k) ?? task.k
            let stepTask = length == task.k ? task : try task.with(k: length)
            let result = batches.evaluate(objective, parameters: current, task: stepTask, gradient: wantGradient)

            let stopping = Interruption.requested(at: "training")
            if step % cfg.recordEvery == 0 || step == cfg.steps || stopping {
                let cot = Objectives.compute(.cot, parameters: params, task: task, batch: heldOut, gradient: false,
                                             workspaces: workspaces).perPrompt
                let ev = Objectives.compute(test, parameters: params, task: task, batch: heldOut, gradient: false,
                                            workspaces: workspaces).perPrompt
                lastEval = ev; lastCoT = cot
                let cotSummary = SampleSummary(cot)
                let evalSummary = SampleSummary(ev)
                let record = TrainingRecord(
                    step: step, time: optimizer.flowTime(step: step) ?? cfg.learningRate * Double(step), batchLoss: result.loss,
                    cotLossMean: cotSummary.mean, cotLossMedian: cotSummary.median,
                    evalLossMean: evalSummary.mean, evalLossMedian: evalSummary.median,
                    cotLossOverflowed: cotSummary.nonFiniteCount, evalLossOverflowed: evalSummary.nonFiniteCount,
                    parameters: try ParameterColumns(params, basis: basis))
                // A record is a result of training: a non-finite batch loss or parameter column ends the run
                // as diverged. Held-out prompts that overflow are counted in the record, never decide it.
                let header = TrainingTrajectory.header(d: d)
                if let j = record.values.indices.first(where: { !record.values[$0].isFinite && !TrainingRecord.heldOutColumns.contains(header[$0]) }) {
                    status = .diverged(step: step, reason: "non-finite \(header[j]) in the record of step \(step)")
                    break
                }
                trajectory.records.append(record)
            }
            if stopping, step < cfg.steps {
                status = .interrupted(step: step, signal: Interruption.signalName)
                break
            }
            // The mean of the per-prompt losses: non-finite when any of them is.
            guard result.loss.isFinite else {
                status = .diverged(step: step, reason: "non-finite batch loss")
                break
            }
            if step == cfg.steps { break }
            var gV = result.gradV!, gW = result.gradW!
            if let m = mask {
                for i in gV.indices where !m.V[i] { gV[i] = 0 }
                for i in gW.indices where !m.W[i] { gW[i] = 0 }
            }
            guard gV.allSatisfy({ $0.isFinite }), gW.allSatisfy({ $0.isFinite }) else {
                status = .diverged(step: step, reason: "non-finite gradient")
                break
            }
            if let c = cfg.clipNorm {
                let norm = (gV.reduce(0) { $0 + $1 * $1 } + gW.reduce(0) { $0 + $1 * $1 }).squareRoot()
                if norm > c {
                    clipped += 1
                    for i in gV.indices { gV[i] *= c / norm }
                    for i in gW.indices { gW[i] *= c / norm }
                }
            }
            optimizer.update(&params, gradV: gV, gradW: gW)
            guard params.isFinite else {
                status = .diverged(step: step + 1, reason: "non-finite parameters")
                break
            }
            progress?(step + 1, cfg.steps, result.loss)
        }
        // A diverged run has no final held-out losses: those of its last record are not "final".
        let final = status.isDiverged ? nil : (eval: SampleSummary(lastEval), cot: SampleSummary(lastCoT))
        return TrainingResult(parameters: params, initialParameters: initial, trajectory: trajectory, status: status,
                              seconds: Date().timeIntervalSince(start),
                              heldOutEval: final?.eval, heldOutCoT: final?.cot, basis: basis,
                              curriculumStages: cfg.curriculum?.stages(steps: cfg.steps, k: task.k) ?? [], clippedSteps: clipped)
    }
}

/// `U^T M U` (d x d, row-major) for the orthonormal columns of `basis`.
func inBasis(_ m: [Double], basis: [Double], d: Int) -> [Double] {
    var mu = [Double](repeating: 0, count: d * d), out = mu
    for a in 0..<d { for j in 0..<d { var s = 0.0; for b in 0..<d { s += m[a * d + b] * basis[b * d + j] }; mu[a * d + j] = s } }
    for i in 0..<d { for j in 0..<d { var s = 0.0; for a in 0..<d { s += basis[a * d + i] * mu[a * d + j] }; out[i * d + j] = s } }
    return out
}

func concatenate(_ parts: [PromptBatch]) -> PromptBatch {
    let first = parts[0]
    let x: [Double]? = first.X == nil ? nil : parts.flatMap { $0.X! }
    return PromptBatch(count: parts.reduce(0) { $0 + $1.count }, d: first.d, n: first.n,
                       S: parts.flatMap { $0.S }, wStar: parts.flatMap { $0.wStar }, X: x)
}
