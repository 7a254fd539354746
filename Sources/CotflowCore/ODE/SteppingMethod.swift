/// An ODE stepping method: a stepper with its error control (GSL's step and control layers;
/// diffrax's `AbstractSolver` with its step-size controller). `ODE.solve` is the driver above it:
/// it owns the output grid, the stopping rule, the step count and the failures, so that a method
/// written in Swift (`ExplicitRungeKutta`) and GSL's (`GSLStepping`) are interchangeable.
public protocol SteppingMethod: Sendable {
    /// The name recorded in summaries (a `Stepper` raw value for the built-in methods).
    var name: String { get }
    /// True when the method calls the system's Jacobian from its first step.
    var requiresJacobian: Bool { get }
    /// Begins stepping `system` from `(t0, y0)`, with the tolerances and step bounds of `options`.
    func start(_ system: ODESystem, t0: Double, y0: [Double], options: ODEOptions) throws -> any SteppingSession
}

/// The stepping state of one integration.
public protocol SteppingSession: AnyObject {
    /// Takes one accepted step from `(t, y)` with first trial step `h`. A session with a continuous
    /// extension steps to at most `end`; one without steps to at most `output` (the next output
    /// time) and lands on it exactly when it reaches it. Returns with `(t, y)` the new state and `h`
    /// the proposed next step; throws `StepFailure` with `(t, y)` left at the start of the step.
    func step(t: inout Double, y: inout [Double], h: inout Double, output: Double, end: Double) throws
    /// True when `interpolate` serves the last accepted step (then the driver integrates freely and
    /// interpolates onto the output times).
    var hasContinuousExtension: Bool { get }
    /// The state at time `t` within the last accepted step.
    func interpolate(at t: Double, into y: inout [Double])
    /// Evaluation and rejection counts so far, and the size of the last accepted step.
    var statistics: ODEStatistics { get }
    /// True once the method's stiffness estimate says the problem is stiff where it is stepping.
    var isStiff: Bool { get }
    /// The methods that ran and the times they started (one entry unless the session switched).
    var phases: [StepperPhase] { get }
}

extension SteppingSession {
    public var isStiff: Bool { false }
    public func interpolate(at t: Double, into y: inout [Double]) {
        preconditionFailure("\(type(of: self)) has no continuous extension")
    }
}

/// One method's part of a run: its name and the time it took over.
public struct StepperPhase: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let start: Double
    public init(name: String, start: Double) { self.name = name; self.start = start }
    public var description: String { "\(name) from t = \(start)" }
}

/// A failed step: the reason, with the session's state left at the start of the step.
public struct StepFailure: Error {
    public let reason: ODEFailure.Reason
    public init(_ reason: ODEFailure.Reason) { self.reason = reason }
}

extension ODESystem {
    /// f(t, y) into `out` (zeroed first); nil, or the reason the evaluation failed (a throw, or a
    /// non-finite component: GSL would take a NaN as a success).
    func evaluate(_ t: Double, _ y: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) -> ODEFailure.Reason? {
        let result = UnsafeMutableBufferPointer(start: out, count: dimension)
        result.initialize(repeating: 0)
        do {
            try rightHandSide(t, UnsafeBufferPointer(start: y, count: dimension), result)
        } catch {
            return .callbackThrew(error)
        }
        return result.allSatisfy(\.isFinite) ? nil : .nonFiniteRightHandSide(time: t)
    }
}
