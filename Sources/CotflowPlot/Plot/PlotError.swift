import CotflowCore

/// What can be wrong with a figure asked of `Plotter`: the panels given, or where they go.
public enum PlotError: ReportableError, Equatable {
    case noPanels
    case noHeatmaps
    case heatmapSize(title: String, rows: Int, cols: Int, values: Int)
    case regimeMapSize(title: String, rows: Int, cols: Int, values: Int, regimes: Int)
    case noSeries(plot: String)
    case seriesLengths(series: String, plot: String, x: Int, y: Int)
    case spreadLength(series: String, plot: String, values: Int)
    case nanBound(band: String, plot: String)
    case bandReversed(band: String, plot: String, start: Double, end: Double)
    case verticalLine(label: String, plot: String, x: Double)
    case referenceLine(label: String, plot: String, y: Double)
    case invalidPath(String)
    case pathIsDirectory(String)
    case cannotReplace(path: String, reason: String)

    public var description: String {
        switch self {
        case .noPanels: return "nothing to plot: no panels"
        case .noHeatmaps: return "nothing to plot: no heatmaps"
        case let .heatmapSize(title, rows, cols, values): return "heatmap '\(title)' is \(rows) x \(cols) but has \(values) values"
        case let .regimeMapSize(title, rows, cols, values, regimes):
            return "regime map '\(title)': \(rows) x \(cols) cells but \(values) values and \(regimes) regimes"
        case let .noSeries(plot): return "plot \(plot) has no series"
        case let .seriesLengths(series, plot, x, y): return "series '\(series)' of plot \(plot) has \(x) x values but \(y) y values"
        case let .spreadLength(series, plot, values): return "series '\(series)' of plot \(plot) has a spread of another length than its \(values) values"
        case let .nanBound(band, plot): return "shaded interval '\(band)' of plot \(plot) has a NaN bound"
        case let .bandReversed(band, plot, start, end): return "shaded interval '\(band)' of plot \(plot) starts at \(start) after its end \(end)"
        case let .verticalLine(label, plot, x): return "vertical line '\(label)' of plot \(plot) is at non-finite x = \(x)"
        case let .referenceLine(label, plot, y): return "reference line '\(label)' of plot \(plot) is at non-finite y = \(y)"
        case let .invalidPath(base): return "invalid plot path '\(base)': give a file name without extension, such as out/loss"
        case let .pathIsDirectory(base): return "invalid plot path '\(base)': it is a directory; give a file name such as \(base)/plot"
        case let .cannotReplace(path, reason): return "cannot replace \(path): \(reason)"
        }
    }
}
