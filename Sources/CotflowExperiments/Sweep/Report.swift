import CotflowCore
import Foundation

/// A short human-readable report of where behaviour changes across a sweep.
///
/// - Failed points (with their messages) and, for 0/1-valued metrics such as `converged`, the
///   points where the flag is 0.
/// - Along each axis (on each line of the other axis of a 2-axis grid), for each metric:
///   - the adjacent pair with the largest change: relative change `|b - a| / max(|a|, |b|)`, or
///     `|log10(b / a)|` for a positive metric whose values span a decade or more;
///   - where it stops (or starts) being finite, and where a 0/1 metric flips;
///   - where a monotone trend reverses ("final_loss stops falling with k between k = 8 and k = 10");
///   - otherwise that it rises, falls or stays constant throughout.
/// At most three events of a kind are listed per metric and axis.
/// Axes named in `replicateAxes` (by default `seed`) have no order: along them only the spread
/// between replicates is reported, never trends or reversals.
public func sweepReport(records: [SweepRecord], grid: SweepGrid, metricNames: [String],
                        replicateAxes: Set<String> = ["seed"]) -> String {
    var byIndex: [Int: SweepRecord] = [:]
    for r in records where r.index >= 0 && r.index < grid.count { byIndex[r.index] = r }
    var out: [String] = []

    let axesText = grid.axes.map { axis -> String in
        let v = axis.values
        let range = v.count <= 4 ? v.map(SweepFormat.number).joined(separator: ", ")
            : "\(SweepFormat.number(v[0])), \(SweepFormat.number(v[1])), ..., \(SweepFormat.number(v[v.count - 1]))"
        return "\(axis.name) in {\(range)} (\(v.count) value\(v.count == 1 ? "" : "s"))"
    }.joined(separator: " x ")
    let failed = byIndex.values.filter { !$0.succeeded }.sorted { $0.index < $1.index }
    out.append("sweep over \(axesText): \(grid.count) point\(grid.count == 1 ? "" : "s"), "
        + "\(byIndex.count - failed.count) ok, \(failed.count) failed"
        + (byIndex.count < grid.count ? ", \(grid.count - byIndex.count) missing" : ""))
    for r in failed.prefix(5) {
        out.append("  failed at \(grid.point(r.index).label): \(SweepFormat.oneLine(r.status))")
    }
    if failed.count > 5 { out.append("  ... and \(failed.count - 5) more failed points") }

    // Metric values by point (NaN where a record has no value or is missing).
    // Failed points count as absent here: they are listed above, and their NaNs are no finding.
    func value(_ m: Int, _ index: Int) -> Double? {
        guard let r = byIndex[index], r.succeeded else { return nil }
        return r.metrics.indices.contains(m) ? r.metrics[m] : .nan
    }

    var binary = [Bool](repeating: false, count: metricNames.count)
    var logScale = [Bool](repeating: false, count: metricNames.count)
    for m in metricNames.indices {
        let finite = (0..<grid.count).compactMap { value(m, $0) }.filter(\.isFinite)
        binary[m] = !finite.isEmpty && finite.allSatisfy { $0 == 0 || $0 == 1 }
        if let lo = finite.min(), let hi = finite.max(), lo > 0 { logScale[m] = hi / lo >= 10 }
        if binary[m] {
            let zeros = (0..<grid.count).filter { value(m, $0) == 0 }
            if !zeros.isEmpty {
                let where_ = zeros.prefix(6).map { grid.point($0).label }.joined(separator: "; ")
                out.append("\(metricNames[m]) = 0 at \(zeros.count) of \(finite.count) points: \(where_)\(zeros.count > 6 ? "; ..." : "")")
            }
        }
        if finite.isEmpty, !byIndex.isEmpty {
            out.append("\(metricNames[m]) is not finite at any point")
        }
    }

    for (a, axis) in grid.axes.enumerated() where axis.values.count >= 2 {
        // Lines along axis a: the points sharing the positions of the other axes.
        var lines: [[Int]] = []
        for p in grid.points where p.positions[a] == 0 {
            lines.append(axis.values.indices.map { i -> Int in
                var positions = p.positions
                positions[a] = i
                return index(of: positions, in: grid)
            })
        }
        if replicateAxes.contains(axis.name) {
            out.append(contentsOf: replicateSpread(axis: axis.name, axisIndex: a, lines: lines, grid: grid,
                                                   metricNames: metricNames, binary: binary, value: value))
            continue
        }
        out.append("along \(axis.name):")
        for m in metricNames.indices {
            let name = metricNames[m]
            var biggest: (change: Double, line: Int, at: Int)?
            var finiteEvents: [String] = [], flipEvents: [String] = [], reversals: [String] = []
            var directions = Set<Int>()
            for (l, line) in lines.enumerated() {
                let context = grid.axes.count > 1 ? " at " + otherLabel(grid, line[0], excluding: a) : ""
                var trend = 0
                for j in 0..<(line.count - 1) {
                    guard let x = value(m, line[j]), let y = value(m, line[j + 1]) else { trend = 0; continue }
                    let between = "between \(axis.name) = \(SweepFormat.number(axis.values[j])) and \(axis.name) = \(SweepFormat.number(axis.values[j + 1]))"
                    if x.isFinite != y.isFinite {
                        finiteEvents.append(x.isFinite ? "\(name) stops being finite \(between) (\(fmt(x)) -> \(SweepFormat.number(y)))\(context)"
                                                       : "\(name) becomes finite \(between)\(context)")
                    }
                    guard x.isFinite, y.isFinite else { trend = 0; continue }
                    if binary[m] {
                        if x != y { flipEvents.append("\(name) \(y < x ? "drops" : "rises") from \(SweepFormat.number(x)) to \(SweepFormat.number(y)) \(between)\(context)") }
                        continue
                    }
                    let change = logScale[m] ? abs(Foundation.log10(y / x))
                        : (x == y ? 0 : abs(y - x) / max(abs(x), abs(y)))
                    if change > (biggest?.change ?? 0) { biggest = (change, l, j) }
                    let step = abs(y - x) <= 1e-9 * max(abs(x), abs(y)) ? 0 : (y > x ? 1 : -1)
                    if step != 0 {
                        directions.insert(step)
                        if trend != 0, step != trend {
                            reversals.append("\(name) stops \(trend < 0 ? "falling" : "rising") with \(axis.name) \(between) "
                                + "(\(trend < 0 ? "minimum" : "maximum") \(fmt(x)) at \(axis.name) = \(SweepFormat.number(axis.values[j])))\(context)")
                        }
                        trend = step
                    }
                }
            }
            var summary = "  \(name):"
            if binary[m] {
                summary += flipEvents.isEmpty ? " no change" : " changes at \(flipEvents.count) place\(flipEvents.count == 1 ? "" : "s")"
            } else if let b = biggest {
                let line = lines[b.line]
                let x = value(m, line[b.at])!, y = value(m, line[b.at + 1])!
                let context = grid.axes.count > 1 ? " at " + otherLabel(grid, line[0], excluding: a) : ""
                let trendText = reversals.isEmpty && finiteEvents.isEmpty
                    ? (directions == [1] ? " rises throughout;" : directions == [-1] ? " falls throughout;" : "") : ""
                summary += trendText + " largest change between \(axis.name) = \(SweepFormat.number(axis.values[b.at])) and "
                    + "\(axis.name) = \(SweepFormat.number(axis.values[b.at + 1]))\(context): \(fmt(x)) -> \(fmt(y)) (\(changeText(x, y)))"
            } else if finiteEvents.isEmpty {
                summary += directions.isEmpty ? " constant" : " no comparable values"
            }
            if summary != "  \(name):" { out.append(summary) }
            for events in [finiteEvents, flipEvents, reversals] {
                for e in events.prefix(3) { out.append("    " + e) }
                if events.count > 3 { out.append("    ... and \(events.count - 3) more like this") }
            }
        }
    }
    return out.joined(separator: "\n") + "\n"
}

