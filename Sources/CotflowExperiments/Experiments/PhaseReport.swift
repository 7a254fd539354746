import CotflowModel
import CotflowCore
import Foundation

/// How a run ended.
public enum Regime: String, Sendable, CaseIterable {
    /// To the construction (up to W24's gauge where it is free): the loss met the convergence rule.
    case converged
    /// The loss met the convergence rule at a point away from the construction (beyond the tolerance).
    case convergedElsewhere = "converged-elsewhere"
    /// Below the stall fraction of its start but not converged within the budget.
    case unfinished
    /// The loss at the end is above the stall fraction of its start.
    case stalled
    /// Training diverged (at a step), or an exact chain's mean grows with k.
    case diverged
    /// The run failed (an error; see its status).
    case failed
    /// Training does not stay within the compare job's tolerance of the flow (first: a tie across seeds reads as not following).
    case doesNotFollow = "does-not-follow"
    /// Training stays within the compare job's tolerance of the flow.
    case follows

    /// One letter for regime diagrams.
    public var letter: Character {
        switch self {
        case .converged: return "C"
        case .convergedElsewhere: return "E"
        case .unfinished: return "U"
        case .stalled: return "S"
        case .diverged: return "D"
        case .failed: return "F"
        case .doesNotFollow: return "N"
        case .follows: return "A"
        }
    }
}

/// The regime of one run with what decided it.
public struct RunRegime: Sendable {
    public let regime: Regime
    public let detail: String
    /// The optimizer step of a diverged training run.
    public let divergedStep: Int?

    public init(regime: Regime, detail: String, divergedStep: Int? = nil) {
        self.regime = regime
        self.detail = detail
        self.divergedStep = divergedStep
    }

    /// Classifies a sweep record of `settings.job` by the rule of its metrics type.
    public init(_ record: SweepRecord, metricNames: [String], settings: ExperimentSettings) {
        guard record.succeeded else {
            self.init(regime: .failed, detail: record.status)
            return
        }
        guard let metrics = settings.job.metrics.init(names: metricNames, values: record.metrics) else {
            self.init(regime: .failed, detail: "the record's metrics are not those of a \(settings.job.rawValue) run")
            return
        }
        self = metrics.regime(settings)
    }
}

/// A place where behaviour changes between neighbouring grid values of an axis.
public struct Transition: Sendable {
    /// A change of regime (converged, stalled, diverged, ...) or a jump of a metric.
    public enum Kind: String, Sendable { case regime, metric }
    public let kind: Kind
    public let axis: String
    /// The neighbouring grid values that bracket the change.
    public let between: (Double, Double)
    /// The values of the other ordered axes on this line.
    public let context: [(String, Double)]
    /// Regime transitions: the modal regimes; metric transitions: the metric's name.
    public let from: String
    public let to: String
    public let metric: String?
    /// With replicates: for a regime change, the range of the axis within which every replicate
    /// changes regime; for a metric, the replicate ranges [min, max] on both sides.
    public let interval: (Double, Double)?
    public let fromRange: (Double, Double)?
    public let toRange: (Double, Double)?
    /// Replicates in each regime on both sides, for a regime change ("4/4 converged").
    public let fromShare: String?
    public let toShare: String?

    var contextText: String {
        context.isEmpty ? "" : " at " + context.map { "\($0.0) = \(SweepFormat.number($0.1))" }.joined(separator: ", ")
    }

    public var text: String {
        let place = "between \(axis) = \(SweepFormat.number(between.0)) and \(SweepFormat.number(between.1))\(contextText)"
        switch kind {
        case .regime:
            var s = "\(from) -> \(to) \(place)"
            if let fromShare, let toShare { s += " (\(fromShare) \(from), \(toShare) \(to))" }
            if let interval { s += "; every replicate changes within \(axis) in [\(SweepFormat.number(interval.0)), \(SweepFormat.number(interval.1))]" }
            return s
        case .metric:
            var s = "\(metric ?? "?") jumps \(place): \(from) -> \(to) (medians)"
            if let a = fromRange, let b = toRange {
                s += ", replicates [\(compactNumber(a.0)), \(compactNumber(a.1))] -> [\(compactNumber(b.0)), \(compactNumber(b.1))]: outside the replicate spread"
            }
            return s
        }
    }

