import CotflowIO

/// What the experiments refuse: a grid point whose values do not make a task, or a sweep's
/// recorded settings without a job.
public enum ExperimentError: ReportableError, Equatable {
    case point(label: String, reason: String)
    case noJob

    public var description: String {
        switch self {
        case let .point(label, reason): return "grid point \(label): \(reason)"
        case .noJob: return "the sweep's settings name no job"
        }
    }
}
