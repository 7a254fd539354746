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
    public static func record(_ phases: [StepperPhase], stepper: Stepper) -> SteppersRun? {
        guard stepper == .auto else { return nil }
        return SteppersRun(steppers: phases.map(\.name), switchTime: phases.count > 1 ? phases[1].start : nil)
    }

    /// "auto (tsit5)" or "auto (tsit5, msbdf from t = 0.0012: stiff)"; the name for a forced stepper.
    public static func text(_ phases: [StepperPhase], stepper: Stepper) -> String {
        guard stepper == .auto, let first = phases.first else { return stepper.rawValue }
        let switches = phases.dropFirst().map { ", \($0.name) from t = \(fmt($0.start)) (stiff)" }.joined()
        return "auto (\(first.name)\(switches))"
    }
}

/// With `--stepper auto`: the steppers that ran, in order, and the time of the switch, as a flow's
/// summary.json has them (flat): `steppers_run`, then `stepper_switch_t` (null: no switch).
public struct SteppersRun: Codable, Sendable, Equatable {
    public var steppers: [String]
    public var switchTime: Double?

    private enum CodingKeys: String, CodingKey { case steppers = "steppers_run", switchTime = "stepper_switch_t" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steppers, forKey: .steppers)
        if let switchTime { try c.encode(switchTime, forKey: .switchTime) } else { try c.encodeNil(forKey: .switchTime) }
    }

    /// The record of a summary that has one (a flow with `auto`), else nil.
    static func decodeIfPresent(from decoder: Decoder) throws -> SteppersRun? {
        try decoder.container(keyedBy: CodingKeys.self).contains(.steppers) ? SteppersRun(from: decoder) : nil
    }
}

/// How a flow ended, as its summary.json records it: `stop_reason` (why it stopped, or "failed: ..."
/// for a run that failed part-way) and `converged`; `status` is the common status of the two.
enum FlowStopRecord {
    static func reason(_ stop: StopReason, failure: String?) -> String { failure.map { "failed: \($0)" } ?? stop.description }

    static func status(reason: String, converged: Bool) -> RunStatus {
        reason.hasPrefix("failed: ") ? .failed(reason: String(reason.dropFirst("failed: ".count))) : converged ? .converged : .completed
    }
}

/// A flow integrated to its end (the reduced and the full-matrix flow's trajectories): the output
/// times and losses, why it stopped, the solver's work, the steppers that ran and whether it converged.
public protocol SolvedFlow: Sendable {
    var times: [Double] { get }
    var losses: [Double] { get }
    var stopReason: StopReason { get }
    var statistics: ODEStatistics { get }
    var phases: [StepperPhase] { get }
    var converged: Bool { get }
}

extension SolvedFlow {
    public var finalLoss: Double { losses.last ?? .nan }
    public var finalTime: Double { times.last ?? .nan }
}
