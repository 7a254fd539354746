import CotflowODE
import CotflowIO

extension FlowOptions {
    /// The solver and stopping settings of a flow (`cotflow ode`, `sweep`, `compare`).
    public var settings: [(String, JSONValue)] {
        var pairs: [(String, JSONValue)] = [
            ("stepper", .string(ode.stepper.rawValue)), ("abs_tol", .number(ode.absoluteTolerance)),
            ("rel_tol", .number(ode.relativeTolerance)), ("max_steps", .int(ode.maximumSteps)),
            ("t_end", .number(ode.endTime)), ("stop_loss", .number(stopRelativeLoss)),
            ("stop_stall", .number(stopStall)), ("min_step", .number(ode.minimumStep)),
            ("initial_step", ode.initialStep.map { .number($0) } ?? .null),
        ]
        switch ode.grid {
        case .logarithmic(let points, let first): pairs += [("grid", .string("log")), ("points", .int(points)), ("t_first", .number(first))]
        case .linear(let points): pairs += [("grid", .string("linear")), ("points", .int(points))]
        case .everyStep: pairs += [("grid", .string("steps"))]
        case .times(let times): pairs += [("grid", .string("times")), ("times", .numbers(times))]
        }
        return pairs
    }
}
