import CotflowCore

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

/// Which steppers ran in a flow: summary fields and the report's words. Only for `auto`, whose
/// choice is made during the run (a forced stepper is the summary's `stepper`).
public enum StepperReport {
    /// With `auto`: the steppers that ran (names in order) and the time of the switch (nil: none);
    /// nil for a forced stepper.
    public static func record(_ phases: [StepperPhase], stepper: Stepper) -> (steppersRun: [String], switchTime: Double?)? {
        guard stepper == .auto else { return nil }
        return (phases.map(\.name), phases.count > 1 ? phases[1].start : nil)
    }

    /// `steppers_run` and `stepper_switch_t` (null: no switch) of `record`.
    public static func json(_ phases: [StepperPhase], stepper: Stepper) -> [(String, JSONValue)] {
        guard let r = record(phases, stepper: stepper) else { return [] }
        return [("steppers_run", .array(r.steppersRun.map { .string($0) })), ("stepper_switch_t", r.switchTime.map { .number($0) } ?? .null)]
    }

    /// "auto (tsit5)" or "auto (tsit5, msbdf from t = 0.0012: stiff)"; the name for a forced stepper.
    public static func text(_ phases: [StepperPhase], stepper: Stepper) -> String {
        guard stepper == .auto, let first = phases.first else { return stepper.rawValue }
        let switches = phases.dropFirst().map { ", \($0.name) from t = \(fmt($0.start)) (stiff)" }.joined()
        return "auto (\(first.name)\(switches))"
    }
}
