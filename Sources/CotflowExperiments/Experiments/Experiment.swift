import CotflowExact
import CotflowModel
import CotflowCore
import CotflowStages
import Foundation

/// What one grid point of a sweep runs.
public enum SweepJob: String, Sendable, CaseIterable, Codable {
    /// The reduced gradient flow from the Assumption 4.1 point (`cotflow ode`).
    case flow
    /// Training of the transformer (`cotflow train`).
    case train
    /// The reduced flow against training from the same point (`cotflow compare`, one trainable set).
    case compare
    /// The exact evaluation loss of k GD steps (`cotflow exact gd-loss`).
    case exact

    /// The metrics a point of the job records.
    public var metrics: any SweepMetrics.Type {
        switch self {
        case .flow: return FlowMetrics.self
        case .train: return TrainMetrics.self
        case .compare: return CompareMetrics.self
        case .exact: return ExactMetrics.self
        }
    }

    /// The axes of the job (`ExperimentSettings.parameters`), in table order.
    public var axes: [SweepParameter] { ExperimentSettings.parameters.filter { $0.jobs.contains(self) } }

    /// The names of the job's axes.
    public var axisNames: [String] { axes.map(\.name) }

    /// Axes whose values are integers (of every job).
    public static var integerAxes: Set<String> { Set(ExperimentSettings.parameters.filter(\.integer).map(\.name)) }

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

    /// The metric columns of the job, in file order (the coding keys of its metrics).
    public var metricNames: [String] { metrics.columns.map(\.name) }

    /// Metrics whose values are integers (counts, steps, 0/1 flags), written as JSON integers.
    public var integerMetrics: Set<String> { Set(metrics.columns.filter(\.integer).map(\.name)) }
}

/// One row of the table of a sweep job's settings (`ExperimentSettings.settings`), the one
/// description of the settings: an axis, or a setting recorded beside the axes. The axes and the
/// fixed settings a sweep's files record (`fixedSettings(axes:)`, in table order) both come from it.
public enum SweepSetting: Sendable {
    /// An axis; when it is fixed, it is recorded as its `record` says.
    case axis(SweepParameter)
    /// A setting recorded beside the axes: the fields it records at the settings and the grid's axes.
    case recorded(String, jobs: Set<SweepJob>, fields: @Sendable (ExperimentSettings, _ axes: Set<String>) throws -> [(String, JSONValue)])

    /// A setting recorded under its name: `value` at the settings (nil: not recorded).
    package static func value(_ name: String, jobs: Set<SweepJob>, _ value: @escaping @Sendable (ExperimentSettings) throws -> JSONValue?) -> SweepSetting {
        .recorded(name, jobs: jobs, fields: { s, _ in try value(s).map { [(name, $0)] } ?? [] })
    }

    /// The setting's name (an axis's name; the key, or the first key, the files record it under).
    public var name: String {
        switch self {
        case .axis(let p): return p.name
        case .recorded(let name, _, _): return name
        }
    }

    /// The jobs that have this setting.
    public var jobs: Set<SweepJob> {
        switch self {
        case .axis(let p): return p.jobs
        case .recorded(_, let jobs, _): return jobs
        }
    }

    /// What the sweep's files record of this setting at `s` with these axes.
    func recorded(in s: ExperimentSettings, axes: Set<String>) throws -> [(String, JSONValue)] {
        switch self {
        case .recorded(_, _, let fields): return try fields(s, axes)
        case .axis(let p):
            switch p.record {
            case .never: return []
            case .fields(let fields): return try fields(s, axes)
            case .value, .unlessAxes:
                guard !axes.contains(p.name) else { return [] }
                if case .unlessAxes(let others) = p.record, !axes.isDisjoint(with: others) { return [] }
                return [(p.name, p.field.value(in: s))]
            }
        }
    }
}

/// One axis a sweep can vary: a field of `ExperimentSettings`, named by a key path.
public struct SweepParameter: Sendable {
    /// The field an axis sets.
    public enum Field: Sendable {
        case integer(WritableKeyPath<ExperimentSettings, Int> & Sendable, minimum: Int)
        case unsigned(WritableKeyPath<ExperimentSettings, UInt64> & Sendable)
        case real(WritableKeyPath<ExperimentSettings, Double> & Sendable)
        case rational(WritableKeyPath<ExperimentSettings, Rational?> & Sendable)

        /// The field's value at `s`, as the sweep's files record it.
        func value(in s: ExperimentSettings) -> JSONValue {
            switch self {
            case .integer(let path, _): return .int(s[keyPath: path])
            case .unsigned(let path): return .int(Int(s[keyPath: path]))
            case .real(let path): return .number(s[keyPath: path])
            case .rational(let path): return s[keyPath: path].map { .string($0.description) } ?? .null
            }
        }
    }

    /// How an axis is recorded when it is fixed (not an axis of the grid).
    public enum Record: Sendable {
        /// The field's value under the axis's name.
        case value
        /// Not recorded (a setting that another one determines).
        case never
        /// The field's value, unless one of these axes sets it.
        case unlessAxes(Set<String>)
        /// The fields these give at the settings and the grid's axes.
        case fields(@Sendable (ExperimentSettings, _ axes: Set<String>) throws -> [(String, JSONValue)])
    }

