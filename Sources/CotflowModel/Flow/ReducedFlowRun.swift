import CotflowExact
import CotflowCore
import Foundation


/// The reduced gradient flow as a value (`cotflow ode`): the task, the start and the solver
/// settings. Building it resolves every default; nothing runs until `solve`.
public struct ReducedFlowRun: RecordableRun, TaskRun {
    public static let computation = "ode"

    public var d, n, k: Int
    /// The GD step size, exact.
    public var eta: Rational
    public var seed: UInt64
    /// The Assumption 4.1 start of `seed` (scale and ranges), used when `start` is nil.
    public var initScale: Double
    public var vRange, wRange: ClosedRange<Double>
    /// The eigenvalues (v, w) to start from instead of the Assumption 4.1 point.
    public var start: Start?
    public var w24: W24Mode
    public var options: FlowOptions

    /// A start of the flow given by its eigenvalues of V31 (`v`) and W13 (`w`), instead of the
    /// Assumption 4.1 point drawn from the seed.
    public struct Start: Codable, Sendable, Equatable {
        public var v: [Double], w: [Double]
        public init(v: [Double], w: [Double]) { self.v = v; self.w = w }
    }

    /// `eta` nil is the paper's n/(n+d+1); the ranges nil are the Assumption 4.1 ranges of
    /// `initScale`; `options` the flow's defaults with the changes given.
    public init(d: Int, n: Int, k: Int, eta: Rational? = nil, seed: UInt64, initScale: Double = 0.05,
                vRange: ClosedRange<Double>? = nil, wRange: ClosedRange<Double>? = nil, start: Start? = nil,
                w24: W24Mode = .paper, options: FlowOptions = FlowOptions()) {
        let ranges = AssumptionInitialisation.defaultRanges(scale: initScale)
        (self.d, self.n, self.k, self.eta, self.seed) = (d, n, k, eta ?? paperStepSize(n: n, d: d), seed)
        (self.initScale, self.vRange, self.wRange) = (initScale, vRange ?? ranges.v, wRange ?? ranges.w)
        (self.start, self.w24, self.options) = (start, w24, options)
    }

    /// The start: `start`, or the Assumption 4.1 point of `seed` (the one `train --init assumption` uses).
    public var initialPoint: (v: [Double], w: [Double]) {
        if let start { return (start.v, start.w) }
        let a = AssumptionInitialisation(d: d, seed: seed, vRange: vRange, wRange: wRange)
        return (a.v, a.w)
    }

    /// The task's checks (sizes, the exact loss's k).
    func validateTask() throws {
        _ = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        try ReducedLoss.checkSize(k: k)
    }

    /// The task's, the start's and the solver's checks (before any work).
    public func validate() throws {
        try validateTask()
        try AssumptionInitialisation.check(scale: initScale)
        if let start, start.v.count != d || start.w.count != d {
            throw FlowConfigurationError.eigenvalueCount(d: d, v: start.v.count, w: start.w.count)
        }
        if let start, !(start.v + start.w).allSatisfy(\.isFinite) { throw FlowSettingsError("--v and --w must be finite in double precision") }
        let u = w24.initial
        guard u.isFinite, abs(u) >= 1e-3, abs(u) <= 1e3 else { throw FlowSettingsError("--w24-initial must be a number with 1e-3 <= |W24| <= 1e3 (got \(u)); the paper's value is -1") }
        try options.checkStorage(d: d)
        try options.validate()
        try estimate().check(what: "the reduced flow at --d \(d) --n \(n) --k \(k) to --t-end \(fmt(options.ode.endTime))", lower: "--k, --t-end or --max-steps")
    }

    /// Integrates; a failure part-way is a result with status `.failed` and the trajectory so far.
    /// `progress` is told the phases of `estimate()`: the exact reduced loss (moment degrees, with
    /// their share of its work) and the flow (accepted steps against the estimated steps).
    public func solve(progress: ((ProgressReport) -> Void)? = nil) throws -> ReducedFlowOutcome {
        try validate()
        let started = Date()
        let flow = ReducedFlow(loss: try ReducedLoss.shared(n: n, d: d, k: k, eta: eta, progress: progress), w24: w24)
        let (v, w) = initialPoint
        let trajectory: FlowTrajectory
        var failure: String?
        let expected = progress == nil ? 0 : Int(min(estimate().phases.last?.steps ?? 1, 1e15))
        do {
            trajectory = try flow.integrate(v0: v, w0: w, options: options, progress: progress.map { report in { steps, t in
                report(ProgressReport(phase: Self.flowPhaseName, done: steps, total: expected, unit: "steps", detail: "t = \(fmt(t))"))
            } })
        } catch let error as FlowFailure {
            trajectory = error.partial
            failure = error.reason.description
        }
        return ReducedFlowOutcome(run: self, trajectory: trajectory, seconds: Date().timeIntervalSince(started), failure: failure)
    }
}