    /// As JSON; axis values are integers on the grid's integer axes.
    public func json(in grid: SweepGrid) -> JSONValue {
        let value = axisValue(in: grid)
        var pairs: [(String, JSONValue)] = [("kind", .string(kind.rawValue)), ("axis", .string(axis)),
                                            ("between", .array([value(axis, between.0), value(axis, between.1)]))]
        if !context.isEmpty { pairs.append(("at", .object(context.map { ($0.0, value($0.0, $0.1)) }))) }
        if let metric { pairs.append(("metric", .string(metric))) }
        pairs += [("from", .string(from)), ("to", .string(to))]
        if let interval { pairs.append(("interval", .array([value(axis, interval.0), value(axis, interval.1)]))) }
        if let fromShare, let toShare { pairs.append(("replicates", .object([("from", .string(fromShare)), ("to", .string(toShare))]))) }
        if let a = fromRange, let b = toRange { pairs.append(("replicate_ranges", .object([("from", .numbers([a.0, a.1])), ("to", .numbers([b.0, b.1]))]))) }
        pairs.append(("text", .string(text)))
        return .object(pairs)
    }
}

/// A scaling fit of a metric (or a regime boundary) against an axis.
public struct ScalingFinding: Sendable {
    public let quantity: String
    public let axis: String
    public let context: [(String, Double)]
    public let analysis: ScalingAnalysis

    public var text: String {
        let at = context.isEmpty ? "" : " at " + context.map { "\($0.0) = \(SweepFormat.number($0.1))" }.joined(separator: ", ")
        return "\(quantity) against \(axis)\(at), \(analysis.distinctX) values: \(analysis.verdict)"
    }

    public func json(in grid: SweepGrid) -> JSONValue {
        let value = axisValue(in: grid)
        var pairs: [(String, JSONValue)] = [("quantity", .string(quantity)), ("axis", .string(axis))]
        if !context.isEmpty { pairs.append(("at", .object(context.map { ($0.0, value($0.0, $0.1)) }))) }
        return .object(pairs + [("analysis", analysis.json), ("text", .string(text))])
    }
}

/// The phase-transition report of a sweep: the regime of every run, the regime diagram, the
/// transitions (regime changes between neighbours; metric jumps beyond the replicate spread) and
/// scaling fits. See notes/sweeps.md for the rules.
public struct PhaseReport: Sendable {
    public let grid: SweepGrid
    public let settings: ExperimentSettings
    public let metricNames: [String]
    public let records: [SweepRecord]
    public let regimes: [Int: RunRegime]
    public let replicateAxes: [String]
    public let transitions: [Transition]
    public let fits: [ScalingFinding]
    public let notes: [String]
    /// A metric jump must be this many times the rate of change on either side (a jump, not a trend).
    public static let jumpFactor = 3.0

