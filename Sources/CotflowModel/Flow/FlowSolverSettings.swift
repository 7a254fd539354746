import CotflowCore

/// A flow's solver settings as given, nil where not given: `options(over:)` puts them over the
/// defaults of the flow that runs (the reduced flow's `FlowOptions()`, the full-matrix flow's
/// `FullMatrixFlow.defaultOptions`), so that a value equal to the other flow's default is still a
/// value given.
public struct FlowSolverSettings: Sendable {
    public var stepper: Stepper?
    public var absoluteTolerance, relativeTolerance, endTime, stopRelativeLoss, stopStall, minimumStep, initialStep: Double?
    public var maximumSteps: Int?
    public var grid: OutputGrid?

    public init(stepper: Stepper? = nil, absoluteTolerance: Double? = nil, relativeTolerance: Double? = nil, endTime: Double? = nil,
                maximumSteps: Int? = nil, stopRelativeLoss: Double? = nil, stopStall: Double? = nil, minimumStep: Double? = nil,
                initialStep: Double? = nil, grid: OutputGrid? = nil) {
        (self.stepper, self.absoluteTolerance, self.relativeTolerance, self.endTime) = (stepper, absoluteTolerance, relativeTolerance, endTime)
        (self.maximumSteps, self.stopRelativeLoss, self.stopStall) = (maximumSteps, stopRelativeLoss, stopStall)
        (self.minimumStep, self.initialStep, self.grid) = (minimumStep, initialStep, grid)
    }

    /// These settings over `defaults`.
    public func options(over defaults: FlowOptions) -> FlowOptions {
        var o = defaults
        o.ode.stepper = stepper ?? o.ode.stepper
        o.ode.absoluteTolerance = absoluteTolerance ?? o.ode.absoluteTolerance
        o.ode.relativeTolerance = relativeTolerance ?? o.ode.relativeTolerance
        o.ode.endTime = endTime ?? o.ode.endTime
        o.ode.maximumSteps = maximumSteps ?? o.ode.maximumSteps
        o.ode.minimumStep = minimumStep ?? o.ode.minimumStep
        o.ode.initialStep = initialStep ?? o.ode.initialStep
        o.ode.grid = grid ?? o.ode.grid
        o.stopRelativeLoss = stopRelativeLoss ?? o.stopRelativeLoss
        o.stopStall = stopStall ?? o.stopStall
        return o
    }
}

/// Settings a flow refuses before integrating (the messages name the options of `cotflow ode`).
public struct FlowSettingsError: ReportableError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var kind: ErrorKind { .input }
}

extension FlowOptions {
    /// The larger of the two tolerances must be at least this (about 50 times a double's round-off).
    public static let smallestTolerance = 1e-14

    /// Tolerances, end time, steps, stopping rules and output grid: the checks of any flow.
    public func validate() throws {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw FlowSettingsError(message()) }
        }
        let (absTol, relTol, tEnd) = (ode.absoluteTolerance, ode.relativeTolerance, ode.endTime)
        try check(absTol.isFinite && relTol.isFinite && absTol >= 0 && relTol >= 0 && absTol + relTol > 0,
                  "--abs-tol and --rel-tol must be finite, non-negative and not both zero (got \(absTol) and \(relTol))")
        // A tolerance below round-off cannot be met: the steps would shrink without end (1e-300 crawled to t = 1e-279 in a minute).
        try check(max(absTol, relTol) >= FlowOptions.smallestTolerance,
                  "--abs-tol and --rel-tol are both below \(FlowOptions.smallestTolerance) (got \(absTol) and \(relTol)): no step control holds an error below a double's round-off (2.2e-16 of the state), so the steps would shrink without end; give --rel-tol 1e-12 or more")
        try check(tEnd.isFinite && tEnd > 0, "--t-end must be positive")
        try check(ode.maximumSteps >= 1, "--max-steps must be at least 1")
        try check(stopRelativeLoss >= 0 && stopRelativeLoss < 1, "--stop-loss must be in [0, 1) (got \(stopRelativeLoss))")
        try check(stopStall.isFinite && stopStall >= 0, "--stop-stall must be finite and non-negative (got \(stopStall))")
        try check(ode.minimumStep.isFinite && ode.minimumStep >= 0, "--min-step must be finite and non-negative (got \(ode.minimumStep))")
        // A smallest step at or beyond the whole span leaves no step to take (1e308 failed the run after its directory was made).
        try check(ode.minimumStep < tEnd, "--min-step must be below --t-end (got \(ode.minimumStep) and \(tEnd))")
        if let h = ode.initialStep { try check(h.isFinite && h > 0, "--initial-step must be positive and finite (got \(h))") }
        // No option sets it; a run decoded from a summary (rerun, a sweep description) may hold any value.
        if let h = ode.maximumStep { try check(h > 0, "the maximum step (maximumStep) must be positive (got \(h))") }
        switch ode.grid {
        case .logarithmic(let points, let first):
            try check(first.isFinite, "--t-first must be finite (got \(first))")
            try check(points >= 2 && first > 0 && first < tEnd, "a log grid needs --points >= 2 and 0 < --t-first < --t-end")
        case .linear(let points): try check(points >= 2, "a linear grid needs --points >= 2")
        case .everyStep, .times: break
        }
    }

    /// The memory of the stored trajectory of a flow at dimension d (`FlowLimits`).
    public func checkStorage(d: Int) throws {
        switch ode.grid {
        case .everyStep:
            try FlowLimits.checkFlow(d: d, points: ode.maximumSteps, stepper: ode.stepper, what: "--grid steps with --max-steps \(ode.maximumSteps) and --d \(d)")
        case .linear(let points), .logarithmic(let points, _):
            try FlowLimits.checkFlow(d: d, points: points, stepper: ode.stepper, what: "--points \(points) with --d \(d)")
        case .times(let times):
            try FlowLimits.checkFlow(d: d, points: times.count + 2, stepper: ode.stepper, what: "\(times.count) output times with --d \(d)")
        }
    }
}
