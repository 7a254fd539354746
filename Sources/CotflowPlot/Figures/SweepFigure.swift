import CotflowExperiments
import Foundation

/// What `cotflow sweep --plot` draws: one or two metrics (`--plot-metric a,b`, else the job's
/// `defaultMetrics`) against the one ordered axis, medians with the replicate range shaded and the
/// regimes as bands; or a heatmap of one metric over two ordered axes with the regimes.
public enum SweepFigure {
    case lines([PlotSpec], title: String)
    case map(RegimeMap)
    case none(String)

    public init(_ report: PhaseReport, metric: String?) {
        let grid = report.grid
        let replicate = Set(report.replicateAxes)
        let ordered = grid.axes.indices.filter { !replicate.contains(grid.axes[$0].name) }
        var byIndex: [Int: [Double]] = [:]
        for r in report.records where r.succeeded { byIndex[r.index] = r.metrics }
        func cellValues(_ m: Int, _ key: [Int]) -> [Double] {
            grid.points.filter { p in ordered.enumerated().allSatisfy { p.positions[$0.element] == key[$0.offset] } }
                .compactMap { byIndex[$0.index]?[m] }.filter(\.isFinite)
        }
        switch ordered.count {
        case 1:
            let axis = grid.axes[ordered[0]]
            let logX = axis.values.allSatisfy { $0 > 0 } && (axis.values.max()! / axis.values.min()! >= 10)
            let cellRegimes = axis.values.indices.map { i in
                modalRegime(grid.points.filter { $0.positions[ordered[0]] == i }.compactMap { report.regimes[$0.index]?.regime })
            }
            let regimeBands = SweepFigure.regimeBands(values: axis.values, regimes: cellRegimes, logX: logX)
            // The metrics asked for, or the job's one or two that define its regimes and transitions
            // (a metric that is the same at every point says nothing and is left out).
            let asked = metric.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            var panels: [PlotSpec] = [], constant: [String] = []
            for name in asked ?? SweepFigure.defaultMetrics(report.settings.job) {
                guard let m = report.metricNames.firstIndex(of: name) else { continue }
                let cells = axis.values.indices.map { cellValues(m, [$0]) }
                let x = axis.values.indices.filter { !cells[$0].isEmpty }.map { axis.values[$0] }
                let present = cells.filter { !$0.isEmpty }
                let all = present.flatMap { $0 }
                guard let lo = all.min(), let hi = all.max() else { continue }
                if asked == nil, lo == hi { constant.append(name); continue }
                let logY = lo > 0 && hi / lo >= 10
                let spread = present.contains { $0.count >= 2 }
                let series = PlotSeries(name: replicate.isEmpty ? name : "median", x: x, y: present.map { Replicates.median($0) },
                                        low: spread ? present.map { $0.min()! } : nil, high: spread ? present.map { $0.max()! } : nil,
                                        bandName: spread ? "range across \(report.replicateAxes.joined(separator: ", "))" : nil)
                panels.append(PlotSpec(title: name + " (shaded: regimes)", xLabel: axis.name, yLabel: name, logX: logX, logY: logY,
                                       series: [series], shaded: regimeBands))
            }
            guard !panels.isEmpty else {
                self = .none(constant.isEmpty ? "no finite metric to draw" : "every metric drawn by default is constant over the sweep (\(constant.joined(separator: ", "))); choose one with --plot-metric")
                return
            }
            self = .lines(panels, title: "\(report.settings.job.rawValue) sweep over \(axis.name)"
                + (replicate.isEmpty ? "" : " (median, shaded range across \(report.replicateAxes.joined(separator: ", ")))"))
        case 2, 3:
            let rowAxis = grid.axes[ordered[0]], colAxis = grid.axes[ordered[1]]
            let name = metric ?? SweepFigure.defaultMetric(report.settings.job)
            guard !name.contains(",") else { self = .none("the heatmap of a 2-D sweep draws one metric (--plot-metric \(name))"); return }
            guard let m = report.metricNames.firstIndex(of: name) else { self = .none("no metric \(name)"); return }
            var values: [Double] = [], letters: [String] = []
            let slice = ordered.count == 3 ? [0] : []
            for i in rowAxis.values.indices {
                for j in colAxis.values.indices {
                    values.append(Replicates.median(cellValues(m, [i, j] + slice)))
                    let regimes = grid.points.filter { p in
                        ordered.enumerated().allSatisfy { p.positions[$0.element] == ([i, j] + slice)[$0.offset] }
                    }.compactMap { report.regimes[$0.index]?.regime }
                    letters.append(modalRegime(regimes).map { String($0.letter) } ?? "")
                }
            }
            let finite = values.filter(\.isFinite)
            let logScale = !finite.isEmpty && finite.allSatisfy { $0 > 0 } && finite.max()! / finite.min()! >= 10
            let shown = Set(letters)
            let legend = report.settings.job.metrics.regimes.filter { shown.contains(String($0.letter)) }.map { "\($0.letter) \($0.rawValue)" }
            let sliceText = ordered.count == 3 ? " at \(grid.axes[ordered[2]].name) = \(SweepFormat.number(grid.axes[ordered[2]].values[0]))" : ""
            self = .map(RegimeMap(title: "\(report.settings.job.rawValue) sweep: \(name)\(sliceText)", rowAxis: rowAxis.name, columnAxis: colAxis.name,
                                  rowValues: rowAxis.values, columnValues: colAxis.values, values: values, metric: name,
                                  logScale: logScale, regimes: letters, legend: legend.isEmpty ? nil : legend.joined(separator: ", ")))
        default:
            self = .none("no ordered axis to draw against")
        }
    }