    public init(grid: SweepGrid, metricNames: [String], records: [SweepRecord], settings: ExperimentSettings,
                replicateAxes: Set<String> = ["seed"]) {
        self.grid = grid
        self.settings = settings
        self.metricNames = metricNames
        self.records = records
        var regimes: [Int: RunRegime] = [:]
        for r in records { regimes[r.index] = RunRegime(r, metricNames: metricNames, settings: settings) }
        self.regimes = regimes
        let replicate = grid.axes.indices.filter { replicateAxes.contains(grid.axes[$0].name) }
        let ordered = grid.axes.indices.filter { !replicate.contains($0) }
        self.replicateAxes = replicate.map { grid.axes[$0].name }
        var byIndex: [Int: SweepRecord] = [:]
        for r in records { byIndex[r.index] = r }
        var notes: [String] = []
        let hasReplicates = replicate.contains { grid.axes[$0].values.count >= 2 }
        if settings.job == .exact {
            notes.append("the exact job is deterministic (no seeds): only regime changes are reported")
        } else if !hasReplicates {
            notes.append("no replicate axis (seed) with two or more values: only regime changes are reported; a metric's change can be judged only against the spread across seeds (add --vary seed=0:4:5)")
        }

        // Cells: positions on the ordered axes -> the indices of their replicates.
        func index(_ positions: [Int]) -> Int {
            var i = 0
            for (a, axis) in grid.axes.enumerated() { i = i * axis.values.count + positions[a] }
            return i
        }
        var cells: [[Int]: [Int]] = [:]
        for p in grid.points { cells[ordered.map { p.positions[$0] }, default: []].append(p.index) }

        var transitions: [Transition] = []
        var fits: [ScalingFinding] = []
        let diagnostic = settings.job.metrics.diagnosticColumns
        for (oa, a) in ordered.enumerated() where grid.axes[a].values.count >= 2 {
            let axis = grid.axes[a]
            let logAxis = axis.values.allSatisfy { $0 > 0 } && (axis.spec.hasSuffix(":log") || (axis.values.max()! / axis.values.min()! >= 10 && axis.values.count >= 3))
            func u(_ x: Double) -> Double { logAxis ? Foundation.log(x) : x }
            // Lines: cells sharing the positions of the other ordered axes.
            var lineKeys: [[Int]] = []
            for key in cells.keys where key[oa] == 0 { lineKeys.append(key) }
            lineKeys.sort { $0.lexicographicallyPrecedes($1) }
            for key in lineKeys {
                let context = ordered.enumerated().filter { $0.offset != oa }.map { (grid.axes[$0.element].name, grid.axes[$0.element].values[key[$0.offset]]) }
                let line: [[Int]] = axis.values.indices.map { i in var k = key; k[oa] = i; return cells[k] ?? [] }
                // Regimes along the line.
                let lineRegimes: [[Regime]] = line.map { $0.compactMap { regimes[$0]?.regime } }
                let modal: [Regime?] = lineRegimes.map(modalRegime)
                for i in 0..<(line.count - 1) {
                    guard let from = modal[i], let to = modal[i + 1], from != to else { continue }
                    var interval: (Double, Double)? = nil
                    if hasReplicates {
                        let lo = (0...i).last { lineRegimes[$0].allSatisfy { $0 == from } && !lineRegimes[$0].isEmpty }
                        let hi = ((i + 1)..<line.count).first { lineRegimes[$0].allSatisfy { $0 == to } && !lineRegimes[$0].isEmpty }
                        if let lo, let hi { interval = (axis.values[lo], axis.values[hi]) }
                    }
                    func share(_ rs: [Regime], _ r: Regime) -> String { "\(rs.filter { $0 == r }.count)/\(rs.count)" }
                    transitions.append(Transition(
                        kind: .regime, axis: axis.name, between: (axis.values[i], axis.values[i + 1]), context: context,
                        from: from.rawValue, to: to.rawValue, metric: nil, interval: interval, fromRange: nil, toRange: nil,
                        fromShare: hasReplicates ? share(lineRegimes[i], from) : nil, toShare: hasReplicates ? share(lineRegimes[i + 1], to) : nil))
                }
                // Metric jumps beyond the replicate spread, between neighbours in one regime.
                if hasReplicates {
                    for (m, name) in metricNames.enumerated() where !diagnostic.contains(name) {
                        let values: [[Double]] = line.map { cell in
                            cell.compactMap { byIndex[$0] }.filter(\.succeeded).map { $0.metrics[m] }
                        }
                        let all = values.flatMap { $0 }
                        guard all.allSatisfy(\.isFinite), values.allSatisfy({ $0.count >= 2 }) else { continue }
                        if all.allSatisfy({ $0 == 0 || $0 == 1 }) { continue }
                        let logMetric = all.allSatisfy { $0 > 0 } && all.max()! / all.min()! >= 10
                        func t(_ y: Double) -> Double { logMetric ? Foundation.log(y) : y }
                        let medians = values.map { Replicates.median($0.map(t)) }
                        let rates = (0..<(line.count - 1)).map { i in (medians[i + 1] - medians[i]) / (u(axis.values[i + 1]) - u(axis.values[i])) }
                        for i in 0..<(line.count - 1) where modal[i] != nil && modal[i] == modal[i + 1] {
                            let a = values[i], b = values[i + 1]
                            let disjoint = a.max()! < b.min()! || b.max()! < a.min()!
                            guard disjoint else { continue }
                            // A jump, not a trend: faster than the neighbouring steps and than the line's typical step.
                            let neighbours = [i > 0 ? rates[i - 1] : nil, i + 1 < rates.count ? rates[i + 1] : nil].compactMap { $0 }
                            let others = rates.indices.filter { $0 != i }.map { abs(rates[$0]) }
                            guard !neighbours.isEmpty, neighbours.allSatisfy({ abs(rates[i]) > Self.jumpFactor * abs($0) }),
                                  abs(rates[i]) > Self.jumpFactor * Replicates.median(others) else { continue }
                            transitions.append(Transition(
                                kind: .metric, axis: axis.name, between: (axis.values[i], axis.values[i + 1]), context: context,
                                from: compactNumber(Replicates.median(a)), to: compactNumber(Replicates.median(b)), metric: name,
                                interval: nil, fromRange: (a.min()!, a.max()!), toRange: (b.min()!, b.max()!), fromShare: nil, toShare: nil))
                        }
                    }
                }
                // Scaling of the job's times against this axis (runs in the line's main regime).
                guard axis.values.count >= 4, axis.values.allSatisfy({ $0 > 0 }),
                      let main = modalRegime(lineRegimes.flatMap { $0 }) else { continue }
                for name in settings.job.metrics.timeColumns {
                    guard let m = metricNames.firstIndex(of: name) else { continue }
                    var xs: [Double] = [], ys: [Double] = []
                    for (i, cell) in line.enumerated() {
                        for r in cell.compactMap({ byIndex[$0] }) where r.succeeded && regimes[r.index]?.regime == main
                            && r.metrics[m].isFinite && r.metrics[m] > 0 {
                            xs.append(axis.values[i]); ys.append(r.metrics[m])
                        }
                    }
                    if let analysis = ScalingAnalysis(x: xs, y: ys) {
                        fits.append(ScalingFinding(quantity: name + (main == .diverged ? "" : " (\(main.rawValue) runs)"), axis: axis.name, context: context, analysis: analysis))
                    }
                }
            }
        }
        // A regime boundary against a second ordered axis: where it moves with that axis.
        if ordered.count == 2 {
            for (oa, ob) in [(0, 1), (1, 0)] {
                let a = grid.axes[ordered[oa]], b = grid.axes[ordered[ob]]
                let found = transitions.filter { $0.kind == .regime && $0.axis == a.name }
                let pairs = Set(found.map { "\($0.from)->\($0.to)" })
                for pair in pairs.sorted() {
                    var xs: [Double] = [], ys: [Double] = []
                    for tr in found where "\(tr.from)->\(tr.to)" == pair {
                        guard let bValue = tr.context.first(where: { $0.0 == b.name })?.1, tr.between.0 > 0, tr.between.1 > 0 else { continue }
                        xs.append(bValue); ys.append((tr.between.0 * tr.between.1).squareRoot())
                    }
                    if Set(xs).count == xs.count, let analysis = ScalingAnalysis(x: xs, y: ys) {
                        fits.append(ScalingFinding(quantity: "\(pair) boundary in \(a.name) (geometric midpoint of its bracket)", axis: b.name, context: [], analysis: analysis))
                    }
                }
            }
        }
        self.transitions = transitions
        self.fits = fits
        self.notes = notes
    }