    public let name: String
    public let field: Field
    /// The jobs that have this axis.
    public let jobs: Set<SweepJob>
    /// How the setting is recorded when it is fixed.
    public let record: Record
    /// Why a value of a real axis is refused (nil: it is allowed).
    let refuse: @Sendable (Double) -> String?

    init(_ name: String, _ field: Field, jobs: Set<SweepJob> = Set(SweepJob.allCases), record: Record = .value,
         refuse: @escaping @Sendable (Double) -> String? = { _ in nil }) {
        (self.name, self.field, self.jobs, self.record, self.refuse) = (name, field, jobs, record, refuse)
    }

    /// The axis takes integers.
    public var integer: Bool {
        switch field {
        case .integer, .unsigned: return true
        case .real, .rational: return false
        }
    }

    /// Sets the field to `x`; throws the reason a value is refused.
    public func set(_ x: Double, in s: inout ExperimentSettings, label: String) throws {
        func bad(_ what: String) -> ExperimentError { .point(label: label, reason: what) }
        func integer(min: Int) throws -> Int {
            guard x >= Double(min), x <= 1_000_000_000, x == x.rounded() else { throw bad("\(name) must be an integer from \(min) to 1000000000") }
            return Int(x)
        }
        switch field {
        case .integer(let path, let minimum):
            s[keyPath: path] = try integer(min: minimum)
        case .unsigned(let path):
            s[keyPath: path] = UInt64(try integer(min: 0))
        case .real(let path):
            if let reason = refuse(x) { throw bad(reason) }
            s[keyPath: path] = x
        case .rational(let path):
            guard x > 0, let r = Rational.parse(SweepFormat.number(x)) else { throw bad("\(name) must be positive") }
            s[keyPath: path] = r
        }
    }
}

/// Every setting of one run of a sweep job: the fixed options, overridden at each grid point by the
/// point's axis values (`resolved(at:)`, through the table `parameters`).
public struct ExperimentSettings: Sendable, Codable {
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
    /// The training (jobs `train` and `compare`), from `defaultTraining`. Its task, seed, initial
    /// scale and ranges are not read: `trainingConfig()` takes them from the fields above.
    public var training: TrainingConfig
    /// A fixed flow time for the training jobs: each point trains the fewest steps whose flow time
    /// (its optimizer's time map at its learning rate) reaches it, instead of `training.steps`
    /// (notes/sweeps.md, "Training at a fixed flow time"); nil: `training.steps`.
    public var flowTime: Double?
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

    public init(job: SweepJob, optimizer: OptimizerKind? = nil) {
        self.job = job
        training = Self.defaultTraining(job: job, optimizer: optimizer)
    }

    /// The training of a job before any option: `train` (and the jobs without training): `TrainingRun`'s
    /// defaults (Adam, full parameters, random initialisation); `compare`: `ComparisonRun`'s (SGD on
    /// the reduced model from Assumption 4.1, the learning rate following the optimizer).
    public static func defaultTraining(job: SweepJob, optimizer: OptimizerKind? = nil) -> TrainingConfig {
        // Valid by construction (the default task, no size given).
        try! training(job: job, optimizer: optimizer)
    }

    /// The training of a job with the settings given (nil: the job's default, resolved by
    /// `TrainingRun` or `ComparisonRun`, as `cotflow train` and `cotflow compare` do). Refuses a
    /// setting given to a job that does not train, one that `compare` cannot take, and a size
    /// given that is also one of `axes`.
    public static func training(job: SweepJob, objective: TrainingObjective? = nil, trainable: TrainableSet? = nil,
                                initialisation: InitialisationKind? = nil, optimizer: OptimizerKind? = nil, learningRate: Double? = nil,
                                batchSize: Int? = nil, steps: Int? = nil, recordEvery: Int? = nil, heldOut: Int? = nil,
                                axes: Set<String> = []) throws -> TrainingConfig {
        let kinds = [("--objective", objective != nil), ("--params", trainable != nil), ("--init", initialisation != nil), ("--optimizer", optimizer != nil)]
        let sizes = [("learning_rate", learningRate != nil), ("batch_size", batchSize != nil), ("steps", steps != nil),
                     ("record_every", recordEvery != nil), ("held_out", heldOut != nil)].map { ("--" + $0.0.replacingOccurrences(of: "_", with: "-"), $0.0, $0.1) }
        if job != .train && job != .compare, let flag = (kinds + sizes.map { ($0.0, $0.2) }).first(where: \.1)?.0 {
            throw CotflowError.input("\(flag) applies to --job train and compare, not \(job.rawValue)")
        }
        if job == .compare, (objective.map { $0 != .cot } ?? false) || (initialisation.map { $0 != .assumption } ?? false) {
            throw CotflowError.input("--job compare trains the CoT objective from the Assumption 4.1 point (as `cotflow compare` does): drop --objective and --init")
        }
        for (flag, name, given) in sizes where given && axes.contains(name) { throw CotflowError.input("\(flag) is fixed but \(name) is also an axis; give one") }
        let task = TrainingConfig.defaultTask()
        if job == .compare {
            var c = try ComparisonRun(d: task.d, n: task.n, k: task.k, seed: 0, optimizer: optimizer, learningRate: learningRate,
                                      batchSize: batchSize, steps: steps, recordEvery: recordEvery, heldOut: heldOut).config.training
            if let trainable { c.trainable = trainable }
            return c
        }
        return try TrainingRun(d: task.d, n: task.n, k: task.k, seed: TrainingConfig.defaults(task: task).seed, objective: objective ?? .cot,
                               trainable: trainable, initialisation: initialisation, optimizer: optimizer, learningRate: learningRate,
                               batchSize: batchSize, steps: steps, recordEvery: recordEvery, heldOut: heldOut).config
    }

