import CotflowExperiments
import CotflowModel
import CotflowCore
import CotflowStages

/// The panels of each command's `--plot`: which series, reference lines and shaded stages a
/// result is drawn with (CotflowPlot renders them).
public enum Figures {
    /// Reference lines at the construction of Theorem 3.2: V31 = -eta I, W13 = I (and W24 = -1).
    public static func constructionLines(eta: Double, w24: Bool = false) -> [HorizontalLine] {
        [HorizontalLine(y: -eta, label: "construction: v = -eta = \(fmt(-eta))"), HorizontalLine(y: 1, label: "construction: w = 1")]
            + (w24 ? [HorizontalLine(y: -1, label: "construction: W24 = -1")] : [])
    }

    /// `cotflow ode --plot`: the loss (log y), and v_j, w_j against t with the construction's values;
    /// t on a log axis, or a linear one for an output grid that is linear in t (`logTime` false).
    public static func flow(_ t: FlowTrajectory, eta: Double, logTime: Bool = true) -> [PlotSpec] {
        let d = t.v.first?.count ?? 0
        let eigen = (0..<d).flatMap { j in
            [PlotSeries(name: "v_\(j + 1)", x: t.times, y: t.v.map { $0[j] }, group: "v_j (eigenvalues of V31)"),
             PlotSeries(name: "w_\(j + 1)", x: t.times, y: t.w.map { $0[j] }, group: "w_j (eigenvalues of W13)")]
        }
        return [
            PlotSpec(title: "population CoT loss L(v, w)", xLabel: "flow time t", yLabel: "loss", logX: logTime, logY: true,
                     series: [PlotSeries(name: "reduced flow", x: t.times, y: t.losses)]),
            PlotSpec(title: "eigenvalues of V31 and W13 (W24 = -1)", xLabel: "flow time t", yLabel: "eigenvalue", logX: logTime,
                     series: eigen, horizontalLines: constructionLines(eta: eta)),
        ]
    }

    /// `cotflow train --plot`: losses against flow time t (the records' `time`: the optimizer's time
    /// map, learning rate x step without one), and the eigenvalues of the symmetric parts of V31 and
    /// W13 with W24 and the construction's values; a diverged run (`diverged`: its step and flow
    /// time) is marked where it diverged.
    public static func training(_ t: TrainingTrajectory, eta: Double, optimizer: OptimizerKind,
                                diverged: (step: Int, time: Double)? = nil) -> [PlotSpec] {
        let steps = t.times, p = t.parameters
        let xLabel = optimizer.timeMapFormula.map { "flow time t (\($0))" } ?? "t = learning rate x step (\(optimizer.name) has no time map)"
        let losses = [("batch loss (training objective)", t.batchLosses), ("held-out CoT loss, mean", t.cotLossMeans),
                      ("held-out CoT loss, median", t.cotLossMedians), ("held-out evaluation loss, mean", t.evalLossMeans)]
            .map { PlotSeries(name: $0.0, x: steps, y: $0.1) }
        var eigen = (0..<t.d).flatMap { j in
            [PlotSeries(name: "v_eig_\(j + 1)", x: steps, y: p.map { $0.vEigenvalues[j] }, group: "v: eigenvalues of sym(V31)"),
             PlotSeries(name: "w_eig_\(j + 1)", x: steps, y: p.map { $0.wEigenvalues[j] }, group: "w: eigenvalues of sym(W13)")]
        }
        eigen.append(PlotSeries(name: "W24", x: steps, y: p.map(\.w24), dashed: true))
        let marks = diverged.map { [VerticalLine(x: $0.time, label: "diverged at step \($0.step)")] } ?? []
        return [
            PlotSpec(title: "losses", xLabel: xLabel, yLabel: "loss", logY: true, series: losses, verticalLines: marks),
            PlotSpec(title: "V31, W13 and W24", xLabel: xLabel, yLabel: "value", series: eigen, verticalLines: marks,
                     horizontalLines: constructionLines(eta: eta, w24: true)),
        ]
    }

