// stage-sweep: where the stages of the reduced gradient flow move as the initial scale sigma
// (Assumption 4.1: v_j ~ U[-2 sigma, -sigma], w_j ~ U[sigma, 2 sigma]) and the context ratio
// n/d change. Each point is one run of the reduced flow from the exact population loss (a few
// milliseconds), so the sweeps are dense and run over several seeds.
//
// Measured per run (CotflowStages, mechanistic detector, default options):
//   plateau_end        first time max_j |v_j w_j| reaches 10% of eta (the end of the plateau: the stage table of notes/stages.md)
//   product_reached    first time from which max_j |v_j w_j + eta| <= 0.05 eta (the transition done)
//   exponential_start  start of the log-linear final convergence
// and the times the loss falls to 1/2 and 1e-3 of its start. Each point is CotflowExperiments'
// flow job run by CotflowSweep's runSweep (seeds in parallel), whose phase report (regimes,
// transitions beyond the seeds' spread, scaling fits) is printed and written per sweep; the
// per-parameter medians over seeds are what is plotted, and the report's scaling fit of the
// transition time against sigma enters the first verdict.
//
// Along n/d the population loss itself is also examined (MODEL.md section 6): at the initial point
// the per-prompt CoT loss (1/2) sum_i ||M_i(S)||_F^2 is sampled over Wishart S, and its median,
// 99th percentile and the share of the mean carried by the top 1% of prompts are reported next to
// the exact mean, which the flow descends.
import CotflowExact
import CotflowExamplesSupport
import CotflowExperiments
import CotflowModel
import CotflowCore
import CotflowPlot
import CotflowStages
import Foundation

let ctx = ExampleContext(
    name: "stage-sweep",
    summary: "Phase-transition report of the reduced flow: plateau length and transition time against the initial scale sigma and against n/d.",
    sizes: ["d", "n", "k"])

/// The flow job of every sweep here: (d, k) = (10, 5), flow time up to 1e5 on 600 log-spaced
/// points, msbdf (implicit, analytic Jacobian) where the explicit stepper fails on a stiff run.
func flowSettings(d: Int, k: Int) -> ExperimentSettings {
    var s = ExperimentSettings(job: .flow)
    s.d = d
    s.k = k
    s.flow.ode.endTime = 1e5
    s.points = 600
    s.fallbackStepper = .msbdf
    return s
}

/// Runs the flow job over `grid` into `directory` (points in parallel) and prints its line and the
/// phase report written for the whole grid.
@MainActor func flowSweep(_ settings: ExperimentSettings, _ grid: SweepGrid, directory: String, label: String) throws
    -> (outcome: SweepOutcome, report: String, seconds: Double) {
    let started = Date()
    let outcome = try settings.sweep(grid, directory: ctx.path(directory), jobs: ProcessInfo.processInfo.activeProcessorCount)
    let seconds = Date().timeIntervalSince(started)
    guard let merged = outcome.merged else { throw CotflowError("sweep in \(outcome.files.first ?? "?") has no merged report") }
    print("\(label) sweep: \(grid.count) flows in \(String(format: "%.2f", seconds)) s, \(outcome.failed) failed (files in \(ctx.path(directory)))")
    print(merged.report)
    return (outcome, merged.report, seconds)
}

