import ArgumentParser
import CotflowExperiments
import CotflowExact
import CotflowPlot
import CotflowModel
import CotflowCore
import CotflowStages
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "The reduced gradient flow against full training of the transformer from the same initial point.",
        discussion: "Training starts from the Assumption 4.1 point of --seed and the flow from its eigenvalues. With an optimizer that maps steps to flow time (SGD: t = learning rate x step) the flow is evaluated at every record time; Adam has no such map, so only the shapes of the curves (their stages) are compared. The training loss is the teacher-forced CoT loss on a fixed held-out set. With --full-flow the full-matrix gradient flow (every entry of V and W on --prompts fixed prompts) from training's start is a third curve, scored on the same held-out set, and the report splits training's deviation into the reduction's part and sampling's; --init random compares full training with it alone (notes/compare.md). Writes comparison.csv (one row per record time) and summary.json with --out."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Trainable sets to run: reduced (against the flow with W24 fixed), full (against the flow with W24 free) or both.")
    var params: ComparedSets = .reduced
    @OptionGroup var training: TrainingOptions
    @Option(help: "GSL stepper of the flow.") var stepper: Stepper = ComparisonRun.defaultFlow.ode.stepper
    @Flag(help: "Render comparison.svg/.png (losses, eigenvalues) with gnuplot into --out; without gnuplot the data and script are written.")
    var plot = false
    @Flag(name: .customLong("full-flow"), help: "Add the full-matrix gradient flow (every entry of V and W on --prompts fixed prompts) from training's start as a third curve, and split training's deviation into the reduction's part and sampling's (notes/compare.md).")
    var fullFlow = false
    @Option(parsing: .unconditional, help: "Prompts of the full-matrix flow (with --full-flow). Fewer prompts bias the flow (notes/compare.md: 8% at (4, 30, 3) with 16384, 2.6% with 65536).") var prompts = 65536
    @Option(help: "Training's start: assumption (Assumption 4.1, also the reduced flow's) or random (iid N(0, init-scale^2) entries; needs --params full and --full-flow: no reduced flow then).")
    var `init`: InitialisationKind = ComparisonRun.defaultTraining.initialisation

    func validate() throws {
        try checkingInput { try output.validating { try comparisonRun().validate() } }
        try output.checkPlot(plot)
    }

    /// The run the options describe (defaults resolved by `ComparisonRun`).
    func comparisonRun() throws -> ComparisonRun {
        let ranges = try scale.ranges(), t = training
        return try ComparisonRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), seed: task.seed, trainable: params.trainable,
                                 initialisation: self.`init`, initScale: scale.initScale, vRange: ranges.v, wRange: ranges.w,
                                 optimizer: try t.resolvedOptimizer(), learningRate: t.learningRate, batchSize: t.batchSize, steps: t.steps,
                                 recordEvery: t.recordEvery, heldOut: t.heldOut, stepper: stepper, fullFlowPrompts: fullFlow ? prompts : nil)
    }

    func run() throws {
        try output.solve(try comparisonRun(), what: "compare") { outcome in
            if plot, let c = outcome.comparison {
                try renderFigure(Figures.comparison(c), name: "comparison", title: "reduced flow vs training, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(c.config.eta)", output: output)
            }
        }
    }
}