/// A solved reduced flow: its trajectory, status and the metrics summary.json records.
public struct ReducedFlowOutcome: Sendable {
    public let run: ReducedFlowRun
    public let trajectory: FlowTrajectory
    public let metrics: ReducedFlowMetrics
    public let status: RunStatus

    public init(run: ReducedFlowRun, trajectory t: FlowTrajectory, seconds: Double, failure: String?) {
        (self.run, trajectory) = (run, t)
        metrics = ReducedFlowMetrics(run: run, trajectory: t, seconds: seconds, failure: failure)
        status = metrics.status
    }

    /// The report `cotflow ode` prints; `out` the directory written, if any, `plotted` with figure.*.
    public func report(out: String?, plotted: Bool) -> String {
        let t = trajectory, s = t.statistics, eta = run.eta, w24Initial = run.w24.initial
        var failed = false
        if case .failed = status { failed = true }
        let v = t.v.last ?? [], w = t.w.last ?? []
        var lines = [
            "reduced gradient flow\(t.w24.isFree ? " with W24 free" : ""), (d, n, k) = (\(run.d), \(run.n), \(run.k)), eta = \(eta) = \(fmt(eta.doubleValue)), stepper \(StepperReport.text(t.phases, stepper: run.options.ode.stepper))",
            "loss \(fmt(t.losses.first ?? .nan)) at t = 0 -> \(fmt(t.finalLoss)) at t = \(fmt(t.finalTime))"
                + (t.converged ? " (converged)" : !failed ? " (\(t.stopReason))" : ""),
            "v in [\(fmt(v.min() ?? .nan)), \(fmt(v.max() ?? .nan))], w in [\(fmt(w.min() ?? .nan)), \(fmt(w.max() ?? .nan))]"
                + (t.w24.isFree ? "" : " (construction: v = eta/W24 = \(fmt(eta.doubleValue / w24Initial)), w = -W24 = \(fmt(-w24Initial)))"),
            "\(s.acceptedSteps) steps, \(s.failedSteps) rejected, \(s.rhsEvaluations) right-hand sides, \(s.jacobianEvaluations) Jacobians, \(String(format: "%.2f", metrics.seconds)) s",
        ]
        lines += W24Report.lines(t)
        if let out { lines.append("wrote \(out)/trajectory.csv and \(out)/summary.json" + (plotted ? " and figure.*" : "")) }
        return lines.joined(separator: "\n")
    }
}

/// What summary.json records of a reduced flow besides the run: the task again (for readers of
/// the file), the loss and end point, why it stopped, the solver's work and, with W24 free, the
/// zero-loss family member.
public struct ReducedFlowMetrics: Codable, Sendable {
    public var task: TaskRecord
    public var stepper: Stepper
    public var initialLoss, finalLoss, tEnd: Double
    public var converged: Bool
    /// "failed: ..." for a run that failed part-way.
    public var stopReason: String
    /// The outcome as `train` and `compare` record it (`status`, and `failure` for a failed run):
    /// converged, completed (stopped otherwise) or failed. `converged` and `stop_reason` say the same in detail.
    public var status: RunStatus {
        FlowStopRecord.status(reason: stopReason, converged: converged)
    }
    public var steps, failedSteps, rhsEvals, jacobianEvals: Int
    public var seconds: Double
    public var v0, w0, v, w: [Double]
    public var maxAbsVPlusEta, maxAbsWMinus1: Double
    /// "fixed" or "free".
    public var w24Mode: String
    public var w24Initial, w24: Double
    /// With `--stepper auto`: the steppers that ran (nil for a forced stepper).
    public var steppersRun: SteppersRun?
    public var conservedQuantityStart, conservedQuantityEnd: Double?
    public var familyMember: FamilyMember?

    /// With W24 free: the member (u, eta/u, -u) of the family of global minima the flow reached,
    /// the one its conserved quantity predicts, and the largest distance of the end point from it.
    public struct FamilyMember: Codable, Sendable {
        public var u, v, w, predictedU, maxDistance: Double
        public var reached: Bool
        private enum CodingKeys: String, CodingKey { case u, v, w, predictedU = "predicted_u", maxDistance = "max_distance", reached }
    }