ctx.run {
    let d = ctx.size("d", 10), k = ctx.size("k", 5)
    let seeds = ctx.size("seed=0:4:5", quick: "seed=0,1")
    let baseN = ctx.size("n", 40), baseSigma = 0.05

    // ---- Sweep 1: initial scale sigma at (d, n, k) = (10, 40, 5).
    let sigmaGrid = try SweepGrid(specs: [ctx.size("init_scale=0.001:0.3:11:log", quick: "init_scale=0.001:0.3:5:log"), seeds],
                                  integerNames: ["seed"])
    var sigmaSettings = flowSettings(d: d, k: k)
    sigmaSettings.n = baseN
    let (sigmaOutcome, sigmaReport, sigmaSeconds) = try flowSweep(sigmaSettings, sigmaGrid, directory: "sigma", label: "sigma")
    // The report's scaling fits of the transition time (v_j w_j within 5% of -eta) against sigma.
    let sigmaPhases = PhaseReport(grid: sigmaGrid, metricNames: FlowMetrics.names, records: sigmaOutcome.records, settings: sigmaSettings)
    let transitionScaling = sigmaPhases.fits.first { $0.quantity.hasPrefix("product_reached") && $0.axis == "init_scale" }

    let bySigma = FlowStageMedians.bySetting(sigmaOutcome.records, grid: sigmaGrid)
    var sigmaTable = CSVTable(header: ["sigma", "runs_ok"] + FlowStageMetric.allCases.map { "median_" + $0.rawValue }, integerColumns: ["runs_ok"])
    for row in bySigma { sigmaTable.append([row.value, Double(row.runs)] + row.values) }
    try ctx.write(sigmaTable.text, "sigma_medians.csv")
    print("medians over seeds, (d, n, k) = (\(d), \(baseN), \(k)):")
    print("  sigma      plateau_end  product_reached  exponential_start  t_loss_1e-3")
    for row in bySigma {
        print("  " + [row.value, row[.plateauEnd], row[.productReached], row[.exponentialStart], row[.tLoss1e3]]
            .map { fmt($0).padding(toLength: 14, withPad: " ", startingAt: 0) }.joined(separator: " "))
    }

    // Power law plateau ~ sigma^b: fit log plateau on log sigma over the medians; compare with the
    // linear-in-log(1/sigma) law plateau = a + c log(1/sigma) of an escape from a saddle.
    let valid = bySigma.filter { $0[.plateauEnd].isFinite && $0[.plateauEnd] > 0 }
    let xs = valid.map { log($0.value) }, plateaus = valid.map { $0[.plateauEnd] }
    let transitions = valid.map { $0[.productReached] }
    let power = LineFit(xs, plateaus.map { log($0) })
    let logLaw = LineFit(xs.map { -$0 }, plateaus)
    let transitionFit = LineFit(xs, transitions.map { log($0) })
    let half = valid.count / 2
    let lowFit = half >= 2 ? LineFit(Array(xs.prefix(half)), plateaus.prefix(half).map { log($0) }) : nil
    let highFit = valid.count - half >= 2 ? LineFit(Array(xs.suffix(valid.count - half)), plateaus.suffix(valid.count - half).map { log($0) }) : nil
    print("fit log(plateau_end) = a + b log(sigma): b = \(power.slopeText), a = \(fmt(power.intercept)), R^2 = \(fmt(power.r2)) over \(power.points) sigmas")
    if let lowFit, let highFit {
        print("  small-sigma half: b = \(lowFit.slopeText); large-sigma half: b = \(highFit.slopeText)")
    }
    print("fit plateau_end = a + c log(1/sigma): c = \(logLaw.slopeText), a = \(fmt(logLaw.intercept)), R^2 = \(fmt(logLaw.r2))")
    print("fit log(product_reached) = a + b log(sigma): b = \(transitionFit.slopeText), R^2 = \(fmt(transitionFit.r2))")

    ctx.record("sigma_sweep", .object([
        ("d", .int(d)), ("n", .int(baseN)), ("k", .int(k)), ("grid", .string(sigmaGrid.spec)), ("runs", .int(sigmaGrid.count)),
        ("failed", .int(sigmaOutcome.failed)), ("seconds", .number(sigmaSeconds)),
        ("sigma", .numbers(bySigma.map(\.value))),
        ("median_plateau_end", .numbers(bySigma.map { $0[.plateauEnd] })),
        ("median_product_reached", .numbers(bySigma.map { $0[.productReached] })),
        ("median_exponential_start", .numbers(bySigma.map { $0[.exponentialStart] })),
        ("fit_log_plateau_vs_log_sigma", power.json),
        ("fit_log_plateau_vs_log_sigma_small_half", lowFit.map(\.json) ?? .null),
        ("fit_log_plateau_vs_log_sigma_large_half", highFit.map(\.json) ?? .null),
        ("fit_plateau_vs_log_inverse_sigma", logLaw.json),
        ("fit_log_product_reached_vs_log_sigma", transitionFit.json),
        ("scaling_product_reached_vs_sigma", transitionScaling?.analysis.json ?? .null),
    ]))

    let sigmas = bySigma.map(\.value)
    func series(_ rows: [FlowStageMedians], _ metric: FlowStageMetric, _ label: String,
                _ records: [SweepRecord], _ grid: SweepGrid) -> PlotSeries {
        let spread = FlowStageMedians.spread(records, grid: grid, metric)
        return PlotSeries(name: label, x: rows.map(\.value), y: rows.map { $0[metric] }, low: spread.low, high: spread.high)
    }
    let fitLine = PlotSeries(name: "fit sigma^\(compact(power.slope, 3)) (plateau)", x: sigmas, y: sigmas.map { exp(power.intercept + power.slope * log($0)) })
    try ctx.plot([
        PlotSpec(title: "stage boundaries against sigma: medians over seeds, bars from the smallest to the largest seed, (d, n, k) = (\(d), \(baseN), \(k))",
                 xLabel: "sigma (v ~ U[-2 sigma, -sigma], w ~ U[sigma, 2 sigma])", yLabel: "flow time", logX: true, logY: true,
                 series: [series(bySigma, .plateauEnd, "plateau end (products v_j w_j at 10% of -eta)", sigmaOutcome.records, sigmaGrid), fitLine,
                          series(bySigma, .productReached, "transition: v_j w_j within 5% of -eta", sigmaOutcome.records, sigmaGrid),
                          series(bySigma, .exponentialStart, "exponential convergence starts", sigmaOutcome.records, sigmaGrid),
                          series(bySigma, .tLoss1e3, "loss < 1e-3 x start", sigmaOutcome.records, sigmaGrid)]),
    ], name: "sigma_sweep", title: "reduced flow: plateau and transition against sigma")

    // ---- Sweep 2: n/d at d = 10, sigma = 0.05.
    let ratioGrid = try SweepGrid(specs: [ctx.size("n_over_d=2,3,4,6,8,12,16", quick: "n_over_d=2,4,8,16"), seeds], integerNames: ["seed"])
    var ratioSettings = flowSettings(d: d, k: k)
    ratioSettings.initScale = baseSigma
    let (ratioOutcome, ratioReport, ratioSeconds) = try flowSweep(ratioSettings, ratioGrid, directory: "n_over_d", label: "n/d")
    let byRatio = FlowStageMedians.bySetting(ratioOutcome.records, grid: ratioGrid)

    // The per-prompt CoT loss (1/2) sum_i ||M_i(S)||_F^2 over sampled Wishart S (seed 0), at three
    // points of the seed-0 flow: the start, the state where the loss has halved, and the state where
    // it is 1e-3 of its start (late in the transition, heading into the exponential stage).
    let prompts = ctx.size(20_000, quick: 2_000)
    let stateNames = ["start", "loss 1/2", "loss 1e-3"]
    var tail: [[SampleSummary]] = []   // [ratio][state]
    var exactAt: [[Double]] = []
    for ratio in ratioGrid.axes[0].values {
        let along = try PromptLossAlongFlow.measure(d: d, n: Int((ratio * Double(d)).rounded()), k: k, sigma: baseSigma, seed: ctx.seed,
                                                    prompts: prompts, fractions: [0.0, 0.5, 1e-3])
        tail.append(along.sampled)
        exactAt.append(along.exact)
    }

    var header = ["n_over_d", "runs_ok"] + FlowStageMetric.allCases.map { "median_" + $0.rawValue }
    for name in ["start", "half", "1e-3"] {
        header += ["exact_loss_at_\(name)", "mc_mean_at_\(name)", "mc_se_at_\(name)", "mc_median_at_\(name)", "mc_p99_at_\(name)", "mc_top1pct_share_at_\(name)"]
    }
    var ratioTable = CSVTable(header: header, integerColumns: ["runs_ok"])
    for (i, row) in byRatio.enumerated() {
        var cells = [row.value, Double(row.runs)] + row.values
        for (j, s) in tail[i].enumerated() { cells += [exactAt[i][j], s.mean, s.standardError, s.median, s.p99, s.topPercentShare] }
        ratioTable.append(cells)
    }
    try ctx.write(ratioTable.text, "n_over_d_medians.csv")
    print("medians over seeds at d = \(d), k = \(k), sigma = \(baseSigma):")
    print("  " + ["n/d", "plateau_end", "product_reached", "exp_start", "t_loss_1e-3"].map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined(separator: " "))
    for row in byRatio {
        print("  " + [compact(row.value, 3), fmt(row[.plateauEnd]), fmt(row[.productReached]), fmt(row[.exponentialStart]),
                      fmt(row[.tLoss1e3])].map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined(separator: " "))
    }
    print("per-prompt CoT loss over \(prompts) sampled S along the seed-0 flow (exact mean | sampled mean +- se | median | p99 | top-1% share | mean/median):")
    for (i, row) in byRatio.enumerated() {
        for (j, s) in tail[i].enumerated() {
            print("  n/d = \(compact(row.value, 3)), \(stateNames[j].padding(toLength: 9, withPad: " ", startingAt: 0)): \(fmt(exactAt[i][j])) | \(fmt(s.mean)) +- \(compact(s.standardError, 2)) | \(fmt(s.median)) | \(fmt(s.p99)) | \(compact(s.topPercentShare, 3)) | \(compact(s.mean / s.median, 3))\(s.tailDominated ? "  TAIL-DOMINATED" : "")")
        }
    }

    // Where does behaviour change along n/d? The largest step (in log) of each boundary time between
    // adjacent n/d values, and the tail of the per-prompt loss along the flow.
    let ratios = byRatio.map(\.value)
    func largestLogStep(_ metric: FlowStageMetric) -> (from: Double, to: Double, factor: Double)? {
        var best: (Double, Double, Double)?
        for i in 0..<(byRatio.count - 1) {
            let a = byRatio[i][metric], b = byRatio[i + 1][metric]
            guard a > 0, b > 0, a.isFinite, b.isFinite else { continue }
            if abs(log(b / a)) > abs(log(best?.2 ?? 1)) { best = (ratios[i], ratios[i + 1], b / a) }
        }
        return best.map { (from: $0.0, to: $0.1, factor: $0.2) }
    }
    let plateauStep = largestLogStep(.plateauEnd), transitionStep = largestLogStep(.productReached)
    // Tail-dominated (SampleSummary: top 1% carry > 50% of the sum, or mean > 10 x median) at any
    // of the three states; and a milder criterion, the top 1% carrying more than 10% of the sum.
    let dominated = ratios.indices.filter { i in tail[i].contains { $0.tailDominated } }.map { ratios[$0] }
    let heavy = ratios.indices.filter { i in tail[i].contains { $0.topPercentShare > 0.10 } }.map { ratios[$0] }
    // The n/d from which on no state has a top-1% share above 10%.
    let lightFrom = ratios.indices.first { i in ratios.indices.filter { $0 >= i }.allSatisfy { !heavy.contains(ratios[$0]) } }.map { ratios[$0] }

    func column(_ j: Int, _ f: (SampleSummary) -> Double) -> JSONValue { .numbers(tail.map { f($0[j]) }) }
    var tailJSON: [(String, JSONValue)] = []
    for (j, name) in stateNames.enumerated() {
        tailJSON.append((name, .object([
            ("exact_mean", .numbers(exactAt.map { $0[j] })), ("mc_mean", column(j, \.mean)), ("mc_standard_error", column(j, \.standardError)),
            ("mc_median", column(j, \.median)), ("mc_p99", column(j, \.p99)), ("mc_top1pct_share", column(j, \.topPercentShare)),
            ("tail_dominated", .array(tail.map { .bool($0[j].tailDominated) })),
        ])))
    }
    ctx.record("n_over_d_sweep", .object([
        ("d", .int(d)), ("k", .int(k)), ("init_scale", .number(baseSigma)), ("grid", .string(ratioGrid.spec)), ("runs", .int(ratioGrid.count)),
        ("failed", .int(ratioOutcome.failed)), ("seconds", .number(ratioSeconds)),
        ("n_over_d", .numbers(ratios)),
        ("median_plateau_end", .numbers(byRatio.map { $0[.plateauEnd] })),
        ("median_product_reached", .numbers(byRatio.map { $0[.productReached] })),
        ("median_exponential_start", .numbers(byRatio.map { $0[.exponentialStart] })),
        ("median_t_loss_1e-3", .numbers(byRatio.map { $0[.tLoss1e3] })),
        ("mc_prompts", .int(prompts)),
        ("per_prompt_loss_along_seed0_flow", .object(tailJSON)),
    ]))

    var tailSeries: [PlotSeries] = []
    for (j, name) in stateNames.enumerated() {
        tailSeries.append(PlotSeries(name: "top-1% share at \(name)", x: ratios, y: tail.map { $0[j].topPercentShare }))
    }
    tailSeries.append(PlotSeries(name: "1% (no tail)", x: [ratios.first!, ratios.last!], y: [0.01, 0.01]))
    var ratioSeries: [PlotSeries] = []
    for (j, name) in stateNames.enumerated() {
        ratioSeries.append(PlotSeries(name: "mean/median at \(name)", x: ratios, y: tail.map { $0[j].mean / $0[j].median }))
    }
    try ctx.plot([
        PlotSpec(title: "stage boundaries against n/d: medians over seeds, bars from the smallest to the largest seed, d = \(d), k = \(k), sigma = \(baseSigma)", xLabel: "n/d", yLabel: "flow time",
                 logX: true, logY: true,
                 series: [series(byRatio, .plateauEnd, "plateau end", ratioOutcome.records, ratioGrid), series(byRatio, .productReached, "transition: v_j w_j within 5% of -eta", ratioOutcome.records, ratioGrid),
                          series(byRatio, .exponentialStart, "exponential convergence starts", ratioOutcome.records, ratioGrid), series(byRatio, .tLoss1e3, "loss < 1e-3 x start", ratioOutcome.records, ratioGrid)]),
        PlotSpec(title: "share of the population loss carried by the top 1% of prompts, along the seed-0 flow", xLabel: "n/d", yLabel: "share",
                 logX: true, logY: true, series: tailSeries),
        PlotSpec(title: "mean / median of the per-prompt loss, along the seed-0 flow", xLabel: "n/d", yLabel: "mean / median",
                 logX: true, logY: true, series: ratioSeries),
    ], name: "n_over_d_sweep", title: "reduced flow: stages and the tail of the population loss against n/d")

    // ---- Verdicts.
    let slopeText = "log(plateau_end) = \(fmt(power.intercept)) + \(fmt(power.slope)) log(sigma) (slope +- \(fmt(power.slopeError)), R^2 = \(fmt(power.r2)), \(power.points) values of sigma from \(fmt(sigmas.first!)) to \(fmt(sigmas.last!)), medians over \(sigmaGrid.axes[1].values.count) seeds)"
    let halves = lowFit.flatMap { l in highFit.map { h in "; slope over the smaller sigmas \(l.slopeText), over the larger \(h.slopeText)" } } ?? ""
    let logLawText = "; the law plateau = a + c log(1/sigma) gives c = \(fmt(logLaw.slope)) +- \(fmt(logLaw.slopeError)), R^2 = \(fmt(logLaw.r2))"
    // A plausible reading of a small-initialisation analysis: the origin is a saddle, so the time to
    // leave it (and with it the transition) grows like log(1/sigma) without bound as sigma -> 0. Test
    // it on the transition time: its local slope -dt/dlog(sigma) between adjacent sigmas should stay
    // roughly constant down to the smallest sigma. Saturation (the slope at the smallest sigmas below
    // a quarter of its largest value) means the flow leaves the origin at a finite rate instead.
    // Every sigma whose products reach -eta counts, with or without a plateau (at large sigma the
    // products are past a tenth of -eta from the start: no plateau, still a transition time).
    let reached = bySigma.filter { $0[.productReached].isFinite }
    let transitionValues = reached.map { $0[.productReached] }, transitionXs = reached.map { log($0.value) }
    let localSlopes = zip(zip(transitionValues, transitionValues.dropFirst()), zip(transitionXs, transitionXs.dropFirst())).map { pair in
        -(pair.0.1 - pair.0.0) / (pair.1.1 - pair.1.0)
    }
    let origin = try ReducedLoss(n: baseN, d: d, k: k, eta: paperStepSize(n: baseN, d: d))
    let etaBase = origin.etaValue
    let atOrigin = origin.lossAndGradient(p: [Double](repeating: etaBase, count: d), q: [Double](repeating: -1, count: d))
    let slopeList = localSlopes.map { compact($0, 3) }.joined(separator: ", ")
    let mechanism = "exact gradient at v = w = 0: dL/dv_j = \(fmt(atOrigin.gradP[0])), dL/dw_j = \(fmt(atOrigin.gradQ[0])) (v leaves the origin at a finite rate, then drives w)"
    let saddleHolds: Bool?
    if let smallest = localSlopes.first, let largest = localSlopes.max(), largest > 0, localSlopes.count >= 2 {
        saddleHolds = smallest >= 0.5 * largest ? true : (smallest < 0.25 * largest ? false : nil)
    } else {
        saddleHolds = nil
    }
    ctx.verdict(claim: "a small initialisation makes the transition time grow without bound like log(1/sigma) as sigma -> 0 (escape from a saddle at the origin)",
                holds: saddleHolds,
                detail: "transition time (v_j w_j within 5% of -eta) from sigma = \(fmt(sigmas.first!)) to \(fmt(sigmas.last!)): "
                    + transitionValues.map { fmt($0) }.joined(separator: ", ")
                    + "; local slopes -dt/dlog(sigma) from the smallest sigma up: \(slopeList); scaling of the transition time over all runs: "
                    + (transitionScaling?.analysis.verdict ?? "not fitted") + "; \(mechanism). Plateau end (products v_j w_j at 10% of -eta, notes/stages.md): "
                    + slopeText + halves + logLawText, row: 8, reading: true)

    var changeDetail = ""
    if let p = plateauStep { changeDetail += "largest change of the plateau end between n/d = \(compact(p.from, 3)) and \(compact(p.to, 3)) (x \(compact(p.factor, 3))); " }
    if let t = transitionStep { changeDetail += "largest change of the transition time between n/d = \(compact(t.from, 3)) and \(compact(t.to, 3)) (x \(compact(t.factor, 3))); " }
    for (j, name) in stateNames.enumerated() {
        changeDetail += "top-1% share at \(name): " + ratios.indices.map { "\(compact(ratios[$0], 3)): \(compact(tail[$0][j].topPercentShare, 2))" }.joined(separator: ", ") + "; "
    }
    changeDetail += dominated.isEmpty ? "tail-dominated by SampleSummary's criterion (top 1% > 50% of the sum or mean > 10 x median) nowhere"
        : "tail-dominated by SampleSummary's criterion (top 1% > 50% of the sum or mean > 10 x median) at n/d = " + dominated.map { compact($0, 3) }.joined(separator: ", ")
    if heavy.isEmpty {
        changeDetail += "; the top 1% of prompts carry at most 10% of the loss at every n/d"
    } else if let f = lightFrom, f > ratios.first! {
        changeDetail += "; behaviour changes between n/d = \(compact(ratios[ratios.firstIndex(of: f)! - 1], 3)) and \(compact(f, 3)): below, the top 1% of prompts carry more than 10% of the loss the flow descends; from \(compact(f, 3)) on they do not"
    } else {
        changeDetail += "; the top 1% of prompts carry more than 10% of the loss somewhere along the flow at every n/d up to \(compact(ratios.last!, 3))"
    }
    let claim = "at k = \(k) the population loss the flow descends is not tail-dominated at any n/d >= \(compact(ratios.first!, 3)) (the divergent tail of MODEL.md section 6 needs longer chains), so the flow's stage times are meaningful there"
    ctx.verdict(claim: claim, holds: dominated.isEmpty, detail: changeDetail)

    // Consistency: the sampled mean of the per-prompt loss against the exact population loss.
    var zs: [Double] = [], zText: [String] = []
    for i in ratios.indices { for j in stateNames.indices {
        let z = abs(tail[i][j].mean - exactAt[i][j]) / tail[i][j].standardError
        zs.append(z)
        zText.append("n/d = \(compact(ratios[i], 3)) \(stateNames[j]): exact \(fmt(exactAt[i][j])), sampled \(fmt(tail[i][j].mean)) +- \(compact(tail[i][j].standardError, 2)) (\(compact(z, 2)) se)")
    } }
    ctx.verdict(claim: "the sampled per-prompt losses average to the exact population loss the flow uses (within 4 standard errors)",
                holds: zs.allSatisfy { $0 <= 4 },
                detail: zText.joined(separator: "; ") + " (a heavy tail makes the standard error itself unreliable where the top-1% share is large)")
    try ctx.write(sigmaReport + "\n" + ratioReport, "sweep_reports.txt")
}
