import CotflowCore
import Foundation

/// A panel after validation: the plottable points of each series and what was dropped.
struct PreparedPanel {
    struct Series {
        var name: String
        var x: [Double]
        var y: [Double]
        var group: String? = nil
        var dashed = false
        var colourGroup: String? = nil
        var low: [Double]? = nil
        var high: [Double]? = nil
        var points = false
        var bandName: String? = nil
        var index = 0   // data block in the .tsv
        var keyName: String { group ?? name }
    }

    struct Band {
        var start: Double
        var end: Double
        var label: String
        var colour: String? = nil
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
    var references: [HorizontalLine] = []
    var xRange: (Double, Double)?

    /// Validates `spec` (throws for structural errors) and drops what gnuplot could not draw.
    init(_ spec: PlotSpec, name: String) throws {
        self.spec = spec
        guard !spec.series.isEmpty else { throw PlotError.noSeries(plot: name) }
        for s in spec.series {
            guard s.x.count == s.y.count else {
                throw PlotError.seriesLengths(series: s.name, plot: name, x: s.x.count, y: s.y.count)
            }
            let spread = s.low != nil && s.high != nil
            if spread {
                guard s.low!.count == s.y.count, s.high!.count == s.y.count else {
                    throw PlotError.spreadLength(series: s.name, plot: name, values: s.y.count)
                }
            }
            var kept = Series(name: s.name, x: [], y: [], group: s.group, dashed: s.dashed, colourGroup: s.colourGroup,
                              low: spread ? [] : nil, high: spread ? [] : nil, points: s.points,
                              bandName: spread ? s.bandName : nil)
            kept.x.reserveCapacity(s.x.count)
            kept.y.reserveCapacity(s.y.count)
            for (i, (x, y)) in zip(s.x, s.y).enumerated() {
                let lo = spread ? s.low![i] : y, hi = spread ? s.high![i] : y
                if !x.isFinite || !y.isFinite || !lo.isFinite || !hi.isFinite {
                    nonFinite += 1
                } else if (spec.logX && x <= 0) || (spec.logY && min(y, lo) <= 0) {
                    nonPositive += 1
                } else {
                    kept.x.append(x)
                    kept.y.append(y)
                    if spread { kept.low!.append(lo); kept.high!.append(hi) }
                }
            }
            if kept.x.isEmpty { emptySeries.append(s.name) } else { series.append(kept) }
        }
        for band in spec.shaded {
            guard !band.start.isNaN, !band.end.isNaN else {
                throw PlotError.nanBound(band: band.label, plot: name)
            }
            guard band.start <= band.end else {
                throw PlotError.bandReversed(band: band.label, plot: name, start: band.start, end: band.end)
            }
            if spec.logX && band.end <= 0 { droppedBands.append(band.label); continue }
            bands.append(Band(start: band.start, end: band.end, label: band.label, colour: band.colour))
        }
        for line in spec.verticalLines {
            guard line.x.isFinite else {
                throw PlotError.verticalLine(label: line.label, plot: name, x: line.x)
            }
            if spec.logX && line.x <= 0 { droppedLines.append(line.label); continue }
            lines.append(line)
        }
        for line in spec.horizontalLines {
            guard line.y.isFinite else {
                throw PlotError.referenceLine(label: line.label, plot: name, y: line.y)
            }
            if spec.logY && line.y <= 0 { droppedLines.append(line.label); continue }
            references.append(line)
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
        if !droppedLines.isEmpty { parts.append("lines at non-positive positions not drawn on a log axis: \(droppedLines.map { "'\($0)'" }.joined(separator: ", "))") }
        if series.isEmpty { parts.append("the panel is empty") }
        return parts.isEmpty ? nil : "\(name): " + parts.joined(separator: "; ")
    }
}

enum GnuplotScript {
    static let bandColours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
    /// Line colours: saturated enough to read on white (no pale yellow or light grey).
    static let lineColours = ["#1f5fa8", "#d1495b", "#2a9d3f", "#e07b00", "#7b4fb0", "#8c564b", "#c2378f", "#00838f", "#4d4d4d", "#8a8a00"]
    /// Above this many key entries (groups of series) the key is left out (a note in the title names the first and last).
    static let maxKeyEntries = 10
    /// Curves with at most this many points are drawn with point markers.
    static let sparsePoints = 40

