import CGSL
import CotflowGSL

/// State shared with the C callbacks through GSL's `params` pointer: the system, counters and
/// the first error a callback met (GSL only sees `GSL_EBADFUNC`).
final class CallbackContext {
    let system: ODESystem
    var rhsEvaluations = 0
    var jacobianEvaluations = 0
    var failure: ODEFailure.Reason?

    init(system: ODESystem) { self.system = system }
}

/// dydt = f(t, y) for GSL; non-finite output or a throw become `GSL_EBADFUNC`.
private let rhsCallback: @convention(c) (
    Double, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, UnsafeMutableRawPointer?
) -> Int32 = { t, y, dydt, params in
    let context = Unmanaged<CallbackContext>.fromOpaque(params!).takeUnretainedValue()
    let n = context.system.dimension
    let out = UnsafeMutableBufferPointer(start: dydt!, count: n)
    out.initialize(repeating: 0)
    context.rhsEvaluations += 1
    do {
        try context.system.rightHandSide(t, UnsafeBufferPointer(start: y!, count: n), out)
    } catch {
        context.failure = context.failure ?? .callbackThrew(error)
        return Int32(GSL_EBADFUNC)
    }
    if !out.allSatisfy(\.isFinite) {
        context.failure = context.failure ?? .nonFiniteRightHandSide(time: t)
        return Int32(GSL_EBADFUNC)
    }
    return Int32(GSL_SUCCESS)
}

/// Jacobian (row-major df_i/dy_j) and df/dt for GSL; same failure handling as the rhs.
private let jacobianCallback: @convention(c) (
    Double, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?,
    UnsafeMutableRawPointer?
) -> Int32 = { t, y, dfdy, dfdt, params in
    let context = Unmanaged<CallbackContext>.fromOpaque(params!).takeUnretainedValue()
    guard let jacobian = context.system.jacobian else { return Int32(GSL_EBADFUNC) }
    let n = context.system.dimension
    let matrix = UnsafeMutableBufferPointer(start: dfdy!, count: n * n)
    let time = UnsafeMutableBufferPointer(start: dfdt!, count: n)
    matrix.initialize(repeating: 0)
    time.initialize(repeating: 0)
    context.jacobianEvaluations += 1
    do {
        try jacobian(t, UnsafeBufferPointer(start: y!, count: n), matrix, time)
    } catch {
        context.failure = context.failure ?? .callbackThrew(error)
        return Int32(GSL_EBADFUNC)
    }
    if !matrix.allSatisfy(\.isFinite) || !time.allSatisfy(\.isFinite) {
        context.failure = context.failure ?? .nonFiniteJacobian(time: t)
        return Int32(GSL_EBADFUNC)
    }
    return Int32(GSL_SUCCESS)
}

/// One integration: owns its GSL objects for the duration of `execute()`.
struct Run {
    let system: ODESystem
    let t0: Double
    let y0: [Double]
    let options: ODEOptions
    /// Output times (nil: record every accepted step).
    let grid: [Double]?
    let stop: ((Double, [Double]) -> StopDecision?)?

    func execute() throws -> ODESolution {
        let n = system.dimension
        let context = CallbackContext(system: system)
        let end = options.endTime
        var h = options.initialStep ?? 1e-6 * (end - t0)
        if let hmax = options.maximumStep { h = min(h, hmax) }

        // The driver allocates and links step, control (standard, on y) and evolve; the implicit
        // and multistep steppers need that link. It keeps a pointer to `sys`, so `sys` lives on the heap.
        let sys = UnsafeMutablePointer<gsl_odeiv2_system>.allocate(capacity: 1)
        defer { sys.deallocate() }
        sys.initialize(to: gsl_odeiv2_system(
            function: rhsCallback,
            jacobian: system.jacobian == nil ? nil : jacobianCallback,
            dimension: n,
            params: Unmanaged.passUnretained(context).toOpaque()))
        guard let driver = gsl_odeiv2_driver_alloc_standard_new(
            sys, options.stepper.gslStepType, h, options.absoluteTolerance, options.relativeTolerance, 1, 0)
        else {
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_odeiv2_driver_alloc_standard_new")
        }
        defer { gsl_odeiv2_driver_free(driver) }
        let evolve = driver.pointee.e!, control = driver.pointee.c!, step = driver.pointee.s!

        var t = t0
        var y = y0
        var previous = y0  // last good state, for non-finite steps
        var times = [t0], states = [y0]
        var statistics = ODEStatistics()
        var nextGrid = 1

        func snapshot(_ reason: StopReason) -> ODESolution {
            var stats = statistics
            stats.rhsEvaluations = context.rhsEvaluations
            stats.jacobianEvaluations = context.jacobianEvaluations
            stats.failedSteps = Int(evolve.pointee.failed_steps)
            stats.nextStepSize = h
            return ODESolution(times: times, states: states, stopReason: reason, statistics: stats)
        }
        func record(_ t: Double, _ y: [Double]) {
            if t > times[times.count - 1] { times.append(t); states.append(y) }
        }
        func failure(_ reason: ODEFailure.Reason, lastGood: (Double, [Double])) -> ODEFailure {
            record(lastGood.0, lastGood.1)
            return ODEFailure(reason: reason, partial: snapshot(.failed(reason)))
        }

        return try withExtendedLifetime(context) {
            while true {
                if statistics.acceptedSteps >= options.maximumSteps {
                    throw failure(.maximumStepsExceeded(options.maximumSteps), lastGood: (t, y))
                }
                let target = grid?[nextGrid] ?? end
                let start = t, hBefore = h, failedBefore = evolve.pointee.failed_steps
                let truncated = t + h >= target
                previous = y

                let status = y.withUnsafeMutableBufferPointer {
                    gsl_odeiv2_evolve_apply(evolve, control, step, sys, &t, target, &h, $0.baseAddress!)
                }
                if status != GSL_SUCCESS {
                    // On failure GSL restores t and y to the start of the step.
                    let reason = context.failure
                        ?? .gsl(GSLError(status: status,
                                         context: "gsl_odeiv2_evolve_apply at t = \(start), step \(hBefore)"))
                    throw failure(reason, lastGood: (start, previous))
                }
                statistics.acceptedSteps += 1
                statistics.lastStepSize = evolve.pointee.last_step
                if !y.allSatisfy(\.isFinite) || !t.isFinite {
                    throw failure(.nonFiniteState(time: start), lastGood: (start, previous))
                }

                let hitTarget = t == target
                if hitTarget && truncated && evolve.pointee.failed_steps == failedBefore {
                    // The step was shortened to land on the output time: keep the longer step.
                    h = max(h, hBefore)
                }
                if let hmax = options.maximumStep { h = min(h, hmax) }
                if grid == nil || hitTarget { record(t, y) }
                if hitTarget { nextGrid += 1 }
                if t >= end { return snapshot(.reachedEndTime) }

                if !hitTarget && h < options.minimumStep {
                    throw failure(.stepBelowMinimum(step: h, minimum: options.minimumStep, time: t),
                                  lastGood: (t, y))
                }
                if let decision = stop?(t, y) {
                    record(t, y)
                    return snapshot(.predicate(decision))
                }
            }
        }
    }
}
