import CotflowCore

/// What the experiments refuse: a grid point whose values do not make a task, or a sweep's
/// recorded settings without a job.
public enum ExperimentError: ReportableError, Equatable {
    case point(label: String, reason: String)
    case noJob
    /// Two grid points are the same run after rounding to integers.
    case sameRun(String, String)

    public var description: String {
        switch self {
        case let .point(label, reason): return "grid point \(label): \(reason)"
        case .noJob: return "the sweep's settings name no job"
        case let .sameRun(a, b):
            return "grid points \(a) and \(b) are the same run after rounding to integers; choose axis values that differ after rounding"
        }
    }
}