    /// The key entries of a panel in order of first appearance: a group's name once, or a series' name.
    static func keyEntries(_ panel: PreparedPanel) -> [String] {
        var seen = Set<String>(), names: [String] = []
        for series in panel.series where seen.insert(series.keyName).inserted { names.append(series.keyName) }
        return names
    }

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
                out += "# \(comment(panels[p].spec.xLabel.isEmpty ? "x" : panels[p].spec.xLabel))\t\(comment(panels[p].spec.yLabel.isEmpty ? "y" : panels[p].spec.yLabel))"
                    + (series.low != nil ? "\tlow\thigh" : "") + "\n"
                for i in series.x.indices {
                    out += number(series.x[i]) + "\t" + number(series.y[i])
                    if let low = series.low, let high = series.high { out += "\t" + number(low[i]) + "\t" + number(high[i]) }
                    out += "\n"
                }
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
        var keyNames: [Int] = []
        for panel in panels where hasKey(panel) {
            let marked: [String] = bandLabels(panel) + panel.lines.map(\.label)
            let entries: [String] = keyEntries(panel) + panel.series.compactMap(\.bandName) + marked.map { "A: " + $0 } + panel.references.map(\.label)
            keyNames += entries.map(\.unicodeScalars.count)
        }
        var right = 0.97
        if let longest = keyNames.max() {
            right = min(0.97, max(0.5, 1 - (Double(longest) * 8.5 + 80) / Double(width)))
        }
        for (p, panel) in panels.enumerated() {
            s += "\n# Panel \(p + 1): \(comment(panel.spec.title))\n"
            s += "set lmargin at screen 0.11\nset rmargin at screen \(String(format: "%.3f", right))\n"
            s += self.panel(panel, titleWidth: Int((right - 0.11) * Double(width) / 7.5))
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

    /// A, B, ..., Z, A2, B2, ...: the mark of vertical line i.
    static func lineLetter(_ i: Int) -> String {
        let letter = String(UnicodeScalar(UInt8(65 + i % 26)))
        return i < 26 ? letter : letter + "\(i / 26 + 1)"
    }

    /// The labels of a panel's bands in order of first appearance (bands with one label share a number).
    static func bandLabels(_ panel: PreparedPanel) -> [String] {
        var seen = Set<String>()
        return panel.bands.map(\.label).filter { seen.insert($0).inserted }
    }

    /// The colour of each band label: its own, else the next band colour.
    static func bandColour(_ panel: PreparedPanel, label: String) -> String {
        let labels = bandLabels(panel), i = labels.firstIndex(of: label) ?? 0
        return panel.bands.first { $0.label == label }?.colour ?? bandColours[i % bandColours.count]
    }

    static func hasKey(_ panel: PreparedPanel) -> Bool {
        !panel.series.isEmpty && keyEntries(panel).count <= maxKeyEntries
    }

    /// Tick format of a log axis over the values `values`: powers of ten as 10^p when the values
    /// span a decade or more (ticks at powers of ten only), plain numbers otherwise.
    static func logAxis(_ axis: String, values: [Double]) -> String {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard let lo = positive.min(), let hi = positive.max() else { return "set format \(axis) \"%g\"\nset \(axis)tics autofreq\n" }
        guard hi / lo >= 10 else {
            // Less than a decade: gnuplot would label only powers of ten (often none), so list
            // 1-2-5 values inside the range (every integer mantissa when those are too few).
            let first = Int(log10(lo).rounded(.down)), last = Int(log10(hi).rounded(.up))
            func tics(_ mantissas: [Double]) -> [Double] {
                var out: [Double] = []
                for p in first...max(first, last) {
                    let scale: Double = pow(10, Double(p))
                    for m in mantissas where m * scale >= lo * (1 - 1e-9) && m * scale <= hi * (1 + 1e-9) { out.append(m * scale) }
                }
                return out
            }
            var list = tics([1, 2, 5])
            if list.count < 3 { list = tics([1, 2, 3, 4, 5, 6, 7, 8, 9]) }
            if list.count < 3 {
                let fine = tics(Array(stride(from: 1.0, to: 10.0, by: 0.1)))
                let every = max(1, fine.count / 6)
                list = Swift.stride(from: 0, to: fine.count, by: every).map { fine[$0] }
            }
            if list.count < 2 { return "set format \(axis) \"%g\"\nset \(axis)tics autofreq\n" }
            return "set format \(axis) \"%g\"\nset \(axis)tics (\(list.map { number($0) }.joined(separator: ", ")))\nset m\(axis)tics default\n"
        }
        let decades = log10(hi / lo)
        let step = pow(10, max(1, (decades / 8).rounded(.up)))
        // Start at a power of ten, so that every tic is one and its label 10^p is exact.
        let start = pow(10, log10(lo).rounded(.down))
        return "set format \(axis) \"10^{%L}\"\nset \(axis)tics \(number(start)), \(number(step))\nset m\(axis)tics 10\n"
    }

    /// `text` broken at spaces into lines of at most `width` characters (a longer word stays whole).
    static func wrapped(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !line.isEmpty, line.count + 1 + word.count > max(width, 10) { lines.append(line); line = String(word) }
            else { line += (line.isEmpty ? "" : " ") + word }
        }
        return lines + [line]
    }