/// For an unordered replicate axis: per metric, the largest spread between replicates at one
/// setting of the other axes, `(max - min) / max(|max|, |min|)`; for a 0/1 metric, the settings
/// where replicates disagree.
private func replicateSpread(axis: String, axisIndex a: Int, lines: [[Int]], grid: SweepGrid, metricNames: [String],
                             binary: [Bool], value: (Int, Int) -> Double?) -> [String] {
    var out = ["across \(axis) (replicates, unordered):"]
    for (m, name) in metricNames.enumerated() {
        var widest: (spread: Double, lo: Double, hi: Double, line: Int)?
        var disagreeing = 0
        for (l, line) in lines.enumerated() {
            let values = line.compactMap { value(m, $0) }.filter(\.isFinite)
            guard let lo = values.min(), let hi = values.max(), values.count >= 2 else { continue }
            if binary[m] {
                if lo != hi { disagreeing += 1 }
                continue
            }
            let spread = lo == hi ? 0 : (hi - lo) / max(abs(lo), abs(hi))
            if spread > (widest?.spread ?? -1) { widest = (spread, lo, hi, l) }
        }
        if binary[m] {
            out.append("  \(name): " + (disagreeing == 0 ? "the same for every \(axis)" : "differs between replicates at \(disagreeing) of \(lines.count) settings"))
        } else if let w = widest {
            let context = grid.axes.count > 1 ? " at " + otherLabel(grid, lines[w.line][0], excluding: a) : ""
            out.append("  \(name): spread up to \(short(w.spread * 100))%\(context) (\(fmt(w.lo)) to \(fmt(w.hi)))")
        }
    }
    return out
}

/// The index of the point at the given positions.
private func index(of positions: [Int], in grid: SweepGrid) -> Int {
    var index = 0
    for (a, axis) in grid.axes.enumerated() { index = index * axis.values.count + positions[a] }
    return index
}

/// `eta = 0.5`: the point's values on the axes other than `a`.
private func otherLabel(_ grid: SweepGrid, _ index: Int, excluding a: Int) -> String {
    let p = grid.point(index)
    return p.names.indices.filter { $0 != a }.map { "\(p.names[$0]) = \(SweepFormat.number(p.values[$0]))" }.joined(separator: ", ")
}

/// "rises by a factor 375", "falls by 37%", "changes sign".
private func changeText(_ x: Double, _ y: Double) -> String {
    if x == y { return "no change" }
    if (x > 0 && y > 0) || (x < 0 && y < 0) {
        let r = y / x
        if r >= 2 { return "grows by a factor \(short(r))" }
        if r <= 0.5 { return "shrinks by a factor \(short(1 / r))" }
        return "\(y > x ? "rises" : "falls") by \(short(abs(y - x) / abs(x) * 100))%"
    }
    if x == 0 { return "from 0" }
    if y == 0 { return "to 0" }
    return "changes sign"
}

/// Three significant digits.
private func short(_ x: Double) -> String { String(format: "%.3g", x) }
