import CotflowCompare
import CotflowExact
import CotflowFlow
import CotflowIO
import CotflowModel
import CotflowNumerics
import CotflowODE
import CotflowStages
import CotflowSweep
import CotflowTask
import CotflowTraining
import Foundation

/// What one grid point of a sweep runs.
public enum SweepJob: String, Sendable, CaseIterable {
    /// The reduced gradient flow from the Assumption 4.1 point (`cotflow ode`).
    case flow
    /// Training of the transformer (`cotflow train`).
    case train
    /// The reduced flow against training from the same point (`cotflow compare`, one trainable set).
    case compare
    /// The exact evaluation loss of k GD steps (`cotflow exact gd-loss`).
    case exact

    static let taskAxes = ["d", "n", "k", "eta", "n_over_d"]
    static let trainingAxes = ["init_scale", "learning_rate", "batch_size", "steps", "record_every", "held_out", "seed"]

    /// The numeric options of the job that can be an axis.
    public var axisNames: [String] {
        switch self {
        case .flow: return Self.taskAxes + ["init_scale", "w24_initial", "t_end", "stop_loss", "abs_tol", "rel_tol", "max_steps", "points", "seed"]
        case .train: return Self.taskAxes + Self.trainingAxes
        case .compare: return Self.taskAxes + Self.trainingAxes
        case .exact: return Self.taskAxes
        }
    }

    /// Axes whose values are integers.
    public static let integerAxes: Set<String> = ["d", "n", "k", "seed", "batch_size", "steps", "record_every", "held_out", "max_steps", "points"]

    /// Why `name` is not an axis of this job, when it is a known name that the job cannot vary
    /// (nil otherwise: then the list of axes says it all).
    public func refusal(axis name: String) -> String? {
        switch (self, name) {
        case (.flow, "w24"):
            return "w24 is the flow's final W24 (a metric); the initial W24 is the axis w24_initial (as `cotflow ode --w24-initial`)"
        case (.train, "w24"), (.train, "w24_initial"), (.compare, "w24"), (.compare, "w24_initial"):
            return "\(name) is an axis of --job flow only: training starts with W24 = -1 (--init assumption, or --params reduced) or draws it with the other entries (--init random --params full), and `cotflow train` has no option for it"
        case (.exact, "w24"), (.exact, "w24_initial"):
            return "\(name) is not an axis of --job exact: the GD chain has no W24"
        default:
            return nil
        }
    }

    /// The metric columns of the job, in file order.
    public var metricNames: [String] {
        switch self {
        case .flow: return FlowMetrics.names
        case .train: return TrainMetrics.names
        case .compare: return CompareMetrics.names
        case .exact: return ExactMetrics.names
        }
    }

    /// Metrics whose values are integers (counts, steps, 0/1 flags), written as JSON integers.
    public var integerMetrics: Set<String> {
        switch self {
        case .flow: return ["converged", "steps", "stage_count"]
        case .train: return ["diverged_step", "stage_count"]
        case .compare: return ["diverged_step", "stage_count", "same_stages"]
        case .exact: return []
        }
    }

    /// Metrics that are times of a stage boundary or transition (candidates for scaling fits).
    public var timeMetrics: [String] {
        switch self {
        case .flow: return ["t_loss_half", "t_loss_1e-3", "plateau_end", "product_reached", "exponential_start"]
        case .train, .compare: return ["diverged_step", "plateau_end", "product_reached", "exponential_start"]
        case .exact: return []
        }
    }

    /// Metrics that describe the solver or are set by a stopping rule, not the model: never findings.
    public var diagnosticMetrics: Set<String> {
        switch self {
        case .flow: return ["final_loss", "t_end", "steps", "converged", "stage_count", "distance_to_construction", "w24"]
        case .train: return ["diverged_step", "stage_count"]
        case .compare: return ["diverged_step", "stage_count"]
        case .exact: return []
        }
    }
}