    /// The step size at this point.
    public var stepSize: Rational { eta ?? paperStepSize(n: n, d: d) }

    /// n / d (the axis `n_over_d`); setting it sets n = round(value x d).
    public var nOverD: Double {
        get { Double(n) / Double(d) }
        set { n = Int((newValue * Double(d)).rounded()) }
    }

    /// The flow's initial (with W24 fixed: held) W24 (the axis `w24_initial`); setting it keeps the mode.
    public var w24Initial: Double {
        get { w24.initial }
        set { w24 = w24.isFree ? .free(initial: newValue) : .fixed(newValue) }
    }

    /// The settings of every job, in the order the sweep's files record them: each axis (name, the
    /// field it sets, its jobs and its values; applied in this order, `n_over_d` after `d`) and each
    /// setting recorded beside the axes. Adding a setting is adding it here.
    public static let settings: [SweepSetting] = {
        let all = Set(SweepJob.allCases), running: Set<SweepJob> = [.flow, .train, .compare], flow: Set<SweepJob> = [.flow],
            training: Set<SweepJob> = [.train, .compare]
        let positive: @Sendable (String) -> @Sendable (Double) -> String? = { name in { $0.isFinite && $0 > 0 ? nil : "\(name) must be positive" } }
        return [
            .axis(SweepParameter("d", .integer(\.d, minimum: 1), jobs: all)),
            .axis(SweepParameter("n", .integer(\.n, minimum: 1), jobs: all, record: .unlessAxes(["n_over_d"]))),
            .axis(SweepParameter("k", .integer(\.k, minimum: 1), jobs: all)),
            // `eta_rule` says where the step size comes from; without a given eta, each point's n and d set
            // it, so it is one number (`eta`, and `eta_exact` exactly) only when neither varies.
            .axis(SweepParameter("eta", .rational(\.eta), jobs: all, record: .fields { s, axes in
                guard !axes.contains("eta") else { return [] }
                return [("eta_rule", .string(s.eta == nil ? "n/(n+d+1)" : "given"))]
                    + (s.eta != nil || axes.isDisjoint(with: ["d", "n", "n_over_d"]) ? etaFields(s.stepSize) : [])
            })),
            .axis(SweepParameter("n_over_d", .real(\.nOverD), jobs: all, record: .never) { $0 > 0 && $0 <= 1e9 ? nil : "n_over_d must be positive" }),
            .axis(SweepParameter("seed", .unsigned(\.seed), jobs: running)),
            .axis(SweepParameter("init_scale", .real(\.initScale), jobs: running, refuse: positive("init_scale"))),
            .value("v_range", jobs: running) { s in s.vRange.map { .numbers([$0.lowerBound, $0.upperBound]) } },
            .value("w_range", jobs: running) { s in s.wRange.map { .numbers([$0.lowerBound, $0.upperBound]) } },
            .value("model", jobs: flow) { _ in .string("reduced gradient flow from Assumption 4.1") },
            .value("w24", jobs: flow) { s in .string(s.w24.isFree ? "free" : "fixed") },
            .axis(SweepParameter("w24_initial", .real(\.w24Initial), jobs: flow) { u in
                w24Range.contains(abs(u)) ? nil : "w24_initial must satisfy 1e-3 <= |W24| <= 1e3 (got \(SweepFormat.number(u)))"
            }),
            .value("stepper", jobs: flow) { s in .string(s.flow.ode.stepper.rawValue) },
            .value("fallback_stepper", jobs: flow) { s in s.fallbackStepper.map { .string($0.rawValue) } ?? .null },
            .axis(SweepParameter("abs_tol", .real(\.flow.ode.absoluteTolerance), jobs: flow, refuse: positive("abs_tol"))),
            .axis(SweepParameter("rel_tol", .real(\.flow.ode.relativeTolerance), jobs: flow, refuse: positive("rel_tol"))),
            .axis(SweepParameter("max_steps", .integer(\.flow.ode.maximumSteps, minimum: 1), jobs: flow)),
            .axis(SweepParameter("t_end", .real(\.flow.ode.endTime), jobs: flow, refuse: positive("t_end"))),
            .axis(SweepParameter("stop_loss", .real(\.flow.stopRelativeLoss), jobs: flow) { $0 >= 0 && $0 < 1 ? nil : "stop_loss must be in [0, 1)" }),
            .axis(SweepParameter("points", .integer(\.points, minimum: 2), jobs: flow)),
            .value("exact_eval_loss_max_k", jobs: flow) { _ in .int(exactMaximumK) },
            .value("objective", jobs: training) { s in .string(try s.trainingConfig().objective.rawValue) },
            .value("params", jobs: training) { s in .string(try s.trainingConfig().trainable.rawValue) },
            .value("init", jobs: training) { s in .string(try s.trainingConfig().initialisation.rawValue) },
            .recorded("optimizer", jobs: training, fields: { s, _ in try s.trainingConfig().optimizer.settings }),
            .axis(SweepParameter("learning_rate", .real(\.training.learningRate), jobs: training, refuse: positive("learning_rate"))),
            .axis(SweepParameter("batch_size", .integer(\.training.batchSize, minimum: 1), jobs: training)),
            .value("flow_time", jobs: training) { s in s.flowTime.map(JSONValue.number) },
            // With a flow time, each point's steps follow its learning rate: one number only when that is fixed.
            .axis(SweepParameter("steps", .integer(\.training.steps, minimum: 0), jobs: training, record: .fields { s, axes in
                axes.contains(s.flowTime == nil ? "steps" : "learning_rate") ? [] : [("steps", .int(try s.trainingConfig().steps))]
            })),
            .axis(SweepParameter("record_every", .integer(\.training.recordEvery, minimum: 1), jobs: training)),
            .axis(SweepParameter("held_out", .integer(\.training.heldOutSize, minimum: 1), jobs: training)),
            .value("stepper", jobs: [.compare]) { s in .string(s.flow.ode.stepper.rawValue) },
            .value("follow_tolerance", jobs: [.compare]) { _ in .number(CompareMetrics.followTolerance) },
            .value("quantity", jobs: [.exact]) { _ in .string("E||w_k - w*||^2 of k exact GD steps") },
            .value("exact_max_k", jobs: [.exact]) { _ in .int(exactMaximumK) },
            .value("stall_fraction", jobs: all) { s in .number(s.stallFraction) },
            .value("converged_fraction", jobs: all) { s in .number(s.convergedFraction) },
            .value("construction_tolerance", jobs: all) { s in .number(s.constructionTolerance) },
        ]
    }()

