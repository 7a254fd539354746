import CotflowExact
import CotflowExamplesSupport
import CotflowExperiments
import CotflowCore
import CotflowModel
import CotflowPlot
import Foundation

// The abstract: "looped transformers significantly improve final performance compared to
// transformers without looping". The looped model applies the same layer k times to the whole
// prompt matrix and is trained on the final loss ||w^_k - w*||^2 only (no intermediate targets).
// Compared, at each number of loops k: the looped model trained end to end; the one-layer model
// without looping (no-CoT, one forward pass; exact optimum d(d+1)/(n+d+1)); the CoT model run
// autoregressively for k steps; the exact k-step GD chain at the paper's eta and at the best
// constant step size for that k.
//
// What trains (notes/looped.md): from the Assumption 4.1 initialisation with the reduced parameter
// set (V31, W13 trained, W24 = -1) plain Adam converges; we train it at every k. From a small random
// initialisation of every entry (the same start as the CoT model) plain Adam stalls: rare prompts on
// which the k-fold cubic map explodes give batch-loss spikes that inflate Adam's second moments.
// We show that run, the curriculum over the number of loops (1 -> k over the first half) with the
// batch gradient clipped to norm 1, and clipping alone (which separates the two ingredients).
// Looped training is slow (per-prompt GEMMs over all n + 1 columns), hence d = 5.

let ctx = ExampleContext(name: "looped-vs-single",
                         summary: "looped transformer trained end to end against the same layer without looping, the CoT model and GD",
                         sizes: ["d", "n"])

/// Per-prompt losses of `objective` on `batch`.
func losses(_ objective: Objective, _ p: TransformerParameters, task: TaskConfig, batch: PromptBatch) -> SampleSummary {
    SampleSummary(Objectives.compute(objective, parameters: p, task: task, batch: batch, gradient: false).perPrompt)
}

func trace(_ m: [Double], d: Int) -> Double { (0..<d).reduce(0) { $0 + m[$1 * d + $1] } }

/// Trains with Adam at learning rate 0.003 on batches of 256; held-out records only at the first and
/// last step, on 64 prompts (see `losses` for why the trainer's held-out evaluation is kept small).
func train(_ task: TaskConfig, _ objective: TrainingObjective, trainable: TrainableSet, initialisation: InitialisationKind,
           steps: Int, seed: UInt64, curriculum: Curriculum? = nil, clipNorm: Double? = nil) throws -> TrainingResult {
    var config = TrainingConfig.defaults(task: task, objective: objective, seed: seed)
    config.trainable = trainable; config.initialisation = initialisation
    config.curriculum = curriculum; config.clipNorm = clipNorm
    config.steps = steps; config.recordEvery = steps; config.heldOutSize = 64
    return try Trainer(config: config).run()
}

