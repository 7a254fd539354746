import CGSL

/// The stepping methods a caller picks by name: GSL's odeiv2 steppers, Tsitouras' 5(4) pair written
/// in Swift, and `auto`, which starts with tsit5 and switches to msbdf where the problem is stiff.
/// Each name maps to a `SteppingMethod` (`method`); a method of the caller's own goes through
/// `ODE.solve(_:method:stop:)`.
public enum Stepper: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case auto
    case tsit5
    case rk2, rk4, rkf45, rkck, rk8pd
    case rk1imp, rk2imp, rk4imp, bsimp
    case msadams, msbdf

    /// True for the steppers that call the Jacobian (GSL's implicit Runge-Kutta methods,
    /// Bulirsch-Stoer-Bader-Deuflhard and the BDF multistep method). `auto` uses it only after a
    /// switch, and only when the system has one.
    public var requiresJacobian: Bool {
        switch self {
        case .rk1imp, .rk2imp, .rk4imp, .bsimp, .msbdf: return true
        case .auto, .tsit5, .rk2, .rk4, .rkf45, .rkck, .rk8pd, .msadams: return false
        }
    }

    /// True when a run may call the Jacobian (`auto` does after switching to msbdf).
    public var mayUseJacobian: Bool { requiresJacobian || self == .auto }

    public var description: String {
        switch self {
        case .auto: return "auto (tsit5, switching to msbdf with the Jacobian where the problem is stiff)"
        case .tsit5: return "tsit5 (explicit Runge-Kutta Tsitouras (5, 4), in Swift, with its continuous extension)"
        case .rk2: return "rk2 (explicit embedded Runge-Kutta (2, 3))"
        case .rk4: return "rk4 (explicit 4th order Runge-Kutta, step doubling)"
        case .rkf45: return "rkf45 (explicit embedded Runge-Kutta-Fehlberg (4, 5))"
        case .rkck: return "rkck (explicit embedded Runge-Kutta Cash-Karp (4, 5))"
        case .rk8pd: return "rk8pd (explicit embedded Runge-Kutta Prince-Dormand (8, 9))"
        case .rk1imp: return "rk1imp (implicit Gaussian 1st order Runge-Kutta, backward Euler; Jacobian)"
        case .rk2imp: return "rk2imp (implicit Gaussian 2nd order Runge-Kutta, midpoint; Jacobian)"
        case .rk4imp: return "rk4imp (implicit Gaussian 4th order Runge-Kutta; Jacobian)"
        case .bsimp: return "bsimp (implicit Bulirsch-Stoer of Bader and Deuflhard; Jacobian)"
        case .msadams: return "msadams (variable-order Adams multistep, orders 1-12, non-stiff)"
        case .msbdf: return "msbdf (variable-order BDF multistep, orders 1-5, stiff; Jacobian)"
        }
    }

    /// The method behind the name.
    public var method: any SteppingMethod {
        switch self {
        case .auto: return AutoSwitching(explicit: ExplicitRungeKutta.tsit5, stiff: GSLStepping(.msbdf))
        case .tsit5: return ExplicitRungeKutta.tsit5
        default: return GSLStepping(self)
        }
    }

    /// GSL's step type, fetched through the C shim (GSL's globals are not concurrency-safe in Swift);
    /// nil for the methods written in Swift.
    var gslStepType: UnsafePointer<gsl_odeiv2_step_type>? {
        let id: cot_step_id
        switch self {
        case .auto, .tsit5: return nil
        case .rk2: id = COT_STEP_RK2
        case .rk4: id = COT_STEP_RK4
        case .rkf45: id = COT_STEP_RKF45
        case .rkck: id = COT_STEP_RKCK
        case .rk8pd: id = COT_STEP_RK8PD
        case .rk1imp: id = COT_STEP_RK1IMP
        case .rk2imp: id = COT_STEP_RK2IMP
        case .rk4imp: id = COT_STEP_RK4IMP
        case .bsimp: id = COT_STEP_BSIMP
        case .msadams: id = COT_STEP_MSADAMS
        case .msbdf: id = COT_STEP_MSBDF
        }
        guard let type = cot_odeiv2_step_type(Int32(id.rawValue)) else {
            fatalError("GSL shim has no step type for \(rawValue)")
        }
        return type
    }
}
