import ArgumentParser
import CotflowExact
import CotflowPlot
import CotflowCore
import CotflowExperiments
import CotflowModel
import Foundation

struct EvalCommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate trained (--load FILE) or constructed (--construction) parameters autoregressively over k steps.",
        discussion: "Reports the mean, median, 90th and 99th percentiles of E || w^_k - w* ||^2 over fresh prompts, the same for the exact GD chain on the same prompts, and the fraction of prompts whose chain diverges (eta * lambda_max(S) >= 2). Out of distribution: --spectrum, --condition-number or --covariance FILE set the covariance of x. With identity or a diagonal covariance (--spectrum, --condition-number) the exact population value of the GD chain is printed beside the Monte Carlo numbers."
    )

    @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of x and w*. (default: from --load, else \(TrainingConfig.defaultTask().d))") var d: Int?
    @Option(name: .customLong("n"), parsing: .unconditional, help: "Context length n. (default: from --load, else \(TrainingConfig.defaultTask().n))") var n: Int?
    @Option(name: .customLong("k"), parsing: .unconditional, help: "Chain length k. (default: from --load, else \(TrainingConfig.defaultTask().k))") var k: Int?
    @Option(name: .customLong("eta"), parsing: .unconditional, help: "GD step size: a decimal or a rational such as 20/31. (default: from --load, else the paper's n/(n+d+1))") var eta: String?
    @Option(parsing: .unconditional, help: "Seed for every random stream of the run.") var seed: UInt64 = 0
    @OptionGroup var output: OutputOptions

    @Option(help: "Parameter file written by `cotflow train` (parameters.json).") var load: String?
    @Flag(help: "Evaluate the construction of Theorem 3.2 (V31 = -eta I, W13 = I, W24 = -1).") var construction = false
    @Option(parsing: .unconditional, help: "Number of evaluation prompts.") var prompts = 10_000
    @Option(parsing: .unconditional, help: "Eigenvalues of a diagonal covariance of x: d comma-separated positive numbers.") var spectrum: String?
    @Option(name: .customLong("condition-number"), parsing: .unconditional, help: "Diagonal covariance with eigenvalues geometrically spaced from K^(-1/2) to K^(1/2).") var conditionNumber: Double?
    @Option(help: "JSON file with a d x d covariance (an array of d rows, or of d*d numbers).") var covariance: String?
    @Flag(help: "Render figure.svg/.png (sorted per-prompt losses of the transformer and the GD chain) with gnuplot into --out.")
    var plot = false

    func validate() throws {
        guard (load != nil) != construction else { throw ValidationError("give exactly one of --load FILE and --construction") }
        try output.checkPlot(plot)
        guard [spectrum != nil, conditionNumber != nil, covariance != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --spectrum, --condition-number and --covariance")
        }
        try checkingInput { try TaskLimits.check(d: d, n: n, k: k); _ = try eta.map { try TaskLimits.stepSize($0) } }
    }

    /// The evaluation the options describe (the task resolved by `EvaluationRun` from --load and the options).
    func evaluationRun() throws -> EvaluationRun {
        let sigma: EvaluationRun.EvaluationCovariance = spectrum.map { .spectrum($0) } ?? conditionNumber.map { .conditionNumber($0) }
            ?? covariance.map { .file(InputFile($0)) } ?? .identity
        return try EvaluationRun(d: d, n: n, k: k, eta: try eta.map { try TaskLimits.stepSize($0) }, seed: seed, load: load.map { InputFile($0) },
                                 prompts: prompts, covariance: sigma)
    }

    func run() throws {
        let run = try evaluationRun()
        run.warnings.forEach(warn)
        try output.validating { try run.validate() }
        try output.solve(run, what: "eval", plot: plot) { outcome in
            guard plot else { return }
            try renderFigure(Figures.evaluation(outcome.result, exactMean: outcome.exact?.value.doubleValue), name: "figure",
                             title: "evaluation of \(load.map { ($0 as NSString).lastPathComponent } ?? "the construction"), (d, n, k) = (\(run.d), \(run.n), \(run.k)), eta = \(run.eta), covariance \(run.covariance)",
                             output: output)
        }
    }
}
