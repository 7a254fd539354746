import CotflowCore

/// What the stage detectors refuse: a curve they cannot read, or a setting out of its range.
public enum StageError: ReportableError, Equatable {
    /// A detector setting outside its range: "`name` must be `requirement` (got `value`)".
    case setting(name: String, requirement: String, value: String?)
    case lengths(times: Int, losses: Int)
    case tooFewPoints(minimum: Int, got: Int)
    case timeNotFinite(row: Int, value: Double)
    case timesNotIncreasing(row: Int, t: Double, previous: Double)
    /// A time span that overflows or is too small beside the times to be resolved in double precision.
    case timeSpanNotResolved(first: Double, last: Double)
    case lossNotPositive(row: Int, t: Double, value: Double)
    case manifoldDistanceCount(times: Int, got: Int)
    case manifoldDistanceNotFinite(row: Int)
    case eigenvalueRows(times: Int, v: Int, w: Int)
    case noEigenvalues
    case eigenvalueCount(row: Int, v: Int, w: Int, d: Int)
    case eigenvalueNotFinite(row: Int)
    /// A table with neither `loss` nor `cot_loss_mean` and no loss column chosen.
    case noLossColumn(source: String, columns: [String])
    /// A stage whose time, loss or rate is not finite (times near the range of a double).
    case stageNotFinite(source: String, index: Int, name: String, field: String, value: Double, first: Double, last: Double, timeColumn: String)

    /// The table-reading cases are the user's input; the rest are the run's (the CLI reads them as input).
    public var kind: ErrorKind {
        switch self {
        case .noLossColumn, .stageNotFinite, .timeSpanNotResolved: return .input
        default: return .failed
        }
    }

    public var description: String {
        switch self {
        case let .setting(name, requirement, value): return "\(name) must be \(requirement)" + (value.map { " (got \($0))" } ?? "")
        case let .lengths(times, losses): return "times and losses differ in length (\(times) and \(losses))"
        case let .tooFewPoints(minimum, got): return "stage detection needs at least \(minimum) points (got \(got))"
        case let .timeNotFinite(row, value): return "time at row \(row) is not finite (\(value))"
        case let .timesNotIncreasing(row, t, previous): return "times must be strictly increasing: row \(row) has t = \(t) after t = \(previous)"
        case let .timeSpanNotResolved(first, last):
            return "the times from \(first) to \(last) span a range that double precision cannot resolve (it overflows, or is below 1e-9 of the times); shift or rescale the time column"
        case let .lossNotPositive(row, t, value): return "loss at row \(row) (t = \(t)) must be positive and finite (got \(value))"
        case let .manifoldDistanceCount(times, got): return "the block-manifold distance needs one value per time (\(times)); got \(got)"
        case let .manifoldDistanceNotFinite(row): return "row \(row): the block-manifold distance is not a finite non-negative number"
        case let .eigenvalueRows(times, v, w): return "v and w need one row per time (\(times)); got \(v) and \(w)"
        case .noEigenvalues: return "v and w rows are empty (no eigenvalue columns)"
        case let .eigenvalueCount(row, v, w, d): return "row \(row): v has \(v) and w has \(w) values, expected \(d) each"
        case let .eigenvalueNotFinite(row): return "row \(row): v or w is not finite"
        case let .noLossColumn(source, columns):
            return "\(source): no loss or cot_loss_mean column; choose one with --loss-column (columns: \(columns.joined(separator: ", ")))"
        case let .stageNotFinite(source, index, name, field, value, first, last, timeColumn):
            return "\(source): stage \(index) (\(name)) has \(field) = \(value): the times or losses are too extreme "
                + "for double precision (time span \(first) to \(last)); rescale the \(timeColumn) column"
        }
    }
}
