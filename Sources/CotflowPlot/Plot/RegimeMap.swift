import CotflowCore
import Foundation

/// A regime diagram over two axes: a heatmap of one metric per grid cell, the regime's letter in each
/// cell, and lines along the cell edges where the regime changes between neighbours.
public struct RegimeMap: Sendable {
    public var title: String
    public var rowAxis: String, columnAxis: String
    public var rowValues: [Double], columnValues: [Double]
    /// Row-major, rows x columns: the metric (drawn as log10 when `logScale`), NaN drawn blank.
    public var values: [Double]
    public var metric: String
    public var logScale: Bool
    /// Row-major regime letters (one per cell, "" for no run).
    public var regimes: [String]
    /// What the letters mean ("A follows, N does-not-follow"); nil: "regimes".
    public var legend: String?

    public init(title: String, rowAxis: String, columnAxis: String, rowValues: [Double], columnValues: [Double],
                values: [Double], metric: String, logScale: Bool, regimes: [String], legend: String? = nil) {
        self.title = title
        self.rowAxis = rowAxis
        self.columnAxis = columnAxis
        self.rowValues = rowValues
        self.columnValues = columnValues
        self.values = values
        self.metric = metric
        self.logScale = logScale
        self.regimes = regimes
        self.legend = legend
    }
}

extension Plotter {
    /// Draws a regime map through gnuplot (`<base>.tsv`, `<base>.gp`, `<base>.svg`, `<base>.png`;
    /// the same rules as `render(panels:to:title:)`).
    public static func renderRegimeMap(_ map: RegimeMap, to base: String) throws -> PlotOutcome {
        try renderRegimeMap(map, to: base, options: Options())
    }

    static func renderRegimeMap(_ map: RegimeMap, to base: String, options: Options) throws -> PlotOutcome {
        let rows = map.rowValues.count, cols = map.columnValues.count
        guard rows >= 1, cols >= 1, map.values.count == rows * cols, map.regimes.count == rows * cols else {
            throw PlotError.regimeMapSize(title: map.title, rows: rows, cols: cols, values: map.values.count, regimes: map.regimes.count)
        }
        let base = try normalisedBase(base)
        let stem = URL(fileURLWithPath: base).lastPathComponent
        var data = "# cotflow regime map data: \(GnuplotScript.comment(map.title))\n"
        data += "# \(rows) rows (\(GnuplotScript.comment(map.rowAxis))) x \(cols) columns (\(GnuplotScript.comment(map.columnAxis))) of "
            + (map.logScale ? "log10 " : "") + "\(GnuplotScript.comment(map.metric)), row 0 first\n"
        var nonFinite = 0
        for r in 0..<rows {
            data += (0..<cols).map { c -> String in
                var x = map.values[r * cols + c]
                if map.logScale { x = x > 0 ? Foundation.log10(x) : .nan }
                if !x.isFinite { nonFinite += 1; return "NaN" }
                return GnuplotScript.number(x)
            }.joined(separator: "\t") + "\n"
        }
        func label(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(format: "%.3g", x) }
        let title = map.title + " (letters: \(map.legend ?? "regimes"); black lines: regime boundaries)"
        // Wide enough for the title (about 7.5 px a character at the default font).
        let width = max(520, 90 + 60 * cols, Int(7.5 * Double(title.count))), height = max(420, 120 + 40 * rows)
        var s = GnuplotScript.preamble(what: "regime map", title: map.title, dataName: stem + ".tsv", stem: stem)
        s += "set palette defined (0 \"#fff5eb\", 0.5 \"#fd8d3c\", 1 \"#7f2704\")\nunset key\nset tics out nomirror font \",8\"\n"
        s += "set xlabel \(GnuplotScript.quote(map.columnAxis)) noenhanced\nset ylabel \(GnuplotScript.quote(map.rowAxis)) noenhanced\n"
        s += "set cblabel \(GnuplotScript.quote((map.logScale ? "log10 " : "") + map.metric)) noenhanced\n"
        s += "set xrange [-0.5:\(GnuplotScript.number(Double(cols) - 0.5))]\nset yrange [-0.5:\(GnuplotScript.number(Double(rows) - 0.5))]\n"
        s += "set xtics (" + (0..<cols).map { "\(GnuplotScript.quote(label(map.columnValues[$0]))) \($0)" }.joined(separator: ", ") + ")\n"
        s += "set ytics (" + (0..<rows).map { "\(GnuplotScript.quote(label(map.rowValues[$0]))) \($0)" }.joined(separator: ", ") + ")\n"
        s += "set title \(GnuplotScript.quote(title)) noenhanced\n"
        for r in 0..<rows {
            for c in 0..<cols where !map.regimes[r * cols + c].isEmpty {
                s += "set label \(GnuplotScript.quote(map.regimes[r * cols + c])) at \(c),\(r) center front font \",9\"\n"
            }
        }
        // Boundaries: the edge between two neighbouring cells of different regimes.
        for r in 0..<rows {
            for c in 0..<cols {
                let here = map.regimes[r * cols + c]
                if c + 1 < cols, map.regimes[r * cols + c + 1] != here {
                    s += "set arrow from \(GnuplotScript.number(Double(c) + 0.5)),\(GnuplotScript.number(Double(r) - 0.5)) to \(GnuplotScript.number(Double(c) + 0.5)),\(GnuplotScript.number(Double(r) + 0.5)) nohead front lw 2.5 lc rgb \"#000000\"\n"
                }
                if r + 1 < rows, map.regimes[(r + 1) * cols + c] != here {
                    s += "set arrow from \(GnuplotScript.number(Double(c) - 0.5)),\(GnuplotScript.number(Double(r) + 0.5)) to \(GnuplotScript.number(Double(c) + 0.5)),\(GnuplotScript.number(Double(r) + 0.5)) nohead front lw 2.5 lc rgb \"#000000\"\n"
                }
            }
        }
        s += "\n" + GnuplotScript.outputLoopOpening(stem: stem, width: width, height: height)
        s += "plot cotflow_data matrix with image notitle\nunset output\n}\n}\n"
        let notes = nonFinite > 0 ? ["\(nonFinite) cell\(nonFinite == 1 ? "" : "s") without a finite value drawn blank"] : []
        return try writeAndRender(data: data, script: s, base: base, notes: notes, options: options)
    }
}
