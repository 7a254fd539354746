/// An ODE system dy/dt = f(t, y) of fixed dimension, with an optional Jacobian.
///
/// The closures write into the output buffers (which are zeroed before each call) and may throw;
/// a throw, or any non-finite output, ends the integration with an `ODEFailure`.
public struct ODESystem: Sendable {
    /// `(t, y, dydt)`: writes f(t, y) into `dydt`.
    public typealias RightHandSide = @Sendable (
        _ t: Double, _ y: UnsafeBufferPointer<Double>, _ dydt: UnsafeMutableBufferPointer<Double>
    ) throws -> Void
    /// `(t, y, dfdy, dfdt)`: writes df_i/dy_j into `dfdy[i * n + j]` (row-major n x n) and
    /// df_i/dt into `dfdt` (left zero for autonomous systems).
    public typealias Jacobian = @Sendable (
        _ t: Double, _ y: UnsafeBufferPointer<Double>,
        _ dfdy: UnsafeMutableBufferPointer<Double>, _ dfdt: UnsafeMutableBufferPointer<Double>
    ) throws -> Void

    public let dimension: Int
    public let rightHandSide: RightHandSide
    public let jacobian: Jacobian?

    public init(dimension: Int, rightHandSide: @escaping RightHandSide, jacobian: Jacobian? = nil) {
        precondition(dimension > 0, "ODE system dimension must be positive")
        self.dimension = dimension
        self.rightHandSide = rightHandSide
        self.jacobian = jacobian
    }
}

/// Times at which the solution is recorded. Every grid includes t0 and the final time reached.
public enum OutputGrid: Sendable, Equatable, Codable {
    /// `points` equally spaced times from t0 to the end time (points >= 2).
    case linear(points: Int)
    /// t0, then `points - 1` geometrically spaced times from `first` to the end time
    /// (points >= 2, t0 < first < end time, first > 0).
    case logarithmic(points: Int, first: Double)
    /// The given times (strictly increasing, inside (t0, end]); t0 and the end time are added.
    case times([Double])
    /// Every accepted step.
    case everyStep
}

/// Why a stopping predicate ended a run.
public struct StopDecision: Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Integration settings. The stopping rule is not one of them: it is the one `stop` callback of
/// `ODE.solve`, which may keep state.
public struct ODEOptions: Sendable, Codable {
    public var stepper: Stepper
    /// Standard GSL control on y: the local error of y_i must stay below
    /// absoluteTolerance + relativeTolerance * |y_i|.
    public var absoluteTolerance: Double
    public var relativeTolerance: Double
    /// First trial step; nil means 1e-6 * (end time - t0).
    public var initialStep: Double?
    /// The run fails when the step size the controller proposes falls below this (0 = no limit).
    public var minimumStep: Double
    /// Upper bound on the step size (nil = none).
    public var maximumStep: Double?
    /// The run fails after this many accepted steps without reaching the end.
    public var maximumSteps: Int
    public var endTime: Double
    public var grid: OutputGrid
    /// Output times inside a step come from the stepper's continuous extension where it has one
    /// (tsit5, auto before a switch); false: every stepper steps onto each output time.
    public var interpolateOutput: Bool

    public init(
        endTime: Double,
        stepper: Stepper = .rkf45,
        absoluteTolerance: Double = 1e-8,
        relativeTolerance: Double = 1e-8,
        initialStep: Double? = nil,
        minimumStep: Double = 0,
        maximumStep: Double? = nil,
        maximumSteps: Int = 1_000_000,
        grid: OutputGrid = .linear(points: 101),
        interpolateOutput: Bool = true
    ) {
        self.interpolateOutput = interpolateOutput
        self.endTime = endTime
        self.stepper = stepper
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
        self.initialStep = initialStep
        self.minimumStep = minimumStep
        self.maximumStep = maximumStep
        self.maximumSteps = maximumSteps
        self.grid = grid
    }
}

/// An initial value problem, as SciML's `ODEProblem`: the system, the initial time and state, and
/// the integration settings (GSL's step, control and evolve: stepper, tolerances, steps, end
/// time, output grid). `ODE.solve(_:stop:)` integrates it.
public struct ODEProblem: Sendable {
    public var system: ODESystem
    public var t0: Double
    public var initial: [Double]
    public var options: ODEOptions

    public init(_ system: ODESystem, from t0: Double = 0, initial: [Double], options: ODEOptions) {
        self.system = system
        self.t0 = t0
        self.initial = initial
        self.options = options
    }
}