    static func panel(_ panel: PreparedPanel, titleWidth: Int = 100) -> String {
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
        let entries = keyEntries(panel)
        if entries.count > maxKeyEntries {
            title += (title.isEmpty ? "" : " ") + "(\(entries.count) series, \(entries.first!) ... \(entries.last!))"
        }
        // A title wider than the plot is wrapped, so that it does not spill past the frame.
        s += "set title " + wrapped(title, width: titleWidth).map(quote).joined(separator: " . \"\\n\" . ") + " noenhanced\n"
        s += "set xlabel \(quote(spec.xLabel)) noenhanced\n"
        s += "set ylabel \(quote(spec.yLabel)) noenhanced\n"
        if spec.logX { s += "set logscale x\n" }
        if spec.logY { s += "set logscale y\n" }
        // Log axes: 10^p at powers of ten over a decade or more, plain numbers below; linear: %h
        // (not "% h": after a "%L" axis gnuplot 5.4 prints it as 0.10000, labels running together).
        s += spec.logX ? logAxis("x", values: panel.series.flatMap(\.x)) : "set format x \"%h\"\nset xtics autofreq\nset mxtics default\n"
        s += spec.logY ? logAxis("y", values: panel.series.flatMap { $0.y + ($0.low ?? []) + ($0.high ?? []) } + panel.references.map(\.y))
            : "set format y \"%h\"\nset ytics autofreq\nset mytics default\n"
        if let (lo, hi) = panel.xRange {
            s += "set xrange [\(number(lo)):\(number(hi))]\n"
        } else if panel.series.isEmpty {
            s += spec.logX ? "set xrange [1:10]\n" : "set xrange [0:1]\n"
        } else {
            s += "set xrange [*:*]\n"
        }
        s += panel.series.isEmpty ? (spec.logY ? "set yrange [1:10]\n" : "set yrange [0:1]\n") : "set yrange [*:*]\n"        // A little room above and below on a linear y axis, so that a reference line at the extreme
        // value (w = 1 at the end of training) is not hidden by the frame.
        // Stage numbers and line letters sit at the top: keep the curves below them.
        let marked = !panel.bands.isEmpty || !panel.lines.isEmpty
        let top = panel.series.isEmpty ? 0 : marked ? 0.12 : spec.logY ? 0 : 0.05
        let bottom = panel.series.isEmpty || spec.logY ? 0 : 0.05
        s += top == 0 && bottom == 0 ? "set offsets 0, 0, 0, 0\n" : "set offsets 0, 0, graph \(top), graph \(bottom)\n"

        if !hasKey(panel) {
            s += "set key off\n"
        } else {
            s += "set key on outside right top vertical Left reverse noenhanced samplen 2 spacing 1.1\n"
        }
        let labels = bandLabels(panel)
        for band in panel.bands {
            let colour = bandColour(panel, label: band.label)
            s += "set object rect from first \(number(band.start)), graph 0 to first \(number(band.end)), graph 1 "
                + "behind fillcolor rgb \"\(colour)\" fillstyle transparent solid 0.18 noborder\n"
            // The band's name is in the key (labels inside narrow bands overlap); its number marks it.
            let mid = spec.logX ? (band.start * band.end).squareRoot() : (band.start + band.end) / 2
            s += "set label \(quote("\(labels.firstIndex(of: band.label)! + 1)")) at first \(number(mid)), graph 0.97 center front noenhanced tc rgb \"#202020\"\n"
        }
        // A vertical line carries a letter; its text is in the key (rotated labels overlapped the
        // frame, the tic labels and each other).
        for (i, line) in panel.lines.enumerated() {
            s += "set arrow from first \(number(line.x)), graph 0 to first \(number(line.x)), graph 1 nohead front dt 2 lw 1.5 lc rgb \"#333333\"\n"
            if hasKey(panel) {
                s += "set label \(quote(lineLetter(i))) at first \(number(line.x)), graph 0.88 left offset character 0.3, 0 front noenhanced tc rgb \"#333333\"\n"
            } else {
                s += "set label \(quote(line.label)) at first \(number(line.x)), graph 0.04 left rotate by 90 offset character -1.5, 0 front noenhanced tc rgb \"#333333\"\n"
            }
        }
        if panel.series.isEmpty {
            s += "set label 'no plottable data' at graph 0.5, graph 0.5 center front\n"
            s += "plot NaN notitle\n"
            return s
        }
        let width = panel.series.count > maxKeyEntries ? 1.2 : 2.0
        var colourOf: [String: String] = [:]
        for series in panel.series where colourOf[series.colourGroup ?? series.keyName] == nil {
            colourOf[series.colourGroup ?? series.keyName] = lineColours[colourOf.count % lineColours.count]
        }
        var titled = Set<String>()
        // Shaded spreads first, so that every line is drawn over them.
        var curves = panel.series.compactMap { series -> String? in
            guard let band = series.bandName, series.low != nil else { return nil }
            let colour = colourOf[series.colourGroup ?? series.keyName]!
            let title = hasKey(panel) ? "title \(quote(band)) noenhanced" : "notitle"
            return "cotflow_data index \(series.index) using 1:3:4 with filledcurves fillcolor rgb \"\(colour)\" fillstyle transparent solid 0.2 noborder \(title)"
        }
        curves += panel.series.map { series -> String in
            let colour = "lc rgb \"\(colourOf[series.colourGroup ?? series.keyName]!)\"" + (series.dashed ? " dt 2" : " dt 1")
            let style: String
            if series.low != nil, series.bandName != nil {
                style = series.x.count <= sparsePoints ? "using 1:2 with linespoints lw \(width) pt 7 ps 0.6 \(colour)" : "using 1:2 with lines lw \(width) \(colour)"
            } else if series.low != nil {
                style = "using 1:2:3:4 with yerrorlines lw \(width) pt 7 ps 0.6 \(colour)"
            } else if series.x.count == 1 || series.points {
                style = "using 1:2 with points pt 7 ps 0.8 \(colour)"
            } else if series.x.count <= sparsePoints {
                style = "using 1:2 with linespoints lw \(width) pt 7 ps 0.6 \(colour)"
            } else {
                style = "using 1:2 with lines lw \(width) \(colour)"
            }
            let title = titled.insert(series.keyName).inserted && hasKey(panel) ? "title \(quote(series.keyName)) noenhanced" : "notitle"
            return "cotflow_data index \(series.index) \(style) \(title)"
        }
        // Reference lines are constant functions, so that the y range includes them; stages get key entries.
        for line in panel.references {
            curves.append("\(number(line.y)) with lines dt 3 lw 1.5 lc rgb \"#505050\" title \(quote(line.label)) noenhanced")
        }
        for (i, line) in panel.lines.enumerated() where hasKey(panel) {
            curves.append("NaN with lines dt 2 lw 1.5 lc rgb \"#333333\" title \(quote("\(lineLetter(i)): \(line.label)")) noenhanced")
        }
        for (i, label) in labels.enumerated() where hasKey(panel) {
            curves.append("NaN with boxes fillstyle transparent solid 0.18 noborder lc rgb \"\(bandColour(panel, label: label))\" title \(quote("\(i + 1): \(label)")) noenhanced")
        }
        s += "plot " + curves.joined(separator: ", \\\n     ") + "\n"
        return s
    }
}
