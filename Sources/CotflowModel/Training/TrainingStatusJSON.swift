import CotflowCore

extension TrainingStatus {
    /// The run's status in summary.json: "completed", or "diverged" / "interrupted" with the step.
    public var json: [(String, JSONValue)] {
        switch self {
        case .completed: return [("status", .string("completed"))]
        case .diverged(let step, let reason):
            return [("status", .string("diverged")), ("diverged_at_step", .int(step)), ("diverged_reason", .string(reason))]
        case .interrupted(let step, let signal):
            return [("status", .string("interrupted")), ("interrupted_at_step", .int(step)), ("signal", .string(signal))]
        }
    }
}