    /// The metrics a 1-D sweep's figure draws by default: what its regimes and transitions are
    /// judged on (the final loss and the distance to the construction for training; the deviation
    /// from the flow for compare; the flow's time scales; the exact loss).
    public static func defaultMetrics(_ job: SweepJob) -> [String] {
        switch job {
        case .flow: return ["t_loss_1e-3", "plateau_end"]
        case .train: return ["final_cot_loss", "distance_to_construction"]
        case .compare: return ["max_rel_loss_deviation", "final_cot_loss"]
        case .exact: return ["exact_eval_loss"]
        }
    }

    /// Fixed colours of the regimes' bands.
    static func colour(_ regime: Regime) -> String {
        switch regime {
        case .converged: return "#59a14f"
        case .convergedElsewhere: return "#76b7b2"
        case .unfinished: return "#edc948"
        case .stalled: return "#9c755f"
        case .diverged: return "#e15759"
        case .failed: return "#7f7f7f"
        case .follows: return "#4e79a7"
        case .doesNotFollow: return "#f28e2b"
        }
    }

    /// One band per run of equal regimes along the axis, each grid value in the middle of its cell
    /// (cells end halfway to the neighbours: geometric halfway on a log axis); points without a
    /// value (diverged, failed) are marked by their band.
    static func regimeBands(values: [Double], regimes: [Regime?], logX: Bool) -> [ShadedInterval] {
        guard !values.isEmpty else { return [] }
        func mid(_ a: Double, _ b: Double) -> Double { logX ? (a * b).squareRoot() : (a + b) / 2 }
        let order = values.indices.sorted { values[$0] < values[$1] }
        let xs = order.map { values[$0] }
        var edges = [Double]()
        for i in 0...xs.count {
            if i == 0 { edges.append(xs.count > 1 ? (logX ? xs[0] * xs[0] / mid(xs[0], xs[1]) : 2 * xs[0] - mid(xs[0], xs[1])) : xs[0] - 0.5) }
            else if i == xs.count { edges.append(xs.count > 1 ? (logX ? xs[i - 1] * xs[i - 1] / mid(xs[i - 2], xs[i - 1]) : 2 * xs[i - 1] - mid(xs[i - 2], xs[i - 1])) : xs[0] + 0.5) }
            else { edges.append(mid(xs[i - 1], xs[i])) }
        }
        var bands: [ShadedInterval] = []
        for (i, j) in order.enumerated() {
            guard let regime = regimes[j] else { continue }
            if let last = bands.last, last.label == regime.rawValue, last.end == edges[i] {
                bands[bands.count - 1].end = edges[i + 1]
            } else {
                bands.append(ShadedInterval(start: edges[i], end: edges[i + 1], label: regime.rawValue, colour: colour(regime)))
            }
        }
        return bands
    }

    public static func defaultMetric(_ job: SweepJob) -> String {
        switch job {
        case .flow: return "t_loss_1e-3"
        case .train: return "final_cot_loss"
        case .compare: return "max_rel_loss_deviation"
        case .exact: return "exact_eval_loss"
        }
    }
}

extension SweepFigure {
    /// Renders the figure as `sweep_plot.*` in `directory` (not `sweep`: its data file would
    /// overwrite the sweep's own sweep.tsv); returns what was written, or why there is no figure.
    public func render(directory: String) throws -> String {
        let base = (directory as NSString).appendingPathComponent("sweep_plot")
        switch self {
        case .lines(let panels, let title): return try Plotter.render(panels: panels, to: base, title: title).message
        case .map(let map): return try Plotter.renderRegimeMap(map, to: base).message
        case .none(let reason): return reason
        }
    }
}
