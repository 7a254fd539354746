import Foundation

/// Integration of `ODESystem`s: the driver over a `SteppingMethod` (GSL's odeiv2 steppers, or
/// methods written in Swift).
public enum ODE {
    /// Integrates the problem's system from `(t0, initial)` to `options.endTime` with the method
    /// of `options.stepper`.
    ///
    /// - Parameter stop: the stopping rule, evaluated after every accepted step with `(t, y)` (except
    ///   the step reaching the end time); a non-nil decision ends the run early, recording `(t, y)` as
    ///   the last output point. It may keep state (e.g. the previous loss); a caller with several
    ///   rules composes them into this one.
    /// - Returns: the solution on the output grid, ending at the end time or where a predicate fired.
    /// - Throws: `ODEConfigurationError` for refused settings (before integrating),
    ///   `ODEFailure` (with the partial trajectory) when the integration fails.
    public static func solve(
        _ problem: ODEProblem,
        stop: ((_ t: Double, _ y: [Double]) -> StopDecision?)? = nil
    ) throws -> ODESolution {
        try solve(problem, method: problem.options.stepper.method, stop: stop)
    }

    /// Integrates with `method` (`options.stepper` is not used): the seam for a method of one's own.
    /// Output times inside a step come from the method's continuous extension where it has one
    /// (unless `options.interpolateOutput` is false); otherwise the method steps onto each of them.
    public static func solve(
        _ problem: ODEProblem,
        method: any SteppingMethod,
        stop: ((_ t: Double, _ y: [Double]) -> StopDecision?)? = nil
    ) throws -> ODESolution {
        let (system, t0, y0, options) = (problem.system, problem.t0, problem.initial, problem.options)
        try validate(system, method: method, t0: t0, y0: y0, options: options)
        let grid = try outputTimes(options.grid, t0: t0, end: options.endTime)
        GSL.initialize()
        return try Run(system: system, method: method, t0: t0, y0: y0, options: options, grid: grid, stop: stop).execute()
    }

    /// `solve(ODEProblem(system, from: t0, initial: y0, options: options), stop: stop)`.
    public static func solve(
        _ system: ODESystem,
        from t0: Double,
        initial y0: [Double],
        options: ODEOptions,
        stop: ((_ t: Double, _ y: [Double]) -> StopDecision?)? = nil
    ) throws -> ODESolution {
        try solve(ODEProblem(system, from: t0, initial: y0, options: options), stop: stop)
    }

    static func validate(_ system: ODESystem, method: any SteppingMethod, t0: Double, y0: [Double], options: ODEOptions) throws {
        if method.requiresJacobian && system.jacobian == nil {
            throw ODEConfigurationError.missingJacobian(method.name)
        }
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw ODEConfigurationError.invalid(message()) }
        }
        try check(y0.count == system.dimension,
                  "initial state has \(y0.count) components, system dimension is \(system.dimension)")
        try check(y0.allSatisfy(\.isFinite), "initial state is not finite")
        try check(t0.isFinite && options.endTime.isFinite && options.endTime > t0,
                  "need finite t0 < end time (got t0 = \(t0), end = \(options.endTime))")
        try check(options.absoluteTolerance >= 0 && options.relativeTolerance >= 0
                  && options.absoluteTolerance + options.relativeTolerance > 0,
                  "tolerances must be non-negative, not both zero")
        if let h = options.initialStep { try check(h > 0 && h.isFinite, "initial step must be positive") }
        if let h = options.maximumStep { try check(h > 0, "maximum step must be positive") }
        try check(options.minimumStep >= 0, "minimum step must be non-negative")
        try check(options.maximumSteps > 0, "maximum number of steps must be positive")
    }

    /// The output times for `grid` (nil for `.everyStep`): strictly increasing, t0 first, end last.
    static func outputTimes(_ grid: OutputGrid, t0: Double, end: Double) throws -> [Double]? {
        var times: [Double]
        switch grid {
        case .everyStep:
            return nil
        case .linear(let points):
            guard points >= 2 else { throw ODEConfigurationError.invalid("linear grid needs >= 2 points") }
            times = (0..<points).map { t0 + (end - t0) * Double($0) / Double(points - 1) }
        case .logarithmic(let points, let first):
            guard points >= 2, first > 0, first > t0, first < end else {
                throw ODEConfigurationError.invalid(
                    "logarithmic grid needs >= 2 points and max(0, t0) < first < end (got first = \(first))")
            }
            let m = points - 1  // geometric points from `first` to `end`
            let a = log(first), b = log(end)
            times = [t0]
            for k in 0..<m {
                let fraction = m == 1 ? 1.0 : Double(k) / Double(m - 1)
                times.append(exp(a + (b - a) * fraction))
            }
            times[1] = first  // exact, not exp(log(first))
        case .times(let given):
            guard zip(given, given.dropFirst()).allSatisfy({ $0 < $1 }),
                  given.allSatisfy({ $0 >= t0 && $0 <= end }) else {
                throw ODEConfigurationError.invalid("output times must be strictly increasing within [t0, end]")
            }
            times = given
        }
        // Exact endpoints; drop rounding duplicates.
        if times.first != t0 { times.insert(t0, at: 0) }
        times[times.count - 1] = min(times[times.count - 1], end)
        if times.last != end { times.append(end) }
        var result = [t0]
        for t in times.dropFirst() where t > result[result.count - 1] { result.append(t) }
        return result
    }
}

