/// An explicit method that hands over to a stiff one once its stiffness estimate fires, as
/// DifferentialEquations.jl's `AutoTsit5(Rosenbrock23())` does (here one way: the stiff method
/// keeps the rest of the run). Without a Jacobian in the system the explicit method runs throughout.
public struct AutoSwitching: SteppingMethod {
    public let explicit: any SteppingMethod
    public let stiff: any SteppingMethod

    public init(explicit: any SteppingMethod, stiff: any SteppingMethod) {
        self.explicit = explicit
        self.stiff = stiff
    }

    public var name: String { "auto" }
    public var requiresJacobian: Bool { explicit.requiresJacobian }

    public func start(_ system: ODESystem, t0: Double, y0: [Double], options: ODEOptions) throws -> any SteppingSession {
        AutoSwitchingSession(method: self, current: try explicit.start(system, t0: t0, y0: y0, options: options),
                             system: system, options: options)
    }
}

final class AutoSwitchingSession: SteppingSession {
    let method: AutoSwitching
    let system: ODESystem
    let options: ODEOptions
    private var current: any SteppingSession
    /// Counts of the sessions that ran before `current`.
    private var finished = ODEStatistics()
    private(set) var phases: [StepperPhase]

    init(method: AutoSwitching, current: any SteppingSession, system: ODESystem, options: ODEOptions) {
        self.method = method
        self.current = current
        self.system = system
        self.options = options
        phases = current.phases
    }

    var hasContinuousExtension: Bool { current.hasContinuousExtension }
    var isStiff: Bool { current.isStiff }

    var statistics: ODEStatistics {
        var s = current.statistics
        s.rhsEvaluations += finished.rhsEvaluations
        s.jacobianEvaluations += finished.jacobianEvaluations
        s.failedSteps += finished.failedSteps
        s.acceptedSteps += finished.acceptedSteps
        return s
    }

    func step(t: inout Double, y: inout [Double], h: inout Double, output: Double, end: Double) throws {
        if phases.count == 1, current.isStiff, system.jacobian != nil || !method.stiff.requiresJacobian {
            // The stiff method starts where the explicit one stopped, from its step size.
            var settings = options
            settings.initialStep = h
            let next = try method.stiff.start(system, t0: t, y0: y, options: settings)
            finished = statistics
            current = next
            phases += next.phases
        }
        try current.step(t: &t, y: &y, h: &h, output: output, end: end)
    }

    func interpolate(at t: Double, into y: inout [Double]) { current.interpolate(at: t, into: &y) }
}