    public init(run: ReducedFlowRun, trajectory t: FlowTrajectory, seconds: Double, failure: String?) {
        let s = t.statistics, eta = run.eta.doubleValue
        (task, stepper) = (TaskRecord(run), run.options.ode.stepper)
        (initialLoss, finalLoss, tEnd, converged) = (t.losses.first ?? .nan, t.finalLoss, t.finalTime, t.converged)
        stopReason = FlowStopRecord.reason(t.stopReason, failure: failure)
        (steps, failedSteps, rhsEvals, jacobianEvals) = (s.acceptedSteps, s.failedSteps, s.rhsEvaluations, s.jacobianEvaluations)
        self.seconds = seconds
        (v0, w0, v, w) = (t.v.first ?? [], t.w.first ?? [], t.v.last ?? [], t.w.last ?? [])
        maxAbsVPlusEta = v.map { abs($0 + eta) }.max() ?? .nan
        maxAbsWMinus1 = w.map { abs($0 - 1) }.max() ?? .nan
        (w24Mode, w24Initial, w24) = (run.w24.isFree ? "free" : "fixed", run.w24.initial, t.u.last ?? .nan)
        steppersRun = StepperReport.record(t.phases, stepper: stepper)
        if let f = W24Report.family(t) {
            (conservedQuantityStart, conservedQuantityEnd) = (f.conservedStart, f.conservedEnd)
            familyMember = FamilyMember(u: f.reachedU, v: t.eta / f.reachedU, w: -f.reachedU, predictedU: f.predictedU,
                                        maxDistance: f.distance, reached: t.converged)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case stepper, initialLoss = "initial_loss", finalLoss = "final_loss"
        case tEnd = "t_end", converged, stopReason = "stop_reason", steps, failedSteps = "failed_steps", rhsEvals = "rhs_evals"
        case jacobianEvals = "jacobian_evals", seconds, v0, w0, v, w, maxAbsVPlusEta = "max_abs_v_plus_eta", maxAbsWMinus1 = "max_abs_w_minus_1"
        case w24Mode = "w24_mode", w24Initial = "w24_initial", w24
        case conservedQuantityStart = "conserved_quantity_start", conservedQuantityEnd = "conserved_quantity_end", familyMember = "family_member"
    }

    public init(from decoder: Decoder) throws {
        task = try TaskRecord(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys) throws -> T { try c.decode(T.self, forKey: key) }
        func optional<T: Decodable>(_ key: CodingKeys) throws -> T? { try c.decodeIfPresent(T.self, forKey: key) }
        (stepper, initialLoss, finalLoss, tEnd, converged, stopReason) = (try get(.stepper), try get(.initialLoss), try get(.finalLoss), try get(.tEnd), try get(.converged), try get(.stopReason))
        (steps, failedSteps, rhsEvals, jacobianEvals, seconds) = (try get(.steps), try get(.failedSteps), try get(.rhsEvals), try get(.jacobianEvals), try get(.seconds))
        (v0, w0, v, w, maxAbsVPlusEta, maxAbsWMinus1) = (try get(.v0), try get(.w0), try get(.v), try get(.w), try get(.maxAbsVPlusEta), try get(.maxAbsWMinus1))
        (w24Mode, w24Initial, w24, steppersRun) = (try get(.w24Mode), try get(.w24Initial), try get(.w24), try SteppersRun.decodeIfPresent(from: decoder))
        (conservedQuantityStart, conservedQuantityEnd, familyMember) = (try optional(.conservedQuantityStart), try optional(.conservedQuantityEnd), try optional(.familyMember))
    }

    // As the synthesized encoding, except that the W24 family is absent (not null) with W24 fixed.
    public func encode(to encoder: Encoder) throws {
        try task.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stepper, forKey: .stepper)
        try c.encode(initialLoss, forKey: .initialLoss); try c.encode(finalLoss, forKey: .finalLoss); try c.encode(tEnd, forKey: .tEnd)
        try c.encode(converged, forKey: .converged); try c.encode(stopReason, forKey: .stopReason); try c.encode(steps, forKey: .steps)
        try status.encode(to: encoder)
        try c.encode(failedSteps, forKey: .failedSteps); try c.encode(rhsEvals, forKey: .rhsEvals); try c.encode(jacobianEvals, forKey: .jacobianEvals)
        try c.encode(seconds, forKey: .seconds); try c.encode(v0, forKey: .v0); try c.encode(w0, forKey: .w0); try c.encode(v, forKey: .v)
        try c.encode(w, forKey: .w); try c.encode(maxAbsVPlusEta, forKey: .maxAbsVPlusEta); try c.encode(maxAbsWMinus1, forKey: .maxAbsWMinus1)
        try c.encode(w24Mode, forKey: .w24Mode); try c.encode(w24Initial, forKey: .w24Initial); try c.encode(w24, forKey: .w24)
        try steppersRun?.encode(to: encoder)
        if let familyMember, let conservedQuantityStart, let conservedQuantityEnd {
            try c.encode(conservedQuantityStart, forKey: .conservedQuantityStart); try c.encode(conservedQuantityEnd, forKey: .conservedQuantityEnd)
            try c.encode(familyMember, forKey: .familyMember)
        }
    }
}
