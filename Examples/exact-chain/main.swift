// exact-chain: the exact evaluation loss E||w_k - w*||^2 of k GD steps with the paper's step
// eta = n/(n+d+1) (rational arithmetic over Wishart moments, no sampling error), as the exact
// job of a phase-transition sweep over d, n/d and k, for the claims about the step size and the
// number of CoT steps (notes/reproduction.md rows 2, 14, 15 and 16); and the construction of
// Theorem 3.2 run autoregressively against the GD chain (row 3). Next to the exact mean, the
// median of the sampled GD chain at (d, n) = (10, 20), where a few prompts carry the mean.
import CotflowExact
import CotflowExamplesSupport
import CotflowExperiments
import CotflowCore
import CotflowModel
import CotflowPlot
import Foundation

let ctx = ExampleContext(
    name: "exact-chain",
    summary: "The exact loss of the GD chain against k, d and n/d: the one-step optimum, k = Theta(log d), the mean against the median at n = 2d.")

ctx.run {
    // ---- Row 2: the exact one-step loss at the paper's step and its neighbours (n +- 1)/(n+d+1).
    var oneStep: [String] = []
    var oneStepHolds = true
    for (d, n) in [(10, 20), (10, 40), (100, 400)] {
        let steps = [n - 1, n, n + 1].map { Rational.parse("\($0)/\(n + d + 1)")! }
        let losses = steps.map { gdChainLoss(n: n, d: d, k: 1, eta: $0) }
        let optimum = noCoTOptimum(n: n, d: d)
        let best = bestConstantStep(n: n, d: d, k: 1, eta: steps[1].doubleValue)
        let minimal = losses[1] < losses[0] && losses[1] < losses[2] && losses[1] == optimum
        oneStepHolds = oneStepHolds && minimal
        oneStep.append("(d, n) = (\(d), \(n)): exact loss \(fmt(losses[0].doubleValue)) at \(steps[0]), \(fmt(losses[1].doubleValue)) "
            + "(\(losses[1] == optimum ? "=" : "!=") the no-CoT optimum \(optimum)) at \(steps[1]) and \(fmt(losses[2].doubleValue)) at \(steps[2]); "
            + "the best constant step by golden section is \(fmt(best.step)) (paper's \(fmt(steps[1].doubleValue)))")
    }
    ctx.verdict(claim: "eta = n/(n+d+1) is the optimal one-step step size: its exact loss is below the neighbouring steps (n +- 1)/(n+d+1) and equals the no-CoT optimum d(d+1)/(n+d+1)",
                holds: oneStepHolds, detail: oneStep.joined(separator: "; "), row: 2,
                testedBy: "example `exact-chain`; `cotflow exact gd-loss --d 10 --n 20 --k 1 --eta 19/31`, then `20/31` and `21/31`")

    // ---- Row 3: the construction V31 = -eta I, W13 = I, W24 = -1 run autoregressively is the GD chain.
    let (dc, nc, kc) = (10, 40, 5)
    let etaC = paperStepSize(n: nc, d: dc)
    let evaluated = try evaluate(TransformerParameters.construction(d: dc, eta: etaC.doubleValue),
                                 task: try TaskConfig(d: dc, n: nc, k: kc, eta: etaC.doubleValue), prompts: ctx.size(10_000, quick: 2_000), seed: ctx.seed)
    let modelC = SampleSummary(evaluated.evalLosses), chainC = SampleSummary(evaluated.chainLosses)
    let gap = zip(evaluated.evalLosses, evaluated.chainLosses).map { abs($0 - $1) / max(abs($1), 1e-300) }.max() ?? .nan
    let cotAtConstruction = try ReducedLoss(n: nc, d: dc, k: kc, eta: etaC)
        .exactLoss(v: [Rational](repeating: -etaC, count: dc), w: [Rational](repeating: Rational(1), count: dc))
    ctx.verdict(claim: "the construction of Theorem 3.2 (V31 = -eta I, W13 = I, W24 = -1) runs k steps of GD autoregressively: its evaluation loss is the GD chain's on every prompt, and its CoT loss is exactly 0",
                holds: gap <= 1e-10 && cotAtConstruction == Rational(0),
                detail: "at (d, n, k) = (\(dc), \(nc), \(kc)), eta = \(etaC), on the same \(evaluated.evalLosses.count) prompts: evaluation loss \(modelC.mean) for the construction and \(chainC.mean) for the GD chain "
                    + "(largest relative difference on one prompt \(compact(gap, 2))); exact population CoT loss at the construction: \(cotAtConstruction)",
                row: 3, testedBy: "example `exact-chain`; `cotflow eval --construction --d 10 --n 40 --k 5 --json`; unit tests in `CotflowModelTests`")

    // ---- The exact sweep: k x d x n/d (the regime diagram: rows k, columns d, one table per n/d),
    // the paper's step at every point.
    let ds = ctx.size([10, 100, 1000, 10_000], quick: [10, 100, 1000])
    let maxK = ctx.size(30, quick: 20)
    var settings = ExperimentSettings(job: .exact)
    settings.k = 1
    let grid = try SweepGrid(specs: ["k=1:\(maxK):\(maxK)", "d=" + ds.map(String.init).joined(separator: ","), "n_over_d=2,4"],
                             allowedNames: SweepJob.exact.axisNames, integerNames: SweepJob.integerAxes)
    let started = Date()
    let outcome = try settings.sweep(grid, directory: ctx.path("sweep"), jobs: ProcessInfo.processInfo.activeProcessorCount)
    guard outcome.failed == 0, let merged = outcome.merged else { throw CotflowError("the exact sweep has \(outcome.failed) failed points") }
    print("exact sweep \(grid.spec): \(grid.count) exact losses in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    print(merged.report)
    let loss = SweepJob.exact.metricNames.firstIndex(of: "exact_eval_loss")!
    /// The exact mean against k = 1...maxK at (d, n = ratio x d).
    func series(d: Int, ratio: Double) -> [Double] {
        outcome.records.filter { $0.values[1] == Double(d) && $0.values[2] == ratio }.sorted { $0.values[0] < $1.values[0] }.map { $0.metrics[loss] }
    }
    var table = CSVTable(header: ["k", "d", "n_over_d", "exact_eval_loss"], integerColumns: ["d", "k"])
    for r in outcome.records { table.append([r.values[0], r.values[1], r.values[2], r.metrics[loss]]) }
    try ctx.write(table.text, "exact_loss.csv")

    // ---- Row 14: the smallest k with E||w_k - w*||^2 <= 0.1 at n = 4d.
    let target = 0.1
    var smallest: [(d: Int, k: Int?)] = []
    var lines14: [String] = []
    for d in ds {
        let s = series(d: d, ratio: 4)
        let k = s.firstIndex { $0 <= target }.map { $0 + 1 }
        smallest.append((d, k))
        let minimum = s.enumerated().min { $0.element < $1.element }!
        lines14.append(k.map { "d = \(d): k = \($0) (loss \(fmt(s[$0 - 1])))" }
            ?? "d = \(d): never within k <= \(maxK) (minimum \(fmt(minimum.element)) at k = \(minimum.offset + 1))")
    }
    let large = smallest.filter { $0.d >= 100 }
    let increments = zip(large, large.dropFirst()).compactMap { a, b -> Int? in
        guard let ka = a.k, let kb = b.k else { return nil }
        return kb - ka
    }
    let logHolds = large.allSatisfy { $0.k != nil } && !increments.isEmpty && increments.allSatisfy { $0 > 0 }
        && Double(increments.max()!) <= 2 * Double(increments.min()!)
    ctx.verdict(claim: "at n = 4d, k = Theta(log d) CoT steps bring the exact mean loss to \(compact(target, 2)) for d from 100 on (a constant number of steps more per decade of d)",
                holds: logHolds,
                detail: "smallest k with exact E||w_k - w*||^2 <= \(compact(target, 2)): " + lines14.joined(separator: "; ")
                    + "; steps added per decade of d from 100 on: " + increments.map(String.init).joined(separator: ", "),
                row: 14, testedBy: "example `exact-chain`; `cotflow exact gd-loss --d D --n 4D --k K`")
    let small = smallest.first { $0.d < 100 }
    if let small {
        ctx.verdict(claim: "at n = 4d the exact mean loss also reaches \(compact(target, 2)) at d = \(small.d)",
                    holds: small.k != nil, detail: lines14[0], row: 14)
    }

    // ---- Rows 15 and 16: the exact mean at n = 2d bottoms out and grows; the sampled median falls.
    var lines15: [String] = []
    var meanFalls = true
    for d in ds where d <= 1000 {
        let s = series(d: d, ratio: 2)
        let minimum = s.enumerated().min { $0.element < $1.element }!
        let grows = minimum.offset + 1 < s.count && s.last! > minimum.element
        meanFalls = meanFalls && !grows
        lines15.append(grows ? "d = \(d): minimum \(fmt(minimum.element)) at k = \(minimum.offset + 1), then \(fmt(s.last!)) at k = \(s.count)"
                             : "d = \(d): still falling at k = \(s.count) (\(fmt(s.last!)))")
    }
    let d0 = 10, n0 = 20
    let eta0 = paperStepSize(n: n0, d: d0)
    let prompts = ctx.size(20_000, quick: 4_000)
    let batch = PromptBatch.sample(task: try TaskConfig(d: d0, n: n0, k: 1, eta: eta0.doubleValue), count: prompts,
                                   random: Random(seed: ctx.seed, stream: [StreamLabel.monteCarlo]), includeData: false)
    let ks = [1, 2, 5, 10, 20].filter { $0 <= maxK }
    let sampled = ks.map { SampleSummary(batch.chainLosses(eta: eta0.doubleValue, k: $0)) }
    let medians = sampled.map(\.median)
    let medianFalls = zip(medians, medians.dropFirst()).allSatisfy { $0.1 < $0.0 }
    let exact0 = series(d: d0, ratio: 2)
    let medianText = "sampled GD chain at (\(d0), \(n0)) over \(prompts) prompts: " + zip(ks, sampled).map { k, s in
        !s.meanIsStable ? "k = \(k): \(s.centre) (exact mean \(fmt(exact0[k - 1])))"
            : "k = \(k): median \(fmt(s.median)), mean \(fmt(s.mean)) +- \(compact(s.standardError, 2)) (exact \(fmt(exact0[k - 1]))), top 1% carry \(compact(100 * s.topPercentShare, 3))%"
    }.joined(separator: "; ")
    ctx.verdict(claim: "at n = 2d the exact mean loss of the GD chain falls with every step k",
                holds: meanFalls, detail: "exact mean at n = 2d: " + lines15.joined(separator: "; "), row: 15,
                testedBy: "example `exact-chain`; `cotflow exact gd-loss --d D --n 2D --k K`; example `stage-sweep` (n/d sweep)")
    ctx.verdict(claim: "at n = 2d the median loss of the GD chain falls with every step k",
                holds: medianFalls, detail: medianText, row: 15)
    if let k20 = ks.firstIndex(of: 20) {
        let k5 = ks.firstIndex(of: 5)!
        ctx.verdict(claim: "the paper's step keeps the exact mean loss of a long chain below that of a short one at n = 2d (k = 20 against k = 5)",
                    holds: exact0[19] < exact0[4],
                    detail: "at (\(d0), \(n0)), eta = \(eta0): exact mean \(fmt(exact0[4])) at k = 5, \(fmt(exact0[9])) at k = 10, \(fmt(exact0[19])) at k = 20; "
                        + "sampled at k = 20: \(sampled[k20].centre) (median at k = 5: \(fmt(sampled[k5].median)))",
                    row: 16, testedBy: "example `exact-chain`; `cotflow exact gd-loss --d 10 --n 20 --k 20`")
    }

    ctx.record("exact_sweep", .object([("grid", .string(grid.spec)), ("points", .int(grid.count)), ("target", .number(target)),
                                        ("smallest_k_at_n_4d", .array(smallest.map { .object([("d", .int($0.d)), ("k", $0.k.map { .int($0) } ?? .null)]) }))]))
    ctx.record("sampled_chain", .object([("d", .int(d0)), ("n", .int(n0)), ("prompts", .int(prompts)), ("k", .array(ks.map { .int($0) })),
                                         ("median", .numbers(medians)), ("mean", .numbers(sampled.map(\.mean))),
                                         ("top1pct_share", .numbers(sampled.map(\.topPercentShare)))]))

    let kValues = (1...maxK).map(Double.init)
    var curves: [PlotSeries] = []
    for d in ds {
        for ratio in [2.0, 4.0] {
            curves.append(PlotSeries(name: "d = \(d), n = \(Int(ratio))d", x: kValues, y: series(d: d, ratio: ratio)))
        }
    }
    curves.append(PlotSeries(name: "loss \(compact(target, 2))", x: [1, Double(maxK)], y: [target, target]))
    try ctx.plot([
        PlotSpec(title: "exact E||w_k - w*||^2 of k GD steps, eta = n/(n+d+1)", xLabel: "k", yLabel: "exact mean loss", logX: false, logY: true, series: curves),
        PlotSpec(title: "sampled GD chain at (d, n) = (\(d0), \(n0)): median and mean over \(prompts) prompts", xLabel: "k", yLabel: "loss", logX: true, logY: true,
                 series: [PlotSeries(name: "median", x: ks.map(Double.init), y: medians), PlotSeries(name: "mean", x: ks.map(Double.init), y: sampled.map(\.mean)),
                          PlotSeries(name: "exact mean", x: ks.map(Double.init), y: ks.map { exact0[$0 - 1] })]),
    ], name: "exact_chain", title: "the exact GD chain: loss against k at n = 2d and n = 4d")
}
