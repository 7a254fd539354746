import CotflowSupport
import Foundation

/// A panel after validation: the plottable points of each series and what was dropped.
struct PreparedPanel {
    struct Series {
        var name: String
        var x: [Double]
        var y: [Double]
        var points = false
        var index = 0   // data block in the .tsv
    }

    struct Band {
        var start: Double
        var end: Double
        var label: String
    }

    var spec: PlotSpec
    var series: [Series] = []            // only series with at least one point
    var emptySeries: [String] = []
    var nonFinite = 0
    var nonPositive = 0
    var bands: [Band] = []
    var droppedBands: [String] = []
    var lines: [VerticalLine] = []
    var droppedLines: [String] = []
    var xRange: (Double, Double)?

    /// Validates `spec` (throws for structural errors) and drops what gnuplot could not draw.
    init(_ spec: PlotSpec, name: String) throws {
        self.spec = spec
        guard !spec.series.isEmpty else { throw CotflowError("plot \(name) has no series") }
        for s in spec.series {
            guard s.x.count == s.y.count else {
                throw CotflowError("series '\(s.name)' of plot \(name) has \(s.x.count) x values but \(s.y.count) y values")
            }
            var kept = Series(name: s.name, x: [], y: [], points: s.points)
            kept.x.reserveCapacity(s.x.count)
            kept.y.reserveCapacity(s.y.count)
            for (x, y) in zip(s.x, s.y) {
                if !x.isFinite || !y.isFinite {
                    nonFinite += 1
                } else if (spec.logX && x <= 0) || (spec.logY && y <= 0) {
                    nonPositive += 1
                } else {
                    kept.x.append(x)
                    kept.y.append(y)
                }
            }
            if kept.x.isEmpty { emptySeries.append(s.name) } else { series.append(kept) }
        }
        for band in spec.shaded {
            guard !band.start.isNaN, !band.end.isNaN else {
                throw CotflowError("shaded interval '\(band.label)' of plot \(name) has a NaN bound")
            }
            guard band.start <= band.end else {
                throw CotflowError("shaded interval '\(band.label)' of plot \(name) starts at \(band.start) after its end \(band.end)")
            }
            if spec.logX && band.end <= 0 { droppedBands.append(band.label); continue }
            bands.append(Band(start: band.start, end: band.end, label: band.label))
        }
        for line in spec.verticalLines {
            guard line.x.isFinite else {
                throw CotflowError("vertical line '\(line.label)' of plot \(name) is at non-finite x = \(line.x)")
            }
            if spec.logX && line.x <= 0 { droppedLines.append(line.label); continue }
            lines.append(line)
        }
        // The x range covers the data, the markers and the finite stage bounds.
        var xs = series.flatMap { [$0.x.min()!, $0.x.max()!] } + lines.map(\.x)
        for band in bands {
            for b in [band.start, band.end] where b.isFinite && (!spec.logX || b > 0) { xs.append(b) }
        }
        if let lo = xs.min(), let hi = xs.max(), lo < hi { xRange = (lo, hi) }
        // Clamp the bands to that range; one entirely outside it is not drawn.
        if let (lo, hi) = xRange {
            var inside: [Band] = []
            for var band in bands {
                band.start = max(band.start, lo)
                band.end = min(band.end, hi)
                if band.start < band.end { inside.append(band) } else { droppedBands.append(band.label) }
            }
            bands = inside
        } else if !bands.isEmpty {
            droppedBands += bands.map(\.label)
            bands = []
        }
    }

    /// Sentences on what was left out, or nil.
    func notes(name: String) -> String? {
        var parts: [String] = []
        if nonFinite > 0 { parts.append("dropped \(nonFinite) non-finite point\(nonFinite == 1 ? "" : "s") (NaN or infinite)") }
        if nonPositive > 0 {
            let axes = spec.logX && spec.logY ? "x or y" : spec.logX ? "x" : "y"
            parts.append("dropped \(nonPositive) point\(nonPositive == 1 ? "" : "s") with non-positive values on a log axis (\(axes))")
        }
        if !emptySeries.isEmpty { parts.append("no plottable points in series \(emptySeries.map { "'\($0)'" }.joined(separator: ", "))") }
        if !droppedBands.isEmpty { parts.append("shaded intervals not drawn (outside the axis): \(droppedBands.map { "'\($0)'" }.joined(separator: ", "))") }
        if !droppedLines.isEmpty { parts.append("vertical lines at non-positive x not drawn on the log x axis: \(droppedLines.map { "'\($0)'" }.joined(separator: ", "))") }
        if series.isEmpty { parts.append("the panel is empty") }
        return parts.isEmpty ? nil : "\(name): " + parts.joined(separator: "; ")
    }
}

enum GnuplotScript {
    static let bandColours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
    /// Above this many series the key is left out (a note in the title names the first and last).
    static let maxKeyEntries = 8