/// Every setting of one run of a sweep job: the fixed options, overridden at each grid point by the
/// point's axis values (`resolved(at:)`).
public struct ExperimentSettings: Sendable {
    public var job: SweepJob
    public var d = 10, n = 40, k = 5
    /// The GD step size; nil: the paper's n/(n+d+1) at each point's n and d.
    public var eta: Rational?
    public var seed: UInt64 = 0
    public var initScale = 0.05
    /// Eigenvalue ranges of the Assumption 4.1 point; nil: the defaults of `initScale`.
    public var vRange: ClosedRange<Double>?
    public var wRange: ClosedRange<Double>?
    /// The flow (jobs `flow` and `compare`); its output grid is `points` log-spaced times.
    public var flow = FlowOptions()
    /// W24 in the flow job: held (the paper's flow, at -1) or trained from its initial value.
    public var w24: W24Mode = .paper
    public var points = 400
    /// A stepper to retry a failed flow with (for example msbdf, implicit with the analytic Jacobian,
    /// where a heavy-tailed loss makes the flow stiff); nil: a failed flow is a failed point.
    public var fallbackStepper: Stepper?
    // Training (jobs `train` and `compare`); nil: the command's default.
    public var objective: TrainingObjective = .cot
    public var trainable: TrainableSet?
    public var initialisation: InitialisationKind?
    public var optimizer: OptimizerKind?
    public var learningRate: Double?
    public var batchSize: Int?
    public var steps: Int?
    public var recordEvery: Int?
    public var heldOut: Int?
    /// Regimes: a run is stalled when its final loss is above this fraction of its start.
    public var stallFraction = 0.5
    /// A training run (or an exact chain) has converged when its final loss is at most this
    /// fraction of its start and it is within `constructionTolerance` of the construction.
    public var convergedFraction = 1e-2
    public var constructionTolerance = 0.1

    /// Allowed |W24| of the flow (as `cotflow ode --w24-initial`): a huge or tiny W24 makes the flow crawl.
    public static let w24Range: ClosedRange<Double> = 1e-3...1e3

    /// The exact GD-chain loss is computed up to this chain length (2k Wishart moments).
    public static let exactMaximumK = ExactLimits.degree / 2

    public init(job: SweepJob) { self.job = job }

    /// The step size at this point.
    public var stepSize: Rational { eta ?? paperStepSize(n: n, d: d) }