    /// The axes of every job, in table order.
    public static var parameters: [SweepParameter] {
        settings.compactMap { if case .axis(let p) = $0 { return p } else { return nil } }
    }

    /// The parameter of an axis name, nil when no job has it.
    public static func parameter(_ name: String) -> SweepParameter? { parameters.first { $0.name == name } }

    /// Refuses regime thresholds out of range, a W24 outside `w24Range`, and a flow output grid of
    /// fewer than 2 points or ending at t <= 1e-3.
    public func validate() throws {
        guard stallFraction > 0, stallFraction <= 1, convergedFraction > 0, convergedFraction < 1, constructionTolerance > 0, constructionTolerance.isFinite else {
            throw CotflowError.input("--stall-fraction must be in (0, 1], --converged-fraction in (0, 1) and --construction-tolerance a positive finite number")
        }
        guard w24.initial.isFinite, Self.w24Range.contains(abs(w24.initial)) else {
            throw CotflowError.input("--w24-initial must be a number with 1e-3 <= |W24| <= 1e3 (got \(w24.initial)); the paper's value is -1")
        }
        guard points >= 2, 1e-3 < flow.ode.endTime else { throw CotflowError.input("--points must be at least 2 and --t-end above 1e-3") }
        try AssumptionInitialisation.check(scale: initScale)
        if job == .flow || job == .compare { try flow.validate() }
        if let flowTime {
            guard job == .train || job == .compare else { throw CotflowError.input("--flow-time applies to --job train and compare, not \(job.rawValue)") }
            guard flowTime.isFinite, flowTime > 0 else { throw CotflowError.input("--flow-time must be a positive number (got \(flowTime))") }
            guard training.optimizer.hasTimeMap else {
                throw CotflowError.input("--flow-time needs an optimizer with a time map (sgd, momentum): \(training.optimizer.name) has none, so its steps have no flow time")
            }
        }
    }

    /// Refuses axes that clash with each other or with a fixed setting (`eta`, the ranges).
    public func checkAxes(_ names: Set<String>) throws {
        func refuse(_ text: String) -> CotflowError { CotflowError.input(text) }
        let ordered = names.subtracting(["seed"])
        if ordered.count > 3 {
            throw refuse("at most 3 axes besides the replicate axis seed (got \(ordered.count): \(ordered.sorted().joined(separator: ", ")))")
        }
        if names.contains("n"), names.contains("n_over_d") { throw refuse("vary n or n_over_d, not both") }
        if names.contains("init_scale"), vRange != nil || wRange != nil {
            throw refuse("an init_scale axis cannot be combined with --v-range or --w-range")
        }
        if names.contains("eta"), eta != nil { throw refuse("--eta is fixed but eta is also an axis; give one") }
        if names.contains("steps"), flowTime != nil { throw refuse("--flow-time sets each point's steps, so steps cannot also be an axis; give one") }
        // The axis and the metric would be one column of the sweep's tables (the flow's t_end is when it stopped).
        if let clash = names.intersection(job.metricNames).sorted().first {
            throw refuse("\(clash) is a metric of --job \(job.rawValue) (measured at each point) and cannot also be an axis of it")
        }
    }