    /// A gnuplot single-quoted string: no backslash escapes and no backquote command substitution
    /// happen inside it; a quote is doubled; line breaks and other control characters become spaces.
    static func quote(_ s: String) -> String {
        var out = "'"
        for scalar in s.unicodeScalars {
            if scalar == "'" { out += "''" } else if scalar.value < 0x20 || scalar.value == 0x7f { out += " " } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }

    /// Text for a comment line of the data file.
    /// A trailing backslash would join the next line to the comment, so it gets a space after it.
    static func comment(_ s: String) -> String {
        let text = String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
        return text.hasSuffix("\\") ? text + " " : text
    }

    static func number(_ x: Double) -> String { "\(x)" }

    /// The data: a header, then one block per plotted series, blocks separated by two blank lines
    /// so that gnuplot's `index` selects them. Assigns each series its block index.
    static func data(panels: inout [PreparedPanel], title: String) -> String {
        var out = "# cotflow plot data: \(comment(title))\n"
        out += "# One block per series, two tab-separated columns x and y; blocks are separated by two blank\n"
        out += "# lines, so that gnuplot's `index N` selects block N (counting from 0).\n"
        for (p, panel) in panels.enumerated() where !panel.emptySeries.isEmpty {
            out += "# panel \(p + 1) (\(comment(panel.spec.title))): no plottable points in "
                + panel.emptySeries.map { "'\(comment($0))'" }.joined(separator: ", ") + "\n"
        }
        var index = 0
        for p in panels.indices {
            for s in panels[p].series.indices {
                let series = panels[p].series[s]
                panels[p].series[s].index = index
                if index > 0 { out += "\n\n" }
                out += "# index \(index): panel \(p + 1) (\(comment(panels[p].spec.title))), series '\(comment(series.name))', \(series.x.count) points\n"
                out += "# \(comment(panels[p].spec.xLabel.isEmpty ? "x" : panels[p].spec.xLabel))\t\(comment(panels[p].spec.yLabel.isEmpty ? "y" : panels[p].spec.yLabel))\n"
                for (x, y) in zip(series.x, series.y) { out += number(x) + "\t" + number(y) + "\n" }
                index += 1
            }
        }
        return out
    }

    /// A self-contained script that changes to its own directory, reads `dataName` and writes
    /// `<stem>.svg` and `<stem>.png` (pngcairo, else png, else SVG only with a note).
    static func script(panels: [PreparedPanel], title: String?, dataName: String, stem: String) -> String {
        let width = 960
        let height = panels.count == 1 ? 560 : 40 + 400 * panels.count
        var s = preamble(what: "plot", title: title ?? panels[0].spec.title, dataName: dataName, stem: stem)
            + outputLoopOpening(stem: stem, width: width, height: height)
        let multiplot = title != nil || panels.count > 1
        if let title {
            s += "set multiplot layout \(panels.count),1 title \(quote(title)) noenhanced\n"
        } else if multiplot {
            s += "set multiplot layout \(panels.count),1\n"
        }
        // Shared margins keep the x axes of stacked panels aligned; the right one leaves room for the keys.
        let keyNames = panels.filter(hasKey).flatMap { $0.series.map(\.name.unicodeScalars.count) }
        var right = 0.97
        if let longest = keyNames.max() {
            right = min(0.97, max(0.6, 1 - (Double(longest) * 7.5 + 70) / Double(width)))
        }
        for (p, panel) in panels.enumerated() {
            s += "\n# Panel \(p + 1): \(comment(panel.spec.title))\n"
            s += "set lmargin at screen 0.09\nset rmargin at screen \(String(format: "%.3f", right))\n"
            s += self.panel(panel)
        }
        if multiplot { s += "unset multiplot\n" }
        s += "unset output\n}\n}\n"
        return s
    }

    /// The opening of every cotflow script: what it is, a change to its own directory (so that
    /// relative file names resolve), `cotflow_data`, and which PNG terminal this gnuplot has.
    static func preamble(what: String, title: String, dataName: String, stem: String) -> String {
        """
        # cotflow \(what): \(comment(title))
        # Render with `gnuplot \(comment(stem)).gp`; it reads \(comment(dataName)) next to it
        # and writes \(comment(stem)).svg and \(comment(stem)).png there.

        # Work in the directory of this script, so that the relative file names below resolve.
        if (exists("ARG0") && strlen(ARG0) > 0) {
            cotflow_dir = ""
            do for [cotflow_i = strlen(ARG0):1:-1] {
                if (cotflow_dir eq "" && ARG0[cotflow_i:cotflow_i] eq "/") { cotflow_dir = ARG0[1:cotflow_i] }
            }
            if (cotflow_dir ne "") { cd cotflow_dir }
        }

        cotflow_data = \(quote(dataName))
        cotflow_terminals = " " . GPVAL_TERMINALS . " "
        cotflow_png = strstrt(cotflow_terminals, " pngcairo ") > 0 ? "pngcairo" : (strstrt(cotflow_terminals, " png ") > 0 ? "png" : "")
        if (cotflow_png eq "") { print "cotflow: this gnuplot has no PNG terminal (pngcairo or png); writing SVG only" }


        """
    }

    /// Opens the loop that draws the figure once as `<stem>.svg` and once as `<stem>.png` (when
    /// there is a PNG terminal); the caller closes it with `unset output\n}\n}\n`.
    static func outputLoopOpening(stem: String, width: Int, height: Int) -> String {
        """
        do for [cotflow_format in "svg png"] {
        if (cotflow_format eq "svg" || cotflow_png ne "") {
        if (cotflow_format eq "svg") {
            set terminal svg size \(width),\(height) enhanced font "sans,12" background "#ffffff"
            set output \(quote(stem + ".svg"))
        } else {
            if (cotflow_png eq "pngcairo") {
                set terminal pngcairo size \(width),\(height) enhanced font "sans,10" background "#ffffff"
            } else {
                set terminal png size \(width),\(height) enhanced background "#ffffff"
            }
            set output \(quote(stem + ".png"))
        }

        """
    }

    static func hasKey(_ panel: PreparedPanel) -> Bool {
        !panel.series.isEmpty && panel.series.count <= maxKeyEntries
    }

    static func panel(_ panel: PreparedPanel) -> String {
        let spec = panel.spec
        var s = """
        unset object
        unset label
        unset arrow
        unset logscale
        set autoscale
        set grid lc rgb "#dddddd" lw 1
        set border lc rgb "#404040"

        """
        var title = spec.title
        if panel.series.count > maxKeyEntries {
            let names = panel.series.map(\.name)
            title += (title.isEmpty ? "" : " ") + "(\(names.count) series, \(names.first!) ... \(names.last!))"
        }
        s += "set title \(quote(title)) noenhanced\n"
        s += "set xlabel \(quote(spec.xLabel)) noenhanced\n"
        s += "set ylabel \(quote(spec.yLabel)) noenhanced\n"
        if spec.logX { s += "set logscale x\n" }
        if spec.logY { s += "set logscale y\n" }
        // "% h" picks a fixed format on some log ranges (1000.0000000); mantissa x 10^power is unambiguous.
        s += spec.logX ? "set format x \"%.0t×10^{%T}\"\n" : "set format x \"% h\"\n"
        s += spec.logY ? "set format y \"%.0t×10^{%T}\"\n" : "set format y \"% h\"\n"
        if let (lo, hi) = panel.xRange {
            s += "set xrange [\(number(lo)):\(number(hi))]\n"
        } else if panel.series.isEmpty {
            s += spec.logX ? "set xrange [1:10]\n" : "set xrange [0:1]\n"
        } else {
            s += "set xrange [*:*]\n"
        }
        s += panel.series.isEmpty ? (spec.logY ? "set yrange [1:10]\n" : "set yrange [0:1]\n") : "set yrange [*:*]\n"
        if !hasKey(panel) {
            s += "set key off\n"
        } else {
            s += "set key on outside right top vertical Left reverse noenhanced samplen 2 spacing 1.1\n"
        }
        for (i, band) in panel.bands.enumerated() {
            let colour = bandColours[i % bandColours.count]
            s += "set object rect from first \(number(band.start)), graph 0 to first \(number(band.end)), graph 1 "
                + "behind fillcolor rgb \"\(colour)\" fillstyle transparent solid 0.18 noborder\n"
            let mid = spec.logX ? (band.start * band.end).squareRoot() : (band.start + band.end) / 2
            let height = i % 2 == 0 ? 0.96 : 0.90
            s += "set label \(quote(band.label)) at first \(number(mid)), graph \(height) center front noenhanced tc rgb \"#202020\"\n"
        }
        for line in panel.lines {
            s += "set arrow from first \(number(line.x)), graph 0 to first \(number(line.x)), graph 1 nohead front dt 2 lw 1.5 lc rgb \"#333333\"\n"
            s += "set label \(quote(line.label)) at first \(number(line.x)), graph 0.04 left rotate by 90 offset character -1.5, 0 front noenhanced tc rgb \"#333333\"\n"
        }
        if panel.series.isEmpty {
            s += "set label 'no plottable data' at graph 0.5, graph 0.5 center front\n"
            s += "plot NaN notitle\n"
            return s
        }
        let width = panel.series.count > maxKeyEntries ? 1.2 : 2.0
        let curves = panel.series.map { series -> String in
            let style = series.x.count == 1 || series.points ? "with points pt 7 ps 0.8" : "with lines lw \(width)"
            return "cotflow_data index \(series.index) using 1:2 \(style) title \(quote(series.name)) noenhanced"
        }
        s += "plot " + curves.joined(separator: ", \\\n     ") + "\n"
        return s
    }
}