    /// The settings at a grid point (the point's values replace the fixed ones).
    public func resolved(at point: SweepPoint) throws -> ExperimentSettings {
        var s = self
        func bad(_ what: String) -> ExperimentError { .point(label: point.label, reason: what) }
        func integer(_ name: String, min: Int = 1) throws -> Int? {
            guard let x = point[name] else { return nil }
            guard x >= Double(min), x <= 1_000_000_000, x == x.rounded() else { throw bad("\(name) must be an integer from \(min) to 1000000000") }
            return Int(x)
        }
        func positive(_ name: String) throws -> Double? {
            guard let x = point[name] else { return nil }
            guard x.isFinite, x > 0 else { throw bad("\(name) must be positive") }
            return x
        }
        if let v = try integer("d") { s.d = v }
        if let v = try integer("n") { s.n = v }
        if let ratio = point["n_over_d"] {
            guard ratio > 0, ratio * Double(s.d) < 1e9 else { throw bad("n_over_d must be positive") }
            s.n = Int((ratio * Double(s.d)).rounded())
            guard s.n >= 1 else { throw bad("n = round(n_over_d x d) = 0; n must be at least 1") }
        }
        if let v = try integer("k") { s.k = v }
        if let v = try integer("seed", min: 0) { s.seed = UInt64(v) }
        if let e = point["eta"] {
            guard e > 0, let r = Rational.parse(SweepFormat.number(e)) else { throw bad("eta must be positive") }
            s.eta = r
        }
        if let v = try positive("init_scale") { s.initScale = v; s.vRange = nil; s.wRange = nil }
        if let u = point["w24_initial"] {
            guard s.job == .flow else { throw bad(s.job.refusal(axis: "w24_initial") ?? "w24_initial is not an axis of this job") }
            guard Self.w24Range.contains(abs(u)) else { throw bad("w24_initial must satisfy 1e-3 <= |W24| <= 1e3 (got \(SweepFormat.number(u)))") }
            s.w24 = s.w24.isFree ? .free(initial: u) : .fixed(u)
        }
        if let v = try positive("t_end") { s.flow.ode.endTime = v }
        if let v = point["stop_loss"] {
            guard v >= 0, v < 1 else { throw bad("stop_loss must be in [0, 1)") }
            s.flow.stopRelativeLoss = v
        }
        if let v = try positive("abs_tol") { s.flow.ode.absoluteTolerance = v }
        if let v = try positive("rel_tol") { s.flow.ode.relativeTolerance = v }
        if let v = try integer("max_steps") { s.flow.ode.maximumSteps = v }
        if let v = try integer("points", min: 2) { s.points = v }
        if let v = try positive("learning_rate") { s.learningRate = v }
        if let v = try integer("batch_size") { s.batchSize = v }
        if let v = try integer("steps", min: 0) { s.steps = v }
        if let v = try integer("record_every") { s.recordEvery = v }
        if let v = try integer("held_out") { s.heldOut = v }
        if s.job == .exact, s.k > Self.exactMaximumK { throw bad("k = \(s.k) is above the exact limit k <= \(Self.exactMaximumK) (2k Wishart moments)") }
        if s.job == .train || s.job == .compare { try Self.trainingConfig(s).validate() }
        return s
    }

    /// The Assumption 4.1 starting point.
    var start: AssumptionInitialisation {
        let defaults = AssumptionInitialisation.defaultRanges(scale: initScale)
        return AssumptionInitialisation(d: d, seed: seed, vRange: vRange ?? defaults.v, wRange: wRange ?? defaults.w)
    }

