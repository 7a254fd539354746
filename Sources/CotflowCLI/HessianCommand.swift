import ArgumentParser
import CotflowCore
import CotflowModel
import Foundation

struct HessianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "Loss, gradient and Hessian spectrum of an objective at saved parameters, over a fixed batch of prompts.",
        discussion: "The full-batch loss over --prompts fixed prompts (stream `evaluation` of --seed); its Hessian with respect to every entry of V and W (--params full) or V31 and W13 (--params reduced) by central differences of the analytic gradient, symmetrised (the asymmetry before that is printed as an accuracy check). Prints the block norms of V and W, the eigenvalues, the gradient's components along the eigenvectors, where the extreme eigenvectors live (their mass per block), and the loss along the most negative eigenvector. With --out writes summary.json and eigenvalues.csv. notes/looped.md uses it to classify where looped training stalls."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Parameter file written by `cotflow train` (parameters.json).") var load: String
    @Option(help: "Objective: looped, cot (teacher-forced), eval (autoregressive k steps) or nocot.") var objective: Objective = .looped
    @Option(help: "Differentiated entries: full (every entry of V and W) or reduced (V31 and W13).") var params: TrainableSet = .full
    @Option(parsing: .unconditional, help: "Number of fixed prompts in the batch.") var prompts = 2000
    @Option(parsing: .unconditional, help: "Also measure gradient noise over this many independent batches (0: skip).") var batches = 0
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Prompts per batch for --batches.") var batchSize = 256
    @Option(name: .customLong("difference-step"), parsing: .unconditional, help: "Step h of the central differences of the gradient.") var differenceStep = 1e-4

    func validate() throws {
        guard prompts >= 1, prompts <= 1_000_000 else { throw ValidationError("--prompts must be in 1...1000000 (got \(prompts))") }
        guard batches >= 0, batches <= 100_000, batchSize >= 1, batchSize <= 1_000_000 else {
            throw ValidationError("--batches must be in 0...100000 and --batch-size in 1...1000000")
        }
        guard differenceStep.isFinite, differenceStep > 0, differenceStep < 1 else {
            throw ValidationError("--difference-step must be in (0, 1) (got \(differenceStep))")
        }
    }

    func run() throws {
        let eta = try task.stepSize()
        let (parameters, h, noise) = try reportingErrors { () throws -> (TransformerParameters, FullBatchHessian, GradientNoise?) in
            let taskConfig = try TaskConfig(d: task.d, n: task.n, k: task.k, eta: eta.doubleValue)
            let p = try TransformerParameters.load(from: load)
            guard p.d == task.d else { throw CotflowError("\(load) has d = \(p.d); pass --d \(p.d)") }
            let batch = PromptBatch.sample(task: taskConfig, count: prompts,
                                           random: Random(seed: task.seed, stream: [StreamLabel.evaluation]), includeData: true)
            let entries = FullBatchHessian.entries(reduced: params == .reduced, d: task.d)
            let noise = batches > 0 ? GradientNoise.measure(objective, parameters: p, task: taskConfig, batches: batches,
                                                            size: batchSize, seed: task.seed, entries: entries) : nil
            return (p, try FullBatchHessian.compute(objective, parameters: p, task: taskConfig, batch: batch,
                                                     entries: entries, step: differenceStep), noise)
        }
        let m = h.entries.count, ev = h.eigenvalues
        let along = h.gradientComponents, resolution = h.resolution
        let negative = h.negativeCount, nearZero = h.unresolvedCount
        func shares(_ j: Int) -> [(name: String, share: Double)] { h.mainBlocks(j, d: task.d) }
        func sharesText(_ j: Int) -> String { shares(j).map { "\($0.name) \(fmt(100 * $0.share))%" }.joined(separator: ", ") }
        let norms = FullBatchHessian.blockNorms(parameters)

        var table = CSVTable(header: ["index", "eigenvalue", "gradient_component", "top_block_share"])
        for j in 0..<m { table.append([Double(j), ev[j], along[j], shares(j).first?.share ?? 0]) }
        let summary = JSONValue.object([
            ("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k)), ("eta", .string(eta.description)),
            ("seed", .int(Int(truncatingIfNeeded: task.seed))), ("load", .string(load)), ("objective", .string(objective.rawValue)),
            ("params", .string(params.rawValue)), ("prompts", .int(prompts)), ("difference_step", .number(differenceStep)),
            ("loss", .number(h.loss)), ("gradient_norm", .number(h.gradientNorm)),
            ("relative_asymmetry", .number(h.relativeAsymmetry)), ("resolution", .number(resolution)),
            ("negative_eigenvalues", .int(negative)), ("near_zero_eigenvalues", .int(nearZero)),
            ("eigenvalues", .numbers(ev)), ("gradient_components", .numbers(along)),
            ("block_norms", .object(norms.map { ($0.name, .number($0.norm)) })),
            ("lowest_eigenvector_blocks", .object(shares(0).map { ($0.name, .number($0.share)) })),
            ("highest_eigenvector_blocks", .object(shares(m - 1).map { ($0.name, .number($0.share)) })),
            ("gradient_noise", noise.map { n in .object([
                ("batches", .int(batches)), ("batch_size", .int(batchSize)),
                ("batch_gradient_norm_median", .number(SampleSummary(n.norms).median)),
                ("batch_gradient_norm_max", .number(n.norms.max()!)),
                ("mean_gradient_norm", .number(n.meanGradientNorm)),
                ("adam_ratio", .number(n.adamRatio)), ("clipped_adam_ratio", .number(n.clippedAdamRatio)),
            ]) } ?? .null),
        ])
        try output.write(summary.rendered() + "\n", "summary.json")
        try output.write(table.text, "eigenvalues.csv")
        let lowest = Array(ev.prefix(5)), highest = Array(ev.suffix(3))
        var lines = [
            "\(objective.rawValue) loss at \(load) over \(prompts) fixed prompts, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta)",
            "loss \(fmt(h.loss)); gradient norm \(fmt(h.gradientNorm)) over \(m) entries (\(params.rawValue))",
            "block norms (Frobenius): " + norms.filter { $0.norm > 0 }.map { "\($0.name) \(fmt($0.norm))" }.joined(separator: ", "),
            "Hessian by central differences (h = \(differenceStep)); relative asymmetry \(fmt(h.relativeAsymmetry)), so eigenvalues within \(fmt(resolution)) of 0 are unresolved",
            "eigenvalues: \(negative) negative, \(nearZero) unresolved, \(m - negative - nearZero) positive; lowest "
                + lowest.map(fmt).joined(separator: ", ") + "; highest " + highest.map(fmt).joined(separator: ", "),
            "lowest eigenvector lives in: \(sharesText(0)); gradient component along it \(fmt(along[0]))",
            "highest eigenvector lives in: \(sharesText(m - 1))",
        ]
        if let n = noise {
            let s = SampleSummary(n.norms)
            lines.append("gradient noise over \(batches) batches of \(batchSize): batch gradient norm median \(fmt(s.median)), p90 \(fmt(s.p90)), max \(fmt(n.norms.max()!)); "
                + "norm of their mean \(fmt(n.meanGradientNorm)); mean over entries of |E g| / sqrt(E g^2) (Adam's step / lr) \(fmt(n.adamRatio)), "
                + "with each batch gradient scaled to norm 1 \(fmt(n.clippedAdamRatio))")
        }
        if let out = output.out { lines.append("wrote \(out)/summary.json and \(out)/eigenvalues.csv") }
        output.emit(json: summary, report: lines.joined(separator: "\n"))
    }
}