ctx.run {
    let d = ctx.size("d", 5), n = ctx.size("n", 20)
    let etaExact = paperStepSize(n: n, d: d), eta = etaExact.doubleValue
    let ks = ctx.size([1, 2, 3, 4, 6], quick: [1, 4])
    let loopedSteps = ctx.size(1000, quick: 300), otherSteps = ctx.size(1000, quick: 500)
    let prompts = ctx.size(4000, quick: 1000)
    let optimum = noCoTOptimum(n: n, d: d).doubleValue
    print("d = \(d), n = \(n), eta = \(etaExact); no-CoT optimum d(d+1)/(n+d+1) = \(fmt(optimum)); \(prompts) evaluation prompts,"
        + " the same prompts for every model and the GD chain")

    let base = try TaskConfig(d: d, n: n, k: 1, eta: eta)
    let nocot = try train(base, .nocot, trainable: .full, initialisation: .random, steps: otherSteps, seed: ctx.seed(2))
    let cotK = ks.max()!
    let cot = try train(try base.with(k: cotK), .cot, trainable: .full, initialisation: .random, steps: otherSteps, seed: ctx.seed(1))
    print("no-CoT model (full, random init, \(otherSteps) Adam steps): \(nocot.status); CoT model (trained at k = \(cotK)): \(cot.status)")

    var csv = CSVTable(header: ["k", "looped_mean", "looped_stderr", "looped_median", "looped_p90", "looped_tail_dominated",
                                "cot_mean", "cot_median", "gd_mean", "gd_median", "exact_gd", "best_step", "exact_best_step_gd",
                                "nocot_mean", "nocot_stderr", "nocot_optimum"], integerColumns: ["k", "looped_tail_dominated"])
    var loopedMedian: [Double] = [], loopedMean: [Double] = [], cotMedian: [Double] = [], gdExact: [Double] = []
    var bestGD: [Double] = [], gdMedian: [Double] = []
    var rows: [JSONValue] = []
    var loopedStats: [SampleSummary] = []
    var nocotSummary: SampleSummary? = nil
    var totalLoopedSeconds = 0.0
    for k in ks {
        let task = try base.with(k: k)
        let looped = try train(task, .looped, trainable: .reduced, initialisation: .assumption, steps: loopedSteps, seed: ctx.seed(1))
        totalLoopedSeconds += looped.seconds
        let batch = PromptBatch.sample(task: task, count: prompts, random: Random(seed: ctx.seed(3), stream: [StreamLabel.evaluation]), includeData: true)
        let l = losses(.looped, looped.parameters, task: task, batch: batch)
        let c = losses(.eval, cot.parameters, task: task, batch: batch)
        let nc = losses(.nocot, nocot.parameters, task: task, batch: batch)
        let g = SampleSummary(batch.chainLosses(eta: eta, k: k))
        let exact = gdChainLoss(n: n, d: d, k: k, eta: etaExact).doubleValue
        let best = bestConstantStep(n: n, d: d, k: k, eta: eta)
        nocotSummary = nocotSummary ?? nc
        print("\nk = \(k): looped training (reduced, Assumption 4.1 init, \(loopedSteps) steps): \(looped.status), \(fmt(looped.seconds)) s")
        for (name, s) in [("looped model  ", l), ("CoT model     ", c), ("GD chain      ", g), ("no-CoT model  ", nc)] {
            print("  " + s.report(name: name).replacingOccurrences(of: "\n", with: "\n  "))
        }
        print("  exact GD at eta: \(fmt(exact)); exact GD at the best constant step \(fmt(best.step)): \(fmt(best.loss))")
        // w_{t+1} = w_t + V31 S (W13 w_t - w*): with V31 = -a I, W13 = b I this is GD with step a b towards
        // (at k = 1, W13 multiplies w_0 = 0 and is not identified)
        // w* / b, a rescaled (shrinkage) target, so the looped model is not bound to the best plain GD.
        let a = -trace(looped.parameters.V31, d: d) / Double(d), b = trace(looped.parameters.W13, d: d) / Double(d)
        print("  looped model: -tr(V31)/d = \(fmt(a)), tr(W13)/d = \(fmt(b)) (GD step a b = \(fmt(a * b)) towards w*/b)")
        csv.append([Double(k), l.mean, l.standardError, l.median, l.p90, l.tailDominated ? 1 : 0, c.mean, c.median, g.mean, g.median,
                    exact, best.step, best.loss, nc.mean, nc.standardError, optimum])
        rows.append(.object([("k", .int(k)), ("looped", json(l)), ("cot_model", json(c)), ("gd", json(g)), ("nocot_model", json(nc)),
                             ("exact_gd", .number(exact)), ("best_constant_step", .number(best.step)), ("exact_best_step_gd", .number(best.loss)),
                             ("looped_training_status", .string(looped.status.description)),
                             ("looped_minus_tr_V31_over_d", .number(a)), ("looped_tr_W13_over_d", .number(b))]))
        loopedStats.append(l)
        loopedMedian.append(l.median); loopedMean.append(l.mean); cotMedian.append(c.median)
        gdExact.append(exact); bestGD.append(best.loss); gdMedian.append(g.median)
    }

    // The known limitation, shown: every entry trained from a small random initialisation.
    let kRandom = ks.max()!
    let randomTask = try base.with(k: kRandom)
    let random = try train(randomTask, .looped, trainable: .full, initialisation: .random, steps: loopedSteps, seed: ctx.seed(1))
    let randomBatch = PromptBatch.sample(task: randomTask, count: prompts, random: Random(seed: ctx.seed(3), stream: [StreamLabel.evaluation]), includeData: true)
    let randomLoss = losses(.looped, random.parameters, task: randomTask, batch: randomBatch)
    let randomStart = losses(.looped, random.initialParameters, task: randomTask, batch: randomBatch)
    // The same random start (seed + 1, as the CoT model) with the curriculum and gradient clipping, and with clipping alone.
    let clip = 1.0, curriculum = Curriculum()
    let curriculumRun = try train(randomTask, .looped, trainable: .full, initialisation: .random, steps: loopedSteps, seed: ctx.seed(1),
                                  curriculum: curriculum, clipNorm: clip)
    let clipRun = try train(randomTask, .looped, trainable: .full, initialisation: .random, steps: loopedSteps, seed: ctx.seed(1), clipNorm: clip)
    let curriculumLoss = losses(.looped, curriculumRun.parameters, task: randomTask, batch: randomBatch)
    let clipLoss = losses(.looped, clipRun.parameters, task: randomTask, batch: randomBatch)
    let cotRandom = losses(.eval, cot.parameters, task: randomTask, batch: randomBatch)
    // For a fair comparison, the CoT model trained the same way (curriculum over the chain length, clipping).
    let cotCurriculum = try train(randomTask, .cot, trainable: .full, initialisation: .random, steps: otherSteps, seed: ctx.seed(1),
                                  curriculum: curriculum, clipNorm: clip)
    let cotCurriculumLoss = losses(.eval, cotCurriculum.parameters, task: randomTask, batch: randomBatch)
    let gdRandom = SampleSummary(randomBatch.chainLosses(eta: eta, k: kRandom))
    let schedule = curriculumRun.curriculumStages.map { "\($0.length) from step \($0.fromStep)" }.joined(separator: ", ")
    print("\nrandom start of every entry (seed \(ctx.seed(1)), scale \(TrainingConfig.defaultInitScale), the CoT model's start), k = \(kRandom), \(loopedSteps) Adam steps each:")
    for (name, s) in [("looped before training           ", randomStart),
                      ("looped, plain Adam                ", randomLoss),
                      ("looped, curriculum + clip norm \(compact(clip))", curriculumLoss),
                      ("looped, clip norm \(compact(clip)) only        ", clipLoss),
                      ("CoT model (trained at k = \(cotK))      ", cotRandom),
                      ("CoT model, curriculum + clip norm \(compact(clip))", cotCurriculumLoss),
                      ("GD chain at eta                   ", gdRandom)] {
        print("  " + s.report(name: name).replacingOccurrences(of: "\n", with: "\n  "))
    }
    print("  no-CoT optimum d(d+1)/(n+d+1) = \(fmt(optimum)); curriculum over the loops: \(schedule);"
        + " clipped steps: \(curriculumRun.clippedSteps) (curriculum), \(clipRun.clippedSteps) (clip only)")
    for (name, r) in [("plain", random), ("curriculum", curriculumRun), ("clip only", clipRun), ("CoT curriculum", cotCurriculum)]
        where r.status != .completed {
        print("  \(name) run: \(r.status)")
    }
    print("looped training time: \(fmt(totalLoopedSeconds)) s for \(ks.count) runs of \(loopedSteps) steps")

    try ctx.write(csv.text, "looped.csv")
    ctx.record("setting", .object([("d", .int(d)), ("n", .int(n)), ("eta", .string(etaExact.description)), ("nocot_optimum", .number(optimum)),
                                   ("looped_steps", .int(loopedSteps)), ("prompts", .int(prompts))]))
    ctx.record("by_k", .array(rows))
    ctx.record("random_init_looped", .object([("k", .int(kRandom)), ("status", .string(random.status.description)),
                                               ("before", json(randomStart)), ("after", json(randomLoss)),
                                               ("curriculum", .object([("start", .int(curriculum.start)), ("ramp_fraction", .number(curriculum.rampFraction)),
                                                                       ("stages", .string(schedule)), ("clip_norm", .number(clip)),
                                                                       ("clipped_steps", .int(curriculumRun.clippedSteps)),
                                                                       ("status", .string(curriculumRun.status.description)),
                                                                       ("after", json(curriculumLoss))])),
                                               ("clip_only", .object([("clip_norm", .number(clip)), ("clipped_steps", .int(clipRun.clippedSteps)),
                                                                      ("status", .string(clipRun.status.description)), ("after", json(clipLoss))])),
                                               ("cot_model", json(cotRandom)), ("cot_model_curriculum_clip", json(cotCurriculumLoss)),
                                               ("gd", json(gdRandom))]))

    let x = ks.map(Double.init)
    try ctx.plot([PlotSpec(
        title: "d = \(d), n = \(n), eta = \(etaExact)", xLabel: "number of loops / chain length k", yLabel: "||w^_k - w*||^2", logY: true,
        series: [PlotSeries(name: "looped model median", x: x, y: loopedMedian),
                 PlotSeries(name: "looped model mean", x: x, y: loopedMean),
                 PlotSeries(name: "CoT model median", x: x, y: cotMedian),
                 PlotSeries(name: "GD median (eta)", x: x, y: gdMedian),
                 PlotSeries(name: "GD exact mean (eta)", x: x, y: gdExact),
                 PlotSeries(name: "GD exact mean (best step)", x: x, y: bestGD),
                 PlotSeries(name: "no-CoT optimum", x: x, y: x.map { _ in optimum }),
                 PlotSeries(name: "looped, random init, median (k = \(kRandom))", x: [Double(kRandom)], y: [randomLoss.median]),
                 PlotSeries(name: "looped, random init + curriculum + clip, median", x: [Double(kRandom)], y: [curriculumLoss.median])])],
        name: "looped", title: "Looped transformer vs one layer without looping")

    // Verdict: for every k >= 2 the trained looped model beats the no-CoT optimum by its median and by
    // its mean (3 standard errors) where the mean is stable; "significantly" is read as at least a
    // factor 2 at the largest k, on the mean where it is stable, else on the median.
    let multi = ks.indices.filter { ks[$0] >= 2 }
    let beats = !multi.isEmpty && multi.allSatisfy { loopedStats[$0].isBelow(optimum) }
    let last = loopedStats.last!
    let factor = optimum / (last.meanIsStable ? last.mean : last.median)
    ctx.verdict(claim: "looped transformers (trained end to end) significantly improve over the same layer without looping",
                holds: multi.isEmpty ? nil : beats && factor >= 2,
                detail: multi.map { "k=\(ks[$0]): \(loopedStats[$0].centre)" }
                    .joined(separator: "; ") + " vs no-CoT optimum \(fmt(optimum)) (trained no-CoT model: \(nocotSummary?.centre ?? "not run"));"
                    + " improvement factor at k = \(ks.last!) (on the \(last.meanIsStable ? "mean" : "median")): \(String(format: "%.2f", factor)). Trained from the Assumption 4.1 init with V31, W13 only", row: 13)
    ctx.verdict(claim: "looped training of every entry from a small random initialisation also gets below the no-CoT optimum (k = \(kRandom))",
                holds: randomLoss.isBelow(optimum),
                detail: "\(randomStart.centre) -> \(randomLoss.centre)"
                    + " after \(loopedSteps) Adam steps (plain Adam; notes/looped.md: it stalls)", row: 13)
    // Judged like the first claim (median, and mean + 3 standard errors where the mean is stable); the
    // clip-only run is reported beside it so that a reader sees which ingredient does the work.
    let curriculumDetail = "\(curriculumLoss.centre) vs no-CoT optimum \(fmt(optimum)) after \(loopedSteps) Adam steps"
    let ablationDetail = " (\(schedule); clip norm \(compact(clip))). Clip only: median \(fmt(clipLoss.median)) (\(clipLoss.isBelow(optimum) ? "also below" : "not below"));"
        + " plain: median \(fmt(randomLoss.median)); CoT model median \(fmt(cotRandom.median)) (curriculum + clip \(fmt(cotCurriculumLoss.median))); GD median \(fmt(gdRandom.median))"
    ctx.verdict(claim: "with a curriculum over the loops and gradient clipping, looped training of every entry from the same random start gets below the no-CoT optimum (k = \(kRandom))",
                holds: curriculumRun.status == .completed && curriculumLoss.isBelow(optimum), detail: curriculumDetail + ablationDetail, row: 13)
}