    /// The settings held fixed across a grid with these axes, as recorded in the sweep's files:
    /// keyed by option name (`_` for `-`), integers as JSON integers, numbers as floats. `eta` is
    /// the float and `eta_exact` its exact value where one step size holds for the whole grid;
    /// `eta_rule` says where it comes from (`given` or `n/(n+d+1)`).
    public func fixedSettings(axes: Set<String>) throws -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = [("job", .string(job.rawValue))]
        func add(_ name: String, _ value: @autoclosure () -> JSONValue) { if !axes.contains(name) { out.append((name, value())) } }
        add("d", .int(d))
        if !axes.contains("n_over_d") { add("n", .int(n)) }
        add("k", .int(k))
        if !axes.contains("eta") {
            out.append(("eta_rule", .string(eta == nil ? "n/(n+d+1)" : "given")))
            // Without a given eta, each point's n and d set it; it is one number when neither varies.
            if eta != nil || axes.isDisjoint(with: ["d", "n", "n_over_d"]) { out += etaFields(stepSize) }
        }
        if job != .exact {
            add("seed", .int(Int(seed)))
            add("init_scale", .number(initScale))
            if let v = vRange { out.append(("v_range", .numbers([v.lowerBound, v.upperBound]))) }
            if let w = wRange { out.append(("w_range", .numbers([w.lowerBound, w.upperBound]))) }
        }
        switch job {
        case .flow:
            out.append(("model", .string("reduced gradient flow from Assumption 4.1")))
            out.append(("w24", .string(w24.isFree ? "free" : "fixed")))
            add("w24_initial", .number(w24.initial))
            out.append(("stepper", .string(flow.ode.stepper.rawValue)))
            out.append(("fallback_stepper", fallbackStepper.map { .string($0.rawValue) } ?? .null))
            add("abs_tol", .number(flow.ode.absoluteTolerance))
            add("rel_tol", .number(flow.ode.relativeTolerance))
            add("max_steps", .int(flow.ode.maximumSteps))
            add("t_end", .number(flow.ode.endTime))
            add("stop_loss", .number(flow.stopRelativeLoss))
            add("points", .int(points))
            out.append(("exact_eval_loss_max_k", .int(Self.exactMaximumK)))
        case .train, .compare:
            let c = try Self.trainingConfig(self)
            out.append(("objective", .string(c.objective.rawValue)))
            out.append(("params", .string(c.trainable.rawValue)))
            out.append(("init", .string(c.initialisation.rawValue)))
            out += c.optimizer.settings
            add("learning_rate", .number(c.learningRate))
            add("batch_size", .int(c.batchSize))
            add("steps", .int(c.steps))
            add("record_every", .int(c.recordEvery))
            add("held_out", .int(c.heldOutSize))
            if job == .compare { out.append(("stepper", .string(flow.ode.stepper.rawValue))) }
        case .exact:
            out.append(("quantity", .string("E||w_k - w*||^2 of k exact GD steps")))
            out.append(("exact_max_k", .int(Self.exactMaximumK)))
        }
        out += [("stall_fraction", .number(stallFraction)), ("converged_fraction", .number(convergedFraction)),
                ("construction_tolerance", .number(constructionTolerance))]
        return out
    }

    /// The regime thresholds and the job recorded in a sweep's settings (for `cotflow merge`).
    public init(recorded settings: [(String, JSONValue)]) throws {
        let map = Dictionary(settings, uniquingKeysWith: { a, _ in a })
        guard case .string(let jobText)? = map["job"], let job = SweepJob(rawValue: jobText) else {
            throw ExperimentError.noJob
        }
        self.init(job: job)
        func number(_ key: String) -> Double? {
            switch map[key] { case .number(let x)?: return x; case .int(let i)?: return Double(i); default: return nil }
        }
        if let x = number("stall_fraction") { stallFraction = x }
        if let x = number("converged_fraction") { convergedFraction = x }
        if let x = number("construction_tolerance") { constructionTolerance = x }
        // The W24 mode and value as the sweep ran them (an axis w24_initial is not a setting).
        let u = number("w24_initial") ?? -1
        if case .string("free")? = map["w24"] { w24 = .free(initial: u) } else { w24 = .fixed(u) }
    }

    /// The training configuration of the `train` or `compare` job at these settings.
    static func trainingConfig(_ s: ExperimentSettings) throws -> TrainingConfig {
        var c: TrainingConfig
        if s.job == .compare {
            // The comparison's training: SGD on the reduced model from the Assumption 4.1 point.
            c = try ComparisonConfig.defaults(d: s.d, n: s.n, k: s.k, eta: s.stepSize, seed: s.seed).training
        } else {
            let task = try TaskConfig(d: s.d, n: s.n, k: s.k, eta: s.stepSize.doubleValue)
            c = TrainingConfig.defaults(task: task, objective: s.objective, seed: s.seed)
        }
        let defaults = AssumptionInitialisation.defaultRanges(scale: s.initScale)
        c.initScale = s.initScale
        c.vRange = s.vRange ?? defaults.v
        c.wRange = s.wRange ?? defaults.w
        if let x = s.trainable { c.trainable = x }
        if let x = s.initialisation, s.job == .train { c.initialisation = x }
        if let x = s.optimizer {
            // The optimizer's default learning rate, as `cotflow compare` sets it.
            if s.job == .compare, s.learningRate == nil { c.learningRate = ComparisonConfig.defaultLearningRate(optimizer: x) }
            c.optimizer = x
        }
        if let x = s.learningRate { c.learningRate = x }
        if let x = s.batchSize { c.batchSize = x }
        if let x = s.steps { c.steps = x }
        if let x = s.recordEvery { c.recordEvery = x }
        if let x = s.heldOut { c.heldOutSize = x }
        return c
    }

    /// Runs the job at these (resolved) settings.
    public func measure() throws -> any SweepMetrics {
        switch job {
        case .flow: return try FlowMetrics.measure(self)
        case .train: return try TrainMetrics.measure(self)
        case .compare: return try CompareMetrics.measure(self)
        case .exact: return ExactMetrics.measure(self)
        }
    }

    /// Runs the job at a grid point and returns its metric row (a sweep's `run`).
    public func run(_ point: SweepPoint) throws -> [String: Double] {
        let s = try resolved(at: point)
        do {
            return try s.measure().row
        } catch let failure as FlowFailure {
            var partial = FlowMetrics(failure.partial, eta: s.stepSize.doubleValue)
            partial.converged = false
            throw SweepPointFailure("flow failed: \(failure.reason)", metrics: partial.row)
        }
    }
}