    // MARK: - Output

    /// The regime diagram: one letter per cell (the modal regime; lower case where replicates disagree).
    public var diagram: [String] {
        let replicate = Set(replicateAxes)
        let ordered = grid.axes.indices.filter { !replicate.contains(grid.axes[$0].name) }
        var cells: [[Int]: [Regime]] = [:]
        for p in grid.points {
            if let r = regimes[p.index]?.regime { cells[ordered.map { p.positions[$0] }, default: []].append(r) }
        }
        func letter(_ key: [Int]) -> String {
            let rs = cells[key] ?? []
            guard let m = modalRegime(rs) else { return "." }
            return rs.allSatisfy({ $0 == m }) ? String(m.letter) : String(m.letter).lowercased()
        }
        let legend = "legend: " + settings.job.metrics.regimes.map { "\($0.letter) \($0.rawValue)" }.joined(separator: ", ")
            + (replicateAxes.isEmpty ? "" : "; lower case: replicates disagree (modal regime shown)") + "; . no run"
        var lines: [String] = []
        switch ordered.count {
        case 0:
            lines.append("regime: " + letter([]))
        case 1:
            let axis = grid.axes[ordered[0]]
            let width = axis.values.map { SweepFormat.number($0).count }.max()!
            for (i, v) in axis.values.enumerated() {
                lines.append("  \(axis.name) = \(SweepFormat.number(v).padding(toLength: width, withPad: " ", startingAt: 0))  \(letter([i]))")
            }
        default:
            let rowAxis = grid.axes[ordered[0]], colAxis = grid.axes[ordered[1]]
            let slices: [Int?] = ordered.count == 3 ? grid.axes[ordered[2]].values.indices.map { $0 } : [nil]
            let width = rowAxis.values.map { SweepFormat.number($0).count }.max()!
            for s in slices {
                if let s { lines.append("  at \(grid.axes[ordered[2]].name) = \(SweepFormat.number(grid.axes[ordered[2]].values[s])):") }
                lines.append("  rows \(rowAxis.name), columns \(colAxis.name) = " + colAxis.values.map(SweepFormat.number).joined(separator: ", "))
                for (i, v) in rowAxis.values.enumerated() {
                    let row = colAxis.values.indices.map { j in letter(s.map { [i, j, $0] } ?? [i, j]) }.joined(separator: " ")
                    lines.append("  \(SweepFormat.number(v).padding(toLength: width, withPad: " ", startingAt: 0))  \(row)")
                }
            }
        }
        return [legend] + lines
    }

