import CotflowFlow
import CotflowIO
import CotflowModel
import CotflowPlot
import CotflowTraining
import Foundation

// The figures of `--plot` for ode, train and eval (compare and stages build theirs in place).

/// Reference lines at the construction of Theorem 3.2: V31 = -eta I, W13 = I (and W24 = -1).
func constructionLines(eta: Double, w24: Bool = false) -> [HorizontalLine] {
    [HorizontalLine(y: -eta, label: "construction: v = -eta = \(fmt(-eta))"), HorizontalLine(y: 1, label: "construction: w = 1")]
        + (w24 ? [HorizontalLine(y: -1, label: "construction: W24 = -1")] : [])
}

/// `cotflow ode --plot`: the loss on log axes, and v_j, w_j against t with the construction's values.
func flowFigure(_ t: FlowTrajectory, eta: Double) -> [PlotSpec] {
    let d = t.v.first?.count ?? 0
    let eigen = (0..<d).flatMap { j in
        [PlotSeries(name: "v_\(j + 1)", x: t.times, y: t.v.map { $0[j] }, group: "v_j (eigenvalues of V31)"),
         PlotSeries(name: "w_\(j + 1)", x: t.times, y: t.w.map { $0[j] }, group: "w_j (eigenvalues of W13)")]
    }
    return [
        PlotSpec(title: "population CoT loss L(v, w)", xLabel: "flow time t", yLabel: "loss", logX: true, logY: true,
                 series: [PlotSeries(name: "reduced flow", x: t.times, y: t.losses)]),
        PlotSpec(title: "eigenvalues of V31 and W13 (W24 = -1)", xLabel: "flow time t", yLabel: "eigenvalue", logX: true,
                 series: eigen, horizontalLines: constructionLines(eta: eta)),
    ]
}

/// `cotflow train --plot`: losses against the step, and the eigenvalues of the symmetric parts of
/// V31 and W13 with W24 and the construction's values.
func trainingFigure(_ t: TrainingTrajectory, eta: Double) -> [PlotSpec] {
    let steps = t.steps.map(Double.init), p = t.parameters
    let losses = [("batch loss (training objective)", t.batchLosses), ("held-out CoT loss, mean", t.cotLossMeans),
                  ("held-out CoT loss, median", t.cotLossMedians), ("held-out evaluation loss, mean", t.evalLossMeans)]
        .map { PlotSeries(name: $0.0, x: steps, y: $0.1) }
    var eigen = (0..<t.d).flatMap { j in
        [PlotSeries(name: "v_eig_\(j + 1)", x: steps, y: p.map { $0.vEigenvalues[j] }, group: "v: eigenvalues of sym(V31)"),
         PlotSeries(name: "w_eig_\(j + 1)", x: steps, y: p.map { $0.wEigenvalues[j] }, group: "w: eigenvalues of sym(W13)")]
    }
    eigen.append(PlotSeries(name: "W24", x: steps, y: p.map(\.w24), dashed: true))
    return [
        PlotSpec(title: "losses", xLabel: "step", yLabel: "loss", logY: true, series: losses),
        PlotSpec(title: "V31, W13 and W24", xLabel: "step", yLabel: "value", series: eigen,
                 horizontalLines: constructionLines(eta: eta, w24: true)),
    ]
}

/// `cotflow eval --plot`: the per-prompt losses of the transformer and the GD chain, sorted
/// (a quantile plot on a log axis), with the exact population mean of the chain when known.
func evaluationFigure(_ r: EvaluationResult, exactMean: Double?) -> [PlotSpec] {
    func quantiles(_ xs: [Double], _ name: String, dashed: Bool) -> PlotSeries {
        let sorted = xs.sorted()
        let q = sorted.indices.map { (Double($0) + 0.5) / Double(sorted.count) }
        return PlotSeries(name: name, x: q, y: sorted, dashed: dashed)
    }
    return [PlotSpec(title: "per-prompt loss, sorted (quantile q of the prompts)", xLabel: "quantile q", yLabel: "||w_k - w*||^2", logY: true,
                     series: [quantiles(r.evalLosses, "transformer", dashed: false), quantiles(r.chainLosses, "GD chain", dashed: true)],
                     horizontalLines: exactMean.map { [HorizontalLine(y: $0, label: "GD chain, exact mean = \(fmt($0))")] } ?? [])]
}