/// The metrics of one run, typed; `row` is its line in the sweep's files.
public protocol SweepMetrics: Sendable {
    static var names: [String] { get }
    var row: [String: Double] { get }
}

/// Relative distances of the invariant pair ((-W24) V31, W13 / (-W24)) from (-eta I, I): the
/// construction up to the W24 gauge (`v` = eigenvalues of V31 in its basis, likewise `w`).
func constructionDistance(v: [Double], w: [Double], eta: Double, w24: Double = -1) -> Double {
    let c = -w24
    guard c != 0, !v.isEmpty else { return .nan }
    let dv = v.map { abs(c * $0 + eta) / eta }.max() ?? .nan
    let dw = w.map { abs($0 / c - 1) }.max() ?? .nan
    return max(dv, dw)
}

/// One reduced-flow run.
public struct FlowMetrics: SweepMetrics {
    public var initialLoss: Double, finalLoss: Double, tEnd: Double
    public var converged: Bool
    public var steps: Int
    public var tLossHalf: Double, tLoss1e3: Double
    public var exactEvalLoss: Double?
    public var plateauEnd: Double?, productReached: Double?, exponentialStart: Double?
    public var stageCount: Int?
    /// max_j max(|u v_j - eta| / eta, |w_j / (-u) - 1|) at the end, u = W24 there: the distance
    /// from the construction up to W24's gauge (u = -1: max_j max(|v_j + eta| / eta, |w_j - 1|)).
    public var distanceToConstruction: Double
    /// W24 at the end (the held value when it is fixed).
    public var w24: Double

    public static let names = ["initial_loss", "final_loss", "t_end", "converged", "steps",
                               "t_loss_half", "t_loss_1e-3", "exact_eval_loss",
                               "plateau_end", "product_reached", "exponential_start", "stage_count",
                               "distance_to_construction", "w24"]

    init(_ t: FlowTrajectory, eta: Double) {
        initialLoss = t.losses.first ?? .nan
        finalLoss = t.finalLoss
        tEnd = t.finalTime
        converged = t.converged
        steps = t.statistics.acceptedSteps
        tLossHalf = StageMetrics.timeBelow(0.5, times: t.times, losses: t.losses)
        tLoss1e3 = StageMetrics.timeBelow(1e-3, times: t.times, losses: t.losses)
        let u = t.u.last ?? .nan
        w24 = u
        distanceToConstruction = t.v.last.map { constructionDistance(v: $0, w: t.w.last!, eta: eta, w24: u) } ?? .nan
    }