    /// `cotflow eval --plot`: the per-prompt losses of the transformer and the GD chain, sorted
    /// (a quantile plot on a log axis), with the exact population mean of the chain when known.
    public static func evaluation(_ r: EvaluationResult, exactMean: Double?) -> [PlotSpec] {
        func quantiles(_ xs: [Double], _ name: String, dashed: Bool) -> PlotSeries {
            let sorted = xs.sorted()
            let q = sorted.indices.map { (Double($0) + 0.5) / Double(sorted.count) }
            return PlotSeries(name: name, x: q, y: sorted, dashed: dashed)
        }
        return [PlotSpec(title: "per-prompt loss, sorted (quantile q of the prompts)", xLabel: "quantile q", yLabel: "||w_k - w*||^2", logY: true,
                         series: [quantiles(r.evalLosses, "transformer", dashed: false), quantiles(r.chainLosses, "GD chain", dashed: true)],
                         horizontalLines: exactMean.map { [HorizontalLine(y: $0, label: "GD chain, exact mean = \(fmt($0))")] } ?? [])]
    }

    /// `cotflow compare --plot`: loss against time (log loss axis) and eigenvalue trajectories, flow and training.
    public static func comparison(_ c: Comparison) -> [PlotSpec] {
        let d = c.config.training.task.d
        var losses: [PlotSeries] = [], eigen: [PlotSeries] = []
        if let flow = c.flow {
            losses.append(PlotSeries(name: "flow (population)", x: flow.times, y: flow.losses))
            for j in 0..<d {
                eigen.append(PlotSeries(name: "flow v_\(j + 1)", x: flow.times, y: flow.v.map { $0[j] }, group: "flow: v_j", colourGroup: "v"))
                eigen.append(PlotSeries(name: "flow w_\(j + 1)", x: flow.times, y: flow.w.map { $0[j] }, group: "flow: w_j", colourGroup: "w"))
            }
        }
        if let free = c.freeFlow { losses.append(PlotSeries(name: "flow, W24 free (population)", x: free.times, y: free.losses)) }
        if let full = c.fullFlow {
            let times = full.trajectory.times
            losses.append(PlotSeries(name: "full-matrix flow (held-out)", x: times, y: full.heldOutLosses))
            for j in 0..<d {
                eigen.append(PlotSeries(name: "full flow v_\(j + 1)", x: times, y: full.v.map { $0[j] }, group: "full-matrix flow: v_j", colourGroup: "v"))
                eigen.append(PlotSeries(name: "full flow w_\(j + 1)", x: times, y: full.w.map { $0[j] }, group: "full-matrix flow: w_j", colourGroup: "w"))
            }
        }
        for run in c.runs {
            let x = c.config.hasTimeMap ? run.times : run.times.indices.map { Double($0 * c.config.training.recordEvery) }
            let who = "\(run.trainable.rawValue) training"
            losses.append(PlotSeries(name: "\(who) (held-out)", x: x, y: run.losses, dashed: true))
            for j in 0..<d {
                eigen.append(PlotSeries(name: "\(run.trainable.rawValue) v_\(j + 1)", x: x, y: run.v.map { $0[j] }, group: "\(who): v_j", dashed: true, colourGroup: c.runs.count == 1 ? "v" : nil))
                eigen.append(PlotSeries(name: "\(run.trainable.rawValue) w_\(j + 1)", x: x, y: run.w.map { $0[j] }, group: "\(who): w_j", dashed: true, colourGroup: c.runs.count == 1 ? "w" : nil))
            }
        }
        let xLabel = c.config.hasTimeMap ? "t (= learning rate x step for training)" : "t (flow); step (training, Adam: no time map)"
        let shaded = (c.flowStages ?? c.fullFlow?.stages)?.story.stages.map { ShadedInterval(start: $0.tStart, end: $0.tEnd, label: $0.label) } ?? []
        var panels = [
            PlotSpec(title: "CoT loss (shaded: the flow's stages); " + c.plateauLine.replacingOccurrences(of: "; notes/stages.md", with: ""),
                     xLabel: xLabel, yLabel: "loss", logY: true, series: losses, shaded: shaded),
        ]
        // The relative loss deviation of each training run from the flow (and from the full-matrix
        // flow), at the records: what `max_rel_loss_deviation` summarises (with a time map only).
        var deviations: [PlotSeries] = []
        for run in c.runs {
            let who = "\(run.trainable.rawValue) training"
            if let each = run.relativeLossDeviation { deviations.append(PlotSeries(name: "\(who) vs the reduced flow", x: run.times, y: each)) }
            if let full = run.fullFlow { deviations.append(PlotSeries(name: "\(who) vs the full-matrix flow", x: run.times, y: full.relativeLossDeviation, dashed: true)) }
        }
        if !deviations.isEmpty {
            panels.append(PlotSpec(title: "relative loss deviation |L_train - L_flow| / L_flow (max counted where the flow's loss > \(fmt(c.config.deviationFloor)) x its start)",
                                   xLabel: xLabel, yLabel: "relative deviation", logY: true, series: deviations, shaded: shaded))
        }
        panels.append(PlotSpec(title: "eigenvalues of V31 (v) and W13 (w) in the initial eigenbasis", xLabel: xLabel, yLabel: "eigenvalue", series: eigen,
                               horizontalLines: constructionLines(eta: c.config.eta.doubleValue)))
        // What decides whether training can follow the flow (issue 23): along the flow, per run.
        var noise: [PlotSeries] = []
        for run in c.runs {
            guard let points = run.correction?.validity.points, !points.isEmpty else { continue }
            let who = run.trainable.rawValue, t = points.map(\.time)
            noise.append(PlotSeries(name: "\(who): noise bound h tr(Sigma)/(4BL)", x: t, y: points.map(\.noiseExcess)))
            noise.append(PlotSeries(name: "\(who): top 1% share of the loss", x: t, y: points.map(\.noise.losses.topPercentShare), dashed: true))
            let tails = points.compactMap { p in p.noise.gradientNorms.tailIndex.map { (p.time, $0.alpha) } }
            if !tails.isEmpty { noise.append(PlotSeries(name: "\(who): Hill index of the gradient norms", x: tails.map(\.0), y: tails.map(\.1), dashed: true)) }
        }
        if !noise.isEmpty {
            panels.append(PlotSpec(title: "along the flow: batch-noise bound, top-1% share, tail index (below 2: no finite variance)",
                                   xLabel: "t (flow)", yLabel: "value", logY: true, series: noise,
                                   horizontalLines: [HorizontalLine(y: 2, label: "tail index 2")]))
        }
        return panels
    }

