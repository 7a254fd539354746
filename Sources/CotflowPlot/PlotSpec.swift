/// One curve of a plot: `y` against `x`, drawn as a line (or as markers: `points`) and named in the key.
public struct PlotSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Markers without a line (sampled values drawn over an exact curve).
    public var points: Bool

    public init(name: String, x: [Double], y: [Double]) {
        self.init(name: name, x: x, y: y, points: false)
    }

    public init(name: String, x: [Double], y: [Double], points: Bool) {
        self.name = name
        self.x = x
        self.y = y
        self.points = points
    }
}

/// A stretch of the x axis drawn as a translucent vertical band with its label (a stage).
/// `start` may be `-infinity` and `end` `+infinity` for open-ended stages.
public struct ShadedInterval: Sendable {
    public var start: Double
    public var end: Double
    public var label: String

    public init(start: Double, end: Double, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }
}

/// A dashed vertical line across a panel with a rotated label (for example a contraction limit).
public struct VerticalLine: Sendable {
    public var x: Double
    public var label: String

    public init(x: Double, label: String) {
        self.x = x
        self.label = label
    }
}

/// One panel: its title, axis labels and scales, curves, shaded stages and vertical markers.
public struct PlotSpec: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX: Bool
    public var logY: Bool
    public var series: [PlotSeries]
    /// Drawn as translucent vertical bands with their labels (stages).
    public var shaded: [ShadedInterval]
    /// Dashed vertical lines with labels.
    public var verticalLines: [VerticalLine]

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false,
                series: [PlotSeries], shaded: [ShadedInterval] = [], verticalLines: [VerticalLine] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
        self.series = series
        self.shaded = shaded
        self.verticalLines = verticalLines
    }
}

/// What a render produced: the files written (data, script, and the figures that exist),
/// whether gnuplot drew the figure, and a human-readable account (dropped points, how to render later).
public struct PlotOutcome: Sendable {
    public var files: [String]
    public var rendered: Bool
    public var message: String

    public init(files: [String], rendered: Bool, message: String) {
        self.files = files
        self.rendered = rendered
        self.message = message
    }
}
