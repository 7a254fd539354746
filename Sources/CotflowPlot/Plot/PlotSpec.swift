/// One curve of a plot: `y` against `x`, drawn as a line and named in the key.
/// Series with the same `group` share one colour and dash pattern and one key entry (the group's
/// name), so that d eigenvalue curves read as "v" or "w"; curves with few points get markers.
public struct PlotSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// The key entry shared with the other series of this group; nil: the series is its own entry.
    public var group: String?
    /// Drawn dashed (for example training next to the flow).
    public var dashed: Bool
    /// Series with the same colour group share a colour (default: the key entry), so that v is
    /// one colour for flow and training, told apart by the dash.
    public var colourGroup: String?
    /// Spread around `y` (for example the minimum and maximum over seeds of a median), drawn as error bars.
    public var low: [Double]?
    public var high: [Double]?
    /// Markers without a line (sampled values drawn over an exact curve).
    public var points: Bool
    /// The spread (`low`, `high`) drawn as a shaded band behind the line (gnuplot filledcurves)
    /// instead of error bars; the band has its own key entry, `bandName`.
    public var bandName: String?

    public init(name: String, x: [Double], y: [Double], group: String? = nil, dashed: Bool = false,
                colourGroup: String? = nil, low: [Double]? = nil, high: [Double]? = nil, points: Bool = false, bandName: String? = nil) {
        self.points = points
        self.bandName = bandName
        self.colourGroup = colourGroup
        self.name = name
        self.x = x
        self.y = y
        self.group = group
        self.dashed = dashed
        self.low = low
        self.high = high
    }

    /// The key entry this series contributes to.
    public var keyName: String { group ?? name }
}

/// A dotted horizontal reference line across a panel (for example the construction's value -eta),
/// named in the key.
public struct HorizontalLine: Sendable {
    public var y: Double
    public var label: String

    public init(y: Double, label: String) {
        self.y = y
        self.label = label
    }
}

/// A stretch of the x axis drawn as a translucent vertical band with its label (a stage).
/// `start` may be `-infinity` and `end` `+infinity` for open-ended stages. Intervals of a panel
/// with the same label share one number, one colour and one key entry.
public struct ShadedInterval: Sendable {
    public var start: Double
    public var end: Double
    public var label: String
    /// A colour ("#rrggbb") for this label; nil: the next of the band colours.
    public var colour: String?

    public init(start: Double, end: Double, label: String, colour: String? = nil) {
        self.start = start
        self.end = end
        self.label = label
        self.colour = colour
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
    /// Dotted horizontal reference lines, named in the key.
    public var horizontalLines: [HorizontalLine]

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false,
                series: [PlotSeries], shaded: [ShadedInterval] = [], verticalLines: [VerticalLine] = [],
                horizontalLines: [HorizontalLine] = []) {
        self.horizontalLines = horizontalLines
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