    static func measure(_ s: ExperimentSettings) throws -> FlowMetrics {
        let eta = s.stepSize
        let loss = try ReducedLoss(n: s.n, d: s.d, k: s.k, eta: eta)
        var options = s.flow
        options.ode.grid = .logarithmic(points: s.points, first: 1e-3)
        let start = s.start
        let t: FlowTrajectory
        do {
            t = try ReducedFlow(loss: loss, w24: s.w24).integrate(v0: start.v, w0: start.w, options: options)
        } catch is FlowFailure where s.fallbackStepper != nil {
            options.ode.stepper = s.fallbackStepper!
            t = try ReducedFlow(loss: loss, w24: s.w24).integrate(v0: start.v, w0: start.w, options: options)
        }
        var m = FlowMetrics(t, eta: eta.doubleValue)
        if s.k <= ExperimentSettings.exactMaximumK { m.exactEvalLoss = gdChainLoss(n: s.n, d: s.d, k: s.k, eta: eta).doubleValue }
        let stages = StageMetrics.stages(times: t.times, losses: t.losses, v: t.v, w: t.w, eta: eta.doubleValue)
        m.plateauEnd = stages.plateauEnd
        m.productReached = stages.productReached
        m.exponentialStart = stages.exponentialStart
        m.stageCount = stages.stageCount
        return m
    }

    public var row: [String: Double] {
        ["initial_loss": initialLoss, "final_loss": finalLoss, "t_end": tEnd, "converged": converged ? 1 : 0,
         "steps": Double(steps), "t_loss_half": tLossHalf, "t_loss_1e-3": tLoss1e3, "exact_eval_loss": exactEvalLoss ?? .nan,
         "plateau_end": plateauEnd ?? .nan, "product_reached": productReached ?? .nan,
         "exponential_start": exponentialStart ?? .nan, "stage_count": stageCount.map(Double.init) ?? .nan,
         "distance_to_construction": distanceToConstruction, "w24": w24]
    }
}

/// One training run.
public struct TrainMetrics: SweepMetrics {
    public var initialCoTLoss: Double, finalCoTLoss: Double
    public var evalMean: Double, evalMedian: Double, evalTopPercentShare: Double
    /// The optimizer step at which training diverged, nil when it did not.
    public var divergedStep: Int?
    /// Relative distance of (-W24) V31 from -eta I and of W13 / (-W24) from I (the larger).
    public var distanceToConstruction: Double
    public var w24: Double
    public var plateauEnd: Double?, productReached: Double?, exponentialStart: Double?
    public var stageCount: Int?

    public static let names = ["initial_cot_loss", "final_cot_loss", "eval_loss_mean", "eval_loss_median", "eval_loss_top1pct_share",
                               "diverged_step", "distance_to_construction", "w24",
                               "plateau_end", "product_reached", "exponential_start", "stage_count"]

    init(_ r: TrainingResult, config: TrainingConfig) {
        let cot = r.trajectory.cotLossMeans
        initialCoTLoss = cot.first ?? .nan
        finalCoTLoss = r.heldOutCoT.mean
        evalMean = r.heldOutEval.mean
        evalMedian = r.heldOutEval.median
        evalTopPercentShare = r.heldOutEval.topPercentShare
        if case .diverged(let step, _) = r.status { divergedStep = step }
        let mass = WeightMass(r.parameters, eta: config.task.eta)
        distanceToConstruction = max(mass.vDeviation, mass.wDeviation)
        w24 = r.parameters.W24
        if divergedStep == nil {
            let t = r.trajectory
            let stages = StageMetrics.stages(times: t.times, losses: cot, v: t.vDiagonals, w: t.wDiagonals, eta: config.task.eta)
            plateauEnd = stages.plateauEnd
            productReached = stages.productReached
            exponentialStart = stages.exponentialStart
            stageCount = stages.stageCount
        }
    }

    static func measure(_ s: ExperimentSettings) throws -> TrainMetrics {
        let config = try ExperimentSettings.trainingConfig(s)
        let result = try Trainer(config: config).run()
        return TrainMetrics(result, config: config)
    }

    public var row: [String: Double] {
        ["initial_cot_loss": initialCoTLoss, "final_cot_loss": finalCoTLoss, "eval_loss_mean": evalMean,
         "eval_loss_median": evalMedian, "eval_loss_top1pct_share": evalTopPercentShare,
         "diverged_step": divergedStep.map(Double.init) ?? .nan, "distance_to_construction": distanceToConstruction, "w24": w24,
         "plateau_end": plateauEnd ?? .nan, "product_reached": productReached ?? .nan,
         "exponential_start": exponentialStart ?? .nan, "stage_count": stageCount.map(Double.init) ?? .nan]
    }
}

