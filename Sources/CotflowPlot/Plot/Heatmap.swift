import CotflowCore
import Foundation

extension Plotter {
    /// Heatmaps of matrices, side by side (two per row), through gnuplot's `matrix with image`.
    ///
    /// Writes `<base>.tsv` (one block per map: `rows` lines of `cols` tab-separated values, blocks
    /// separated by two blank lines so that `index N` selects map N) and `<base>.gp`, then runs
    /// gnuplot when it is available to draw `<base>.svg` and `<base>.png`; the same rules as
    /// `render(panels:to:title:)` (stale figures removed, data and script always written, the outcome
    /// says what happened). Each map has its own colour range, symmetric around 0 (blue negative,
    /// white 0, red positive), so that its sign pattern reads at any scale; row 0 is drawn at the top.
    /// `blockLines` are indices `b` where a block starts: a line is drawn between rows `b - 1` and
    /// `b` and between columns `b - 1` and `b` (for example `[d, d + 1, 2d + 1]` for the token blocks).
    /// Non-finite entries are drawn blank and counted in the message.
    /// Throws `PlotError` (or a write error) for an unwritable path, no maps, or a map whose size does not match its values.
    public static func renderHeatmaps(_ maps: [(title: String, rows: Int, cols: Int, values: [Double])],
                                      to base: String, title: String, blockLines: [Int] = []) throws -> PlotOutcome {
        try renderHeatmaps(maps, to: base, title: title, blockLines: blockLines, options: Options())
    }

    static func renderHeatmaps(_ maps: [(title: String, rows: Int, cols: Int, values: [Double])],
                               to base: String, title: String, blockLines: [Int], options: Options) throws -> PlotOutcome {
        guard !maps.isEmpty else { throw PlotError.noHeatmaps }
        for m in maps where m.rows < 1 || m.cols < 1 || m.values.count != m.rows * m.cols {
            throw PlotError.heatmapSize(title: m.title, rows: m.rows, cols: m.cols, values: m.values.count)
        }
        let base = try normalisedBase(base)
        let stem = URL(fileURLWithPath: base).lastPathComponent

        // Data: one matrix block per map.
        var data = "# cotflow heatmap data: \(GnuplotScript.comment(title))\n"
        data += "# One block per map (rows of tab-separated values, row 0 first); blocks are separated by two\n"
        data += "# blank lines, so that gnuplot's `index N matrix` selects map N (counting from 0).\n"
        var nonFinite = 0
        for (i, m) in maps.enumerated() {
            if i > 0 { data += "\n\n" }
            data += "# index \(i): \(GnuplotScript.comment(m.title)), \(m.rows) x \(m.cols)\n"
            for r in 0..<m.rows {
                data += (0..<m.cols).map { c -> String in
                    let x = m.values[r * m.cols + c]
                    if !x.isFinite { nonFinite += 1; return "NaN" }
                    return GnuplotScript.number(x)
                }.joined(separator: "\t") + "\n"
            }
        }

        // Script.
        let columns = min(maps.count, 2), rows = (maps.count + columns - 1) / columns
        let width = 520 * columns, height = 60 + 470 * rows
        var s = GnuplotScript.preamble(what: "heatmaps", title: title, dataName: stem + ".tsv", stem: stem)
        s += """
        # Diverging palette, symmetric around 0: blue negative, white zero, red positive.
        set palette defined (-1 "#2166ac", -0.5 "#92c5de", 0 "#f7f7f7", 0.5 "#f4a582", 1 "#b2182b")
        set size ratio -1
        unset key
        set tics out nomirror font ",8"
        set cbtics font ",8"
        set format cb "% h"


        """
        s += GnuplotScript.outputLoopOpening(stem: stem, width: width, height: height)
        s += "set multiplot layout \(rows),\(columns) title \(GnuplotScript.quote(title)) noenhanced\n"
        for (i, m) in maps.enumerated() {
            let finite = m.values.filter { $0.isFinite }
            let scale = finite.map(abs).max() ?? 0
            let range = scale > 0 ? scale : 1
            s += "\n# Map \(i + 1): \(GnuplotScript.comment(m.title))\nunset arrow\n"
            s += "set title \(GnuplotScript.quote(m.title + "  (|max| \(fmt(scale)))")) noenhanced\n"
            s += "set xrange [-0.5:\(GnuplotScript.number(Double(m.cols) - 0.5))]\n"
            s += "set yrange [\(GnuplotScript.number(Double(m.rows) - 0.5)):-0.5]\n"
            s += "set cbrange [\(GnuplotScript.number(-range)):\(GnuplotScript.number(range))]\n"
            for b in blockLines {
                let at = GnuplotScript.number(Double(b) - 0.5)
                if b > 0 && b < m.cols {
                    s += "set arrow from \(at), graph 0 to \(at), graph 1 nohead front lw 1.2 lc rgb \"#202020\"\n"
                }
                if b > 0 && b < m.rows {
                    s += "set arrow from graph 0, first \(at) to graph 1, first \(at) nohead front lw 1.2 lc rgb \"#202020\"\n"
                }
            }
            s += "plot cotflow_data index \(i) matrix with image notitle\n"
        }
        s += "unset multiplot\nunset output\n}\n}\n"

        let notes = nonFinite > 0 ? ["\(nonFinite) non-finite entr\(nonFinite == 1 ? "y" : "ies") drawn blank"] : []
        return try writeAndRender(data: data, script: s, base: base, notes: notes, options: options)
    }
}
