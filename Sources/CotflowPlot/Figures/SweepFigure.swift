import CotflowExperiments
import Foundation

/// What `cotflow sweep --plot` draws: every metric against the one ordered axis with the replicate
/// range as a band, or a heatmap of one metric over two ordered axes with the regimes.
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
            var panels: [PlotSpec] = []
            for (m, name) in report.metricNames.enumerated() {
                let cells = axis.values.indices.map { cellValues(m, [$0]) }
                let x = axis.values.indices.filter { !cells[$0].isEmpty }.map { axis.values[$0] }
                let present = cells.filter { !$0.isEmpty }
                guard !present.isEmpty else { continue }
                let all = present.flatMap { $0 }
                let logY = all.allSatisfy { $0 > 0 } && all.max()! / all.min()! >= 10
                var series = [PlotSeries(name: replicate.isEmpty ? name : "median", x: x, y: present.map { Replicates.median($0) })]
                if present.contains(where: { $0.count >= 2 }) {
                    series.append(PlotSeries(name: "replicate min", x: x, y: present.map { $0.min()! }))
                    series.append(PlotSeries(name: "replicate max", x: x, y: present.map { $0.max()! }))
                }
                panels.append(PlotSpec(title: name, xLabel: axis.name, yLabel: name, logX: logX, logY: logY, series: series))
            }
            guard !panels.isEmpty else { self = .none("no finite metric to draw"); return }
            self = .lines(panels, title: "\(report.settings.job.rawValue) sweep over \(axis.name)"
                + (replicate.isEmpty ? "" : " (median and range across \(report.replicateAxes.joined(separator: ", ")))"))
        case 2, 3:
            let rowAxis = grid.axes[ordered[0]], colAxis = grid.axes[ordered[1]]
            let name = metric ?? SweepFigure.defaultMetric(report.settings.job)
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
