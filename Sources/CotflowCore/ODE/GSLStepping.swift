import CGSL

/// GSL's odeiv2 steppers with the standard control on y, through `gsl_odeiv2_evolve_apply`.
/// GSL offers no continuous extension: the session lands on each output time.
public struct GSLStepping: SteppingMethod {
    public let stepper: Stepper

    /// `stepper` must be one of GSL's (not `auto` or `tsit5`).
    public init(_ stepper: Stepper) {
        precondition(stepper.gslStepType != nil, "\(stepper.rawValue) is not a GSL stepper")
        self.stepper = stepper
    }

    public var name: String { stepper.rawValue }
    public var requiresJacobian: Bool { stepper.requiresJacobian }

    public func start(_ system: ODESystem, t0: Double, y0: [Double], options: ODEOptions) throws -> any SteppingSession {
        GSL.initialize()
        return try GSLSession(system: system, type: stepper.gslStepType!, name: name, t0: t0, options: options)
    }
}

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
    context.rhsEvaluations += 1
    if let reason = context.system.evaluate(t, y!, into: dydt!) {
        context.failure = context.failure ?? reason
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

/// One GSL integration: owns its driver (step, control, evolve) until released.
final class GSLSession: SteppingSession {
    private let context: CallbackContext
    private let sys: UnsafeMutablePointer<gsl_odeiv2_system>
    private let driver: UnsafeMutablePointer<gsl_odeiv2_driver>
    let phases: [StepperPhase]

    init(system: ODESystem, type: UnsafePointer<gsl_odeiv2_step_type>, name: String, t0: Double, options: ODEOptions) throws {
        context = CallbackContext(system: system)
        let h = options.initialStep ?? 1e-6 * (options.endTime - t0)
        // The driver allocates and links step, control (standard, on y) and evolve; the implicit
        // and multistep steppers need that link. It keeps a pointer to `sys`, so `sys` lives on the heap.
        sys = UnsafeMutablePointer<gsl_odeiv2_system>.allocate(capacity: 1)
        sys.initialize(to: gsl_odeiv2_system(
            function: rhsCallback,
            jacobian: system.jacobian == nil ? nil : jacobianCallback,
            dimension: system.dimension,
            params: Unmanaged.passUnretained(context).toOpaque()))
        guard let driver = gsl_odeiv2_driver_alloc_standard_new(
            sys, type, h, options.absoluteTolerance, options.relativeTolerance, 1, 0)
        else {
            sys.deallocate()
            throw GSLError(status: Int32(GSL_ENOMEM), context: "gsl_odeiv2_driver_alloc_standard_new")
        }
        self.driver = driver
        phases = [StepperPhase(name: name, start: t0)]
    }

    deinit {
        gsl_odeiv2_driver_free(driver)
        sys.deallocate()
    }

    var hasContinuousExtension: Bool { false }

    var statistics: ODEStatistics {
        var s = ODEStatistics()
        s.rhsEvaluations = context.rhsEvaluations
        s.jacobianEvaluations = context.jacobianEvaluations
        s.failedSteps = Int(driver.pointee.e!.pointee.failed_steps)
        s.lastStepSize = driver.pointee.e!.pointee.last_step
        return s
    }

    func step(t: inout Double, y: inout [Double], h: inout Double, output: Double, end: Double) throws {
        let evolve = driver.pointee.e!, control = driver.pointee.c!, step = driver.pointee.s!
        let start = t, hBefore = h, failedBefore = evolve.pointee.failed_steps
        let truncated = t + h >= output
        let status = y.withUnsafeMutableBufferPointer {
            gsl_odeiv2_evolve_apply(evolve, control, step, sys, &t, output, &h, $0.baseAddress!)
        }
        if status != GSL_SUCCESS {
            // On failure GSL restores t and y to the start of the step.
            throw StepFailure(context.failure
                ?? .gsl(GSLError(status: status, context: "gsl_odeiv2_evolve_apply at t = \(start), step \(hBefore)")))
        }
        if t == output && truncated && evolve.pointee.failed_steps == failedBefore {
            // The step was shortened to land on the output time: keep the longer step.
            h = max(h, hBefore)
        }
    }
}