    /// `cotflow stages --plot`: the loss with the stage table shaded (its plateau end in the title),
    /// the change-point cross-check when the table is read off the eigenvalues, and the eigenvalue
    /// columns (`vPrefix`1.., `wPrefix`1..) when given, with the construction's values when eta is known.
    public static func stages(times: [Double], losses: [Double], lossName: String, timeColumn: String, story: StageStory,
                              eigenvalues: (v: [[Double]], w: [[Double]], vPrefix: String, wPrefix: String),
                              eta: Double?) -> [PlotSpec] {
        func shaded(_ list: [Stage]) -> [ShadedInterval] { list.map { ShadedInterval(start: $0.tStart, end: $0.tEnd, label: $0.label) } }
        let curve = [PlotSeries(name: lossName, x: times, y: losses)]
        var panels = [PlotSpec(title: "stages (\(story.basis == .eigenvalues ? "eigenvalues" : "change points")), plateau end \(story.plateauEnd.map(fmt) ?? "none")",
                               xLabel: timeColumn, yLabel: lossName, logY: true, series: curve, shaded: shaded(story.stages))]
        if story.boundaries != nil {
            panels.append(PlotSpec(title: "cross-check: change points of ln(loss)", xLabel: timeColumn, yLabel: lossName, logY: true,
                                   series: curve, shaded: shaded(story.changePoints)))
        }
        let (v, w, vp, wp) = eigenvalues
        if !v.isEmpty && !w.isEmpty {
            let eigen = (0..<v[0].count).flatMap { j in
                [PlotSeries(name: "\(vp)\(j + 1)", x: times, y: v.map { $0[j] }, group: "\(vp)j (V31)"),
                 PlotSeries(name: "\(wp)\(j + 1)", x: times, y: w.map { $0[j] }, group: "\(wp)j (W13)")]
            }
            panels.append(PlotSpec(title: "eigenvalues of V31 (v) and W13 (w)", xLabel: timeColumn, yLabel: "eigenvalue", series: eigen,
                                   horizontalLines: eta.map { constructionLines(eta: $0) } ?? []))
        }
        return panels
    }
}