    public var text: String {
        var out: [String] = []
        let axesText = grid.axes.map { a -> String in
            let v = a.values
            let range = v.count <= 4 ? v.map(SweepFormat.number).joined(separator: ", ")
                : "\(SweepFormat.number(v[0])), \(SweepFormat.number(v[1])), ..., \(SweepFormat.number(v[v.count - 1]))"
            return "\(a.name) in {\(range)}" + (replicateAxes.contains(a.name) ? " (replicates)" : "")
        }.joined(separator: " x ")
        out.append("\(settings.job.rawValue) sweep over \(axesText): \(grid.count) points, \(records.count) run")
        var counts: [String] = []
        for r in Regime.allCases {
            let c = regimes.values.filter { $0.regime == r }.count
            if c > 0 { counts.append("\(c) \(r.rawValue)") }
        }
        out.append("regimes: " + counts.joined(separator: ", ") + " (\(regimeRule))")
        let training = settings.job == .train || settings.job == .compare
        for kind in [Regime.failed, .diverged, .stalled] where kind == .failed || training {
            let runs = regimes.sorted(by: { $0.key < $1.key }).filter { $0.value.regime == kind }
            for (index, rr) in runs.prefix(5) { out.append("  \(kind.rawValue) at \(grid.point(index).label): \(rr.detail)") }
            if runs.count > 5 { out.append("  ... and \(runs.count - 5) more \(kind.rawValue) runs (report.json lists every run)") }
        }
        // A stalled training run that ended before the flow's plateau end is on the plateau, not stuck.
        let onPlateau = records.filter { r in
            guard r.succeeded, let m = settings.job.metrics.init(names: metricNames, values: r.metrics) else { return false }
            return (m as? TrainMetrics)?.endedBeforePlateauEnd(settings) ?? false
        }.count
        if onPlateau > 0 {
            out.append("  \(onPlateau) of the stalled runs ended before the reduced flow's plateau end: still on the plateau, not stuck"
                + (settings.flowTime == nil ? " (--flow-time T trains every point to the same flow time)" : " (train to a later --flow-time)"))
        }
        out.append("regime diagram:")
        out += diagram.map { "  " + $0 }
        if transitions.isEmpty {
            out.append("transitions: none" + (replicateAxes.isEmpty ? " (no regime changes between neighbouring grid values)"
                : " (no regime changes, and no metric jumps beyond the spread across \(replicateAxes.joined(separator: ", ")))"))
        } else {
            out.append("transitions (\(transitions.count)):")
            // At most 10 per axis here, regime changes (the boundaries) first; report.json has them all.
            for axis in grid.names {
                let along = transitions.filter { $0.axis == axis && $0.kind == .regime } + transitions.filter { $0.axis == axis && $0.kind == .metric }
                out += along.prefix(10).map { "  " + $0.text }
                if along.count > 10 { out.append("  ... and \(along.count - 10) more along \(axis) (report.json lists all)") }
            }
        }
        if !fits.isEmpty {
            out.append("scaling fits (weighted by 1/y^2; 95% intervals; best by AICc among supported laws):")
            // Boundary fits first; at most 12 here, report.json has them all.
            let ordered = fits.filter { $0.context.isEmpty && $0.quantity.contains("boundary") } + fits.filter { !($0.context.isEmpty && $0.quantity.contains("boundary")) }
            out += ordered.prefix(12).map { "  " + $0.text }
            if ordered.count > 12 { out.append("  ... and \(ordered.count - 12) more fits (report.json lists all)") }
        }
        out += notes.map { "note: " + $0 }
        return out.joined(separator: "\n") + "\n"
    }

