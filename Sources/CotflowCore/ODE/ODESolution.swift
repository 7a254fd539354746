
/// Counters of one integration.
public struct ODEStatistics: Sendable, Equatable, CustomStringConvertible {
    /// Steps accepted by the error control.
    public var acceptedSteps = 0
    /// Trial steps rejected by the error control (GSL's `failed_steps`).
    public var failedSteps = 0
    /// Calls of the right-hand side (including those of rejected trials).
    public var rhsEvaluations = 0
    /// Calls of the Jacobian.
    public var jacobianEvaluations = 0
    /// Size of the last accepted step.
    public var lastStepSize = 0.0
    /// Step size the controller proposes for the next step.
    public var nextStepSize = 0.0

    public init() {}

    public var description: String {
        "\(acceptedSteps) steps (\(failedSteps) rejected), \(rhsEvaluations) rhs and "
            + "\(jacobianEvaluations) Jacobian evaluations, last step \(lastStepSize)"
    }
}

/// How a run ended.
public enum StopReason: Sendable, CustomStringConvertible {
    case reachedEndTime
    /// The stopping predicate fired with this decision.
    case predicate(StopDecision)
    /// The run failed (only in `ODEFailure.partial`).
    case failed(ODEFailure.Reason)

    public var description: String {
        switch self {
        case .reachedEndTime: return "reached end time"
        case .predicate(let decision): return "stopped: \(decision.reason)"
        case .failed(let reason): return "failed: \(reason)"
        }
    }

    public var isReachedEndTime: Bool {
        if case .reachedEndTime = self { return true }
        return false
    }
}

/// A trajectory recorded on the output grid.
public struct ODESolution: Sendable {
    /// Output times, strictly increasing; the first is t0, the last the final time reached.
    public var times: [Double]
    /// The state at each output time.
    public var states: [[Double]]
    public var stopReason: StopReason
    public var statistics: ODEStatistics
    /// The methods that ran, each from the time it took over (more than one where `auto` switched).
    public var phases: [StepperPhase]

    public init(times: [Double], states: [[Double]], stopReason: StopReason, statistics: ODEStatistics,
                phases: [StepperPhase] = []) {
        self.times = times
        self.states = states
        self.stopReason = stopReason
        self.statistics = statistics
        self.phases = phases
    }

    public var finalTime: Double? { times.last }
    public var finalState: [Double]? { states.last }
}

/// Settings refused before integrating.
public enum ODEConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A Jacobian-using stepper was chosen for a system without a Jacobian.
    case missingJacobian(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .missingJacobian(let stepper):
            return "stepper \(stepper) needs the Jacobian; this system provides none"
        case .invalid(let message):
            return "invalid ODE settings: \(message)"
        }
    }
}

/// A failed integration, with the trajectory up to the last good state.
public struct ODEFailure: Error, Sendable, CustomStringConvertible {
    /// Why the integration stopped: a step limit, a step size GSL could not reduce further, a
    /// non-finite right-hand side or Jacobian, a throwing callback, or a GSL status.
    public enum Reason: Sendable, CustomStringConvertible {
        case maximumStepsExceeded(Int)
        /// The proposed step `step` fell below the minimum at time `time`.
        case stepBelowMinimum(step: Double, minimum: Double, time: Double)
        /// The right-hand side produced a non-finite value at (trial) time `time`.
        case nonFiniteRightHandSide(time: Double)
        case nonFiniteJacobian(time: Double)
        /// The state became non-finite in the step starting at `time`.
        case nonFiniteState(time: Double)
        /// The right-hand side or Jacobian threw.
        case callbackThrew(any Error)
        /// GSL returned an error status (e.g. no progress possible).
        case gsl(GSLError)
        /// A stop was requested (SIGINT, SIGTERM, SIGHUP and the other `Interruption.stopSignals`); the state at `time` is kept.
        case interrupted(signal: String, time: Double)

        public var description: String {
            switch self {
            case .maximumStepsExceeded(let n): return "maximum number of steps (\(n)) exceeded"
            case .stepBelowMinimum(let step, let minimum, let time):
                return "step size \(step) fell below the minimum \(minimum) at t = \(time)"
            case .nonFiniteRightHandSide(let time): return "right-hand side is not finite at t = \(time)"
            case .nonFiniteJacobian(let time): return "Jacobian is not finite at t = \(time)"
            case .nonFiniteState(let time): return "state became non-finite in the step from t = \(time)"
            case .callbackThrew(let error): return "system function threw: \(error)"
            case .gsl(let error): return error.description
            case .interrupted(let signal, let time): return "interrupted by \(signal) at t = \(time)"
            }
        }
    }

    public let reason: Reason
    /// Output points reached before the failure, plus the last good state.
    public let partial: ODESolution

    public var description: String {
        let reached = partial.finalTime.map { " (last good t = \($0))" } ?? ""
        return "ODE integration failed: \(reason)\(reached)"
    }
}
