import CGSL

/// The GSL odeiv2 stepping methods.
public enum Stepper: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case rk2, rk4, rkf45, rkck, rk8pd
    case rk1imp, rk2imp, rk4imp, bsimp
    case msadams, msbdf

    /// True for the steppers that call the Jacobian (GSL's implicit Runge-Kutta methods,
    /// Bulirsch-Stoer-Bader-Deuflhard and the BDF multistep method).
    public var requiresJacobian: Bool {
        switch self {
        case .rk1imp, .rk2imp, .rk4imp, .bsimp, .msbdf: return true
        case .rk2, .rk4, .rkf45, .rkck, .rk8pd, .msadams: return false
        }
    }

    public var description: String {
        switch self {
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

    /// GSL's step type, fetched through the C shim (GSL's globals are not concurrency-safe in Swift).
    var gslStepType: UnsafePointer<gsl_odeiv2_step_type> {
        let id: cot_step_id
        switch self {
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