    var regimeRule: String {
        settings.job.metrics.regimeRule(settings, w24Varies: settings.w24 != .paper || grid.names.contains("w24_initial"))
    }

    public var json: JSONValue {
        let runs: [JSONValue] = records.map { r in
            let rr = regimes[r.index]!
            var pairs: [(String, JSONValue)] = [("index", .int(r.index)),
                                                ("point", .object(zip(grid.axes, r.values).map { ($0.name, $0.json($1)) })),
                                                ("regime", .string(rr.regime.rawValue)), ("detail", .string(rr.detail))]
            if let s = rr.divergedStep { pairs.append(("diverged_step", .int(s))) }
            return .object(pairs)
        }
        return .object([
            ("format", .string("cotflow-sweep-report 2")),
            ("job", .string(settings.job.rawValue)),
            ("grid", grid.json),
            ("replicate_axes", .array(replicateAxes.map { .string($0) })),
            ("regime_rule", .string(regimeRule)),
            ("regimes", .array(runs)),
            ("regime_diagram", .array(diagram.map { .string($0) })),
            ("transitions", .array(transitions.map { $0.json(in: grid) })),
            ("fits", .array(fits.map { $0.json(in: grid) })),
            ("notes", .array(notes.map { .string($0) })),
        ])
    }

    /// The reporter for `runSweep` and `mergeShards`: report.txt and report.json. With nil
    /// settings the job and thresholds are read from the sweep's recorded settings.
    public static func reporter(_ settings: ExperimentSettings? = nil) -> SweepReporter {
        { description, records, _ in
            let s = try settings ?? ExperimentSettings(recorded: description.settings)
            let report = PhaseReport(grid: description.grid, metricNames: description.metricNames, records: records, settings: s)
            return [(SweepFiles.report, report.text), ("report.json", report.json.rendered() + "\n")]
        }
    }
}

/// A value of the named axis as JSON (an integer on an integer axis).
private func axisValue(in grid: SweepGrid) -> (String, Double) -> JSONValue {
    { name, x in grid.axes.first { $0.name == name }?.json(x) ?? .number(x) }
}

/// The most common regime (ties: the first in `Regime.allCases`), nil for no runs.
public func modalRegime(_ rs: [Regime]) -> Regime? {
    guard !rs.isEmpty else { return nil }
    return Regime.allCases.max { a, b in
        let ca = rs.filter { $0 == a }.count, cb = rs.filter { $0 == b }.count
        return ca < cb || (ca == cb && Regime.allCases.firstIndex(of: a)! > Regime.allCases.firstIndex(of: b)!)
    }
}