    /// The settings at a grid point (the point's values replace the fixed ones).
    public func resolved(at point: SweepPoint) throws -> ExperimentSettings {
        var s = self
        func bad(_ what: String) -> ExperimentError { .point(label: point.label, reason: what) }
        for parameter in Self.parameters {
            guard let x = point[parameter.name] else { continue }
            guard parameter.jobs.contains(job) else { throw bad(job.refusal(axis: parameter.name) ?? "\(parameter.name) is not an axis of this job") }
            try parameter.set(x, in: &s, label: point.label)
        }
        if point["n_over_d"] != nil, s.n < 1 { throw bad("n = round(n_over_d x d) = 0; n must be at least 1") }
        if s.job == .exact, s.k > Self.exactMaximumK { throw bad("k = \(s.k) is above the exact limit k <= \(Self.exactMaximumK) (2k Wishart moments)") }
        if s.job == .train || s.job == .compare { try s.trainingConfig().validate() }
        return s
    }

    /// The Assumption 4.1 starting point.
    var start: AssumptionInitialisation {
        let defaults = AssumptionInitialisation.defaultRanges(scale: initScale)
        return AssumptionInitialisation(d: d, seed: seed, vRange: vRange ?? defaults.v, wRange: wRange ?? defaults.w)
    }

    /// The settings held fixed across a grid with these axes, as recorded in the sweep's files: the
    /// job, then each setting of `table` of this job that is not an axis, in table order, keyed by
    /// option name (`_` for `-`), integers as JSON integers, numbers as floats.
    public func fixedSettings(axes: Set<String>, table: [SweepSetting] = ExperimentSettings.settings) throws -> [(String, JSONValue)] {
        try [("job", .string(job.rawValue))] + table.filter { $0.jobs.contains(job) }.flatMap { try $0.recorded(in: self, axes: axes) }
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

    /// The training configuration of the `train` or `compare` job at these settings: `training`
    /// with this run's task, seed, initial scale and ranges.
    public func trainingConfig() throws -> TrainingConfig {
        var c = training
        c.task = try TaskConfig(d: d, n: n, k: k, eta: stepSize.doubleValue)
        c.seed = seed
        let defaults = AssumptionInitialisation.defaultRanges(scale: initScale)
        c.initScale = initScale
        c.vRange = vRange ?? defaults.v
        c.wRange = wRange ?? defaults.w
        if let flowTime { c.steps = try c.optimizer.steps(toFlowTime: flowTime, learningRate: c.learningRate) }
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

    /// Runs the job at a grid point and returns its metric row (a sweep's `run`). A signal
    /// (`Interruption`) received before or during the point stops the sweep (`SweepInterrupted`):
    /// a point cut short by it is not recorded (a flow or a training run stops at its next step).
    public func run(_ point: SweepPoint) throws -> [String: Double] {
        func stopIfRequested() throws {
            // Finished points stay in the shard files.
            if Interruption.requested {
                throw SweepInterrupted("\(Interruption.signalName) received; the finished points are kept, rerun with --resume to run the rest")
            }
        }
        if Interruption.requested(at: "sweep") { try stopIfRequested() }
        let s = try resolved(at: point)
        let row: [String: Double]
        do {
            row = try s.measure().row
        } catch let failure as FlowFailure {
            try stopIfRequested()
            var partial = FlowMetrics(failure.partial, eta: s.stepSize.doubleValue)
            partial.converged = false
            throw SweepPointFailure("flow failed: \(failure.reason)", metrics: partial.row)
        } catch {
            try stopIfRequested()
            throw error
        }
        try stopIfRequested()
        return row
    }
}

/// The metrics of one run of a job, typed: its columns are the coding keys (`SweepMetricRow`),
/// and its regime rule lives with it.
public protocol SweepMetrics: SweepMetricRow {
    /// The regime of a run with these metrics under the thresholds of `settings`.
    func regime(_ settings: ExperimentSettings) -> RunRegime
    /// The rule of `regime`, in words; `w24Varies`: W24 is free or an axis (the construction is up to its gauge).
    static func regimeRule(_ settings: ExperimentSettings, w24Varies: Bool) -> String
    /// Columns that are times of a stage boundary or transition (candidates for scaling fits).
    static var timeColumns: [String] { get }
    /// Columns that describe the solver or are set by a stopping rule, not the model: never findings.
    static var diagnosticColumns: Set<String> { get }
    /// The regimes `regime(_:)` gives (the report's legend).
    static var regimes: [Regime] { get }
}

extension SweepMetrics {
    /// The regimes of a run's outcome (every job but compare).
    public static var regimes: [Regime] { [.converged, .convergedElsewhere, .unfinished, .stalled, .diverged, .failed] }
}

extension SweepMetricRow {
    /// The column names, in file order.
    public static var names: [String] { columns.map(\.name) }
}

/// "final loss 0.3 of its start (stalled above 0.5)" and the like: the regime of a run whose loss
/// ended at `ratio` of its start, with `converged` deciding a convergence first.
private func lossRegime(ratio: Double, stall: Double, what: String, converged: (() -> RunRegime)?, unfinished: String) -> RunRegime {
    if let converged { return converged() }
    if !(ratio <= stall) {
        return RunRegime(regime: .stalled, detail: "\(what) \(compactNumber(ratio)) of its start (stalled above \(compactNumber(stall)))")
    }
    return RunRegime(regime: .unfinished, detail: unfinished)
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
    enum CodingKeys: String, CodingKey, CaseIterable {
        case initialLoss = "initial_loss", finalLoss = "final_loss", tEnd = "t_end", converged, steps
        case tLossHalf = "t_loss_half", tLoss1e3 = "t_loss_1e-3", exactEvalLoss = "exact_eval_loss"
        case plateauEnd = "plateau_end", productReached = "product_reached", exponentialStart = "exponential_start", stageCount = "stage_count"
        case distanceToConstruction = "distance_to_construction", w24
    }

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

    public static var timeColumns: [String] {
        [CodingKeys.tLossHalf, .tLoss1e3, .plateauEnd, .productReached, .exponentialStart].map(\.stringValue)
    }
    public static var diagnosticColumns: Set<String> {
        Set([CodingKeys.finalLoss, .tEnd, .steps, .converged, .stageCount, .distanceToConstruction, .w24].map(\.stringValue))
    }

    public func regime(_ settings: ExperimentSettings) -> RunRegime {
        let ratio = finalLoss / initialLoss, distance = distanceToConstruction
        return lossRegime(ratio: ratio, stall: settings.stallFraction, what: "final loss", converged: converged ? {
            // A sweep file without the distance (written before it was recorded) is not judged on it.
            RunRegime(regime: distance > settings.constructionTolerance ? .convergedElsewhere : .converged,
                      detail: "flow met its stopping loss" + (distance.isNaN ? "" : "; distance to the construction \(compactNumber(distance))"))
        } : nil, unfinished: "final loss \(compactNumber(ratio)) of its start at t = \(compactNumber(tEnd))")
    }

    public static func regimeRule(_ settings: ExperimentSettings, w24Varies: Bool) -> String {
        let gauge = w24Varies ? " up to W24's gauge (v = eta/W24, w = -W24)" : ""
        return "converged: the flow met its stopping loss within \(compactNumber(settings.constructionTolerance)) of the construction\(gauge) (else converged-elsewhere); stalled: final loss above \(compactNumber(settings.stallFraction)) of its start; unfinished: between"
    }

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
}

/// One training run.
public struct TrainMetrics: SweepMetrics {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case initialCoTLoss = "initial_cot_loss", finalCoTLoss = "final_cot_loss", evalMean = "eval_loss_mean", evalMedian = "eval_loss_median"
        case evalTopPercentShare = "eval_loss_top1pct_share", divergedStep = "diverged_step", distanceToConstruction = "distance_to_construction", w24
        case plateauEnd = "plateau_end", productReached = "product_reached", exponentialStart = "exponential_start", stageCount = "stage_count"
        case tEnd = "t_end", flowPlateauEnd = "flow_plateau_end"
    }

    public var initialCoTLoss: Double
    /// The final values: nil (empty cells) for a diverged run, which has none (not its last record's).
    public var finalCoTLoss: Double?
    public var evalMean: Double?, evalMedian: Double?, evalTopPercentShare: Double?
    /// The optimizer step at which training diverged, nil when it did not.
    public var divergedStep: Int?
    /// Relative distance of (-W24) V31 from -eta I and of W13 / (-W24) from I (the larger); nil when diverged.
    public var distanceToConstruction: Double?
    public var w24: Double?
    public var plateauEnd: Double?, productReached: Double?, exponentialStart: Double?
    public var stageCount: Int?
    /// Flow time the run reached (its optimizer's time map; nil without one).
    public var tEnd: Double?
    /// For a stalled run from the Assumption 4.1 point with a time map: the plateau end of the
    /// reduced flow from that point (nil otherwise), to tell a run stopped on the plateau from a stall.
    public var flowPlateauEnd: Double?

    public static var timeColumns: [String] {
        [CodingKeys.divergedStep, .plateauEnd, .productReached, .exponentialStart].map(\.stringValue)
    }
    public static var diagnosticColumns: Set<String> { Set([CodingKeys.divergedStep, .stageCount, .tEnd, .flowPlateauEnd].map(\.stringValue)) }

    public func regime(_ settings: ExperimentSettings) -> RunRegime {
        if let divergedStep { return RunRegime(regime: .diverged, detail: "diverged at step \(divergedStep)", divergedStep: divergedStep) }
        let ratio = (finalCoTLoss ?? .nan) / initialCoTLoss, distance = distanceToConstruction ?? .nan
        let converged: (() -> RunRegime)? = ratio <= settings.convergedFraction ? {
            RunRegime(regime: distance > settings.constructionTolerance ? .convergedElsewhere : .converged,
                      detail: "final CoT loss \(compactNumber(ratio)) of its start, \(compactNumber(distance)) from the construction")
        } : nil
        let regime = lossRegime(ratio: ratio, stall: settings.stallFraction, what: "final CoT loss", converged: converged,
                                unfinished: "final CoT loss \(compactNumber(ratio)) of its start, \(compactNumber(distance)) from the construction")
        if regime.regime == .stalled, let tEnd, let flowPlateauEnd, tEnd < flowPlateauEnd {
            return RunRegime(regime: .stalled, detail: regime.detail + "; it ended at t = \(compactNumber(tEnd)), before the flow's plateau end t = "
                + "\(compactNumber(flowPlateauEnd)): still on the plateau, not stuck (train to a later flow time, --flow-time)")
        }
        return regime
    }

    /// True when the run ended on the flow's plateau (stalled, before the plateau end).
    public func endedBeforePlateauEnd(_ settings: ExperimentSettings) -> Bool {
        guard let tEnd, let flowPlateauEnd else { return false }
        return regime(settings).regime == .stalled && tEnd < flowPlateauEnd
    }

    public static func regimeRule(_ settings: ExperimentSettings, w24Varies: Bool) -> String {
        "converged: final CoT loss at most \(compactNumber(settings.convergedFraction)) of its start and within \(compactNumber(settings.constructionTolerance)) of the construction up to W24's gauge (else converged-elsewhere); stalled: above \(compactNumber(settings.stallFraction)) of its start; unfinished: between"
    }

    init(_ r: TrainingResult, config: TrainingConfig) {
        let cot = r.trajectory.cotLossMeans
        initialCoTLoss = cot.first ?? .nan
        finalCoTLoss = r.heldOutCoT?.mean
        evalMean = r.heldOutEval?.mean
        evalMedian = r.heldOutEval?.median
        evalTopPercentShare = r.heldOutEval?.topPercentShare
        if case .diverged(let step, _) = r.status { divergedStep = step }
        if divergedStep == nil {
            let mass = WeightMass(r.parameters, eta: config.task.eta)
            distanceToConstruction = max(mass.vDeviation, mass.wDeviation)
            w24 = r.parameters.W24
            let t = r.trajectory
            let stages = StageMetrics.stages(times: t.times, losses: cot, v: t.vDiagonals, w: t.wDiagonals, eta: config.task.eta)
            plateauEnd = stages.plateauEnd
            productReached = stages.productReached
            exponentialStart = stages.exponentialStart
            stageCount = stages.stageCount
        }
        tEnd = config.optimizer.hasTimeMap ? r.lastRecord?.time : nil
    }

    static func measure(_ s: ExperimentSettings) throws -> TrainMetrics {
        let config = try s.trainingConfig()
        let result = try Trainer(config: config).run()
        try stopIfInterrupted(result)
        var metrics = TrainMetrics(result, config: config)
        try metrics.measureFlowPlateau(s)
        return metrics
    }

    /// For a stalled run from the Assumption 4.1 point with a time map: the reduced flow's plateau
    /// end from the same point (one flow, integrated only for such runs).
    mutating func measureFlowPlateau(_ s: ExperimentSettings) throws {
        guard regime(s).regime == .stalled, tEnd != nil, s.training.initialisation == .assumption else { return }
        var flowSettings = s
        flowSettings.job = .flow
        flowPlateauEnd = try FlowMetrics.measure(flowSettings).plateauEnd
    }
}

/// A training run that a signal stopped is no result: the sweep stops (the point is not recorded).
private func stopIfInterrupted(_ result: TrainingResult) throws {
    if case .interrupted(let step, let signal) = result.status {
        throw SweepInterrupted("\(signal) received at step \(step) of a training run; the finished points are kept, rerun with --resume to run the rest")
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
    /// The validity-map columns (the first correction and the noise diagnostics along the flow).
    public var validity = ValidityMetrics()

    /// A run follows the flow when its largest relative loss deviation from it is at most this.
    public static let followTolerance = 0.05

    enum CodingKeys: String, CodingKey, CaseIterable {
        case flowFinalLoss = "flow_final_loss", maxRelativeLossDeviation = "max_rel_loss_deviation"
        case maxEigenvalueDeviation = "max_eigenvalue_deviation", sameMechanisticStages = "same_stages"
        case maxBoundaryDifference = "max_boundary_difference"
    }

    /// The training's columns, then the comparison's.
    public init(from decoder: Decoder) throws {
        training = try TrainMetrics(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        flowFinalLoss = try c.decode(Double.self, forKey: .flowFinalLoss)
        maxRelativeLossDeviation = try c.decodeIfPresent(Double.self, forKey: .maxRelativeLossDeviation)
        maxEigenvalueDeviation = try c.decodeIfPresent(Double.self, forKey: .maxEigenvalueDeviation)
        sameMechanisticStages = try c.decodeIfPresent(Bool.self, forKey: .sameMechanisticStages)
        maxBoundaryDifference = try c.decodeIfPresent(Double.self, forKey: .maxBoundaryDifference)
        validity = try ValidityMetrics(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        try training.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flowFinalLoss, forKey: .flowFinalLoss)
        try c.encodeIfPresent(maxRelativeLossDeviation, forKey: .maxRelativeLossDeviation)
        try c.encodeIfPresent(maxEigenvalueDeviation, forKey: .maxEigenvalueDeviation)
        try c.encodeIfPresent(sameMechanisticStages, forKey: .sameMechanisticStages)
        try c.encodeIfPresent(maxBoundaryDifference, forKey: .maxBoundaryDifference)
        try validity.encode(to: encoder)
    }

    init(training: TrainMetrics, flowFinalLoss: Double, maxRelativeLossDeviation: Double?, maxEigenvalueDeviation: Double?,
         sameMechanisticStages: Bool?, maxBoundaryDifference: Double?, validity: ValidityMetrics = ValidityMetrics()) {
        self.training = training
        self.flowFinalLoss = flowFinalLoss
        self.maxRelativeLossDeviation = maxRelativeLossDeviation
        self.maxEigenvalueDeviation = maxEigenvalueDeviation
        self.sameMechanisticStages = sameMechanisticStages
        self.maxBoundaryDifference = maxBoundaryDifference
        self.validity = validity
    }

    public static var timeColumns: [String] { TrainMetrics.timeColumns }
    public static var diagnosticColumns: Set<String> {
        // The tail index's standard error describes the estimate; overflowed records the held-out set.
        TrainMetrics.diagnosticColumns.union([ValidityMetrics.CodingKeys.heldOutOverflowedRecords, .gradientTailIndexError].map(\.stringValue))
    }
    public static var regimes: [Regime] { [.follows, .doesNotFollow] + TrainMetrics.regimes }
    /// Whether training follows the flow (within `followTolerance`); a diverged run is diverged;
    /// without a measured deviation (Adam: no time map) the training's regime.
    public func regime(_ settings: ExperimentSettings) -> RunRegime {
        if training.divergedStep != nil { return training.regime(settings) }
        return validity.regime(deviation: maxRelativeLossDeviation, tolerance: Self.followTolerance, optimizer: settings.training.optimizer.prose)
            ?? training.regime(settings)
    }
    public static func regimeRule(_ settings: ExperimentSettings, w24Varies: Bool) -> String {
        "follows: training's largest relative loss deviation from the flow is at most \(compactNumber(followTolerance)); does-not-follow: above it, "
            + "or the held-out CoT loss has no mean where the flow's is finite; diverged: training diverged; without a deviation (no time map) the training's regime ("
            + TrainMetrics.regimeRule(settings, w24Varies: w24Varies) + ")"
    }

    static func measure(_ s: ExperimentSettings) throws -> CompareMetrics {
        let t = try s.trainingConfig()
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
            try stopIfInterrupted(result)
            guard case .diverged = result.status else { throw error }
            return CompareMetrics(training: TrainMetrics(result, config: t), flowFinalLoss: .nan, maxRelativeLossDeviation: nil,
                                  maxEigenvalueDeviation: nil, sameMechanisticStages: nil, maxBoundaryDifference: nil)
        }
        let run = comparison.runs[0]
        try stopIfInterrupted(run.result)
        let agreement = run.mechanisticAgreement
        let training = TrainMetrics(run.result, config: t)
        return CompareMetrics(training: training, flowFinalLoss: comparison.flow?.finalLoss ?? .nan,
                              maxRelativeLossDeviation: run.maxRelativeLossDeviation, maxEigenvalueDeviation: run.maxEigenvalueDeviation,
                              sameMechanisticStages: agreement?.sameStages, maxBoundaryDifference: agreement?.maxRelativeBoundaryDifference,
                              validity: ValidityMetrics(run))
    }
}

/// The exact evaluation loss E||w_k - w*||^2 of k GD steps from w_0 = 0 (start: E||w*||^2 = d).
public struct ExactMetrics: SweepMetrics {
    public var evalLoss: Double
    /// The loss at k - 1 steps (d at k = 1).
    public var previousLoss: Double
    public var relativeLoss: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case evalLoss = "exact_eval_loss", previousLoss = "exact_eval_loss_previous_k", relativeLoss = "relative_to_start"
    }

    public static var timeColumns: [String] { [] }
    public static var diagnosticColumns: Set<String> { [] }

    public func regime(_ settings: ExperimentSettings) -> RunRegime {
        if evalLoss > previousLoss {
            return RunRegime(regime: .diverged, detail: "the mean grows with k (\(compactNumber(previousLoss)) -> \(compactNumber(evalLoss)))")
        }
        let detail = "loss \(compactNumber(relativeLoss)) of its start d"
        if relativeLoss <= settings.convergedFraction { return RunRegime(regime: .converged, detail: detail) }
        return RunRegime(regime: !(relativeLoss <= settings.stallFraction) ? .stalled : .unfinished, detail: detail)
    }

    public static func regimeRule(_ settings: ExperimentSettings, w24Varies: Bool) -> String {
        "diverged: the mean grows with k; converged: at most \(compactNumber(settings.convergedFraction)) of d; stalled: above \(compactNumber(settings.stallFraction)) of d; unfinished: between"
    }

    static func measure(_ s: ExperimentSettings) -> ExactMetrics {
        let eta = s.stepSize
        let loss = gdChainLoss(n: s.n, d: s.d, k: s.k, eta: eta).doubleValue
        let previous = s.k > 1 ? gdChainLoss(n: s.n, d: s.d, k: s.k - 1, eta: eta).doubleValue : Double(s.d)
        return ExactMetrics(evalLoss: loss, previousLoss: previous, relativeLoss: loss / Double(s.d))
    }
}