/// The reduced flow against one training run from the same point.
public struct CompareMetrics: SweepMetrics {
    public var training: TrainMetrics
    public var flowFinalLoss: Double
    public var maxRelativeLossDeviation: Double?
    public var maxEigenvalueDeviation: Double?
    public var sameMechanisticStages: Bool?
    public var maxBoundaryDifference: Double?

    public static let names = TrainMetrics.names + ["flow_final_loss", "max_rel_loss_deviation", "max_eigenvalue_deviation",
                                                   "same_stages", "max_boundary_difference"]

    static func measure(_ s: ExperimentSettings) throws -> CompareMetrics {
        let t = try ExperimentSettings.trainingConfig(s)
        var c = try ComparisonConfig.defaults(d: s.d, n: s.n, k: s.k, eta: s.stepSize, seed: s.seed)
        c.training = t
        c.trainable = [t.trainable]
        c.flow.ode.stepper = s.flow.ode.stepper
        let comparison: Comparison
        do {
            comparison = try Comparator.run(c)
        } catch {
            // The comparison refuses a diverged training run; rerun the training alone (it stops
            // where it diverged) to record the diverged regime and its step.
            let result = try Trainer(config: t).run()
            guard case .diverged = result.status else { throw error }
            return CompareMetrics(training: TrainMetrics(result, config: t), flowFinalLoss: .nan, maxRelativeLossDeviation: nil,
                                  maxEigenvalueDeviation: nil, sameMechanisticStages: nil, maxBoundaryDifference: nil)
        }
        let run = comparison.runs[0]
        let agreement = run.mechanisticAgreement
        return CompareMetrics(training: TrainMetrics(run.result, config: t), flowFinalLoss: comparison.flow?.finalLoss ?? .nan,
                              maxRelativeLossDeviation: run.maxRelativeLossDeviation, maxEigenvalueDeviation: run.maxEigenvalueDeviation,
                              sameMechanisticStages: agreement?.sameStages, maxBoundaryDifference: agreement?.maxRelativeBoundaryDifference)
    }

    public var row: [String: Double] {
        training.row.merging([
            "flow_final_loss": flowFinalLoss, "max_rel_loss_deviation": maxRelativeLossDeviation ?? .nan,
            "max_eigenvalue_deviation": maxEigenvalueDeviation ?? .nan,
            "same_stages": sameMechanisticStages.map { $0 ? 1 : 0 } ?? .nan, "max_boundary_difference": maxBoundaryDifference ?? .nan,
        ]) { $1 }
    }
}

/// The exact evaluation loss E||w_k - w*||^2 of k GD steps from w_0 = 0 (start: E||w*||^2 = d).
public struct ExactMetrics: SweepMetrics {
    public var evalLoss: Double
    /// The loss at k - 1 steps (d at k = 1).
    public var previousLoss: Double
    public var relativeLoss: Double

    public static let names = ["exact_eval_loss", "exact_eval_loss_previous_k", "relative_to_start"]

    static func measure(_ s: ExperimentSettings) -> ExactMetrics {
        let eta = s.stepSize
        let loss = gdChainLoss(n: s.n, d: s.d, k: s.k, eta: eta).doubleValue
        let previous = s.k > 1 ? gdChainLoss(n: s.n, d: s.d, k: s.k - 1, eta: eta).doubleValue : Double(s.d)
        return ExactMetrics(evalLoss: loss, previousLoss: previous, relativeLoss: loss / Double(s.d))
    }

    public var row: [String: Double] {
        ["exact_eval_loss": evalLoss, "exact_eval_loss_previous_k": previousLoss, "relative_to_start": relativeLoss]
    }
}
