import ArgumentParser
import CotflowPlot
import CotflowCore
import CotflowExperiments
import CotflowModel
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the one-layer linear transformer (full D x D matrices) on freshly sampled prompts.",
        discussion: "Records a trajectory every --record-every steps: batch loss, held-out CoT and evaluation losses (mean and median), eigenvalues of the symmetric parts of V31 and W13, their diagonals in the initial eigenbasis, W24, the norm outside those blocks, the off-diagonal mass of V31 and W13 in the initial eigenbasis and their commutator norm. With --out writes trajectory.csv, summary.json, parameters.json (final) and initial_parameters.json. Time t is the optimizer's map of steps to the flow time of `cotflow ode` (SGD: t = learning rate x step); an optimizer without one (Adam) records t = learning rate x step."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Training objective: cot (teacher-forced chain), nocot (one step) or looped (the layer applied k times).")
    var objective: TrainingObjective = .cot
    @Option(help: "Trainable set: full (every entry of V and W) or reduced (V31 and W13, W24 = -1, the rest zero).")
    var params: TrainableSet = .full
    @Option(help: "Initialisation: random (iid N(0, init-scale^2) entries) or assumption (Assumption 4.1).")
    var `init`: InitialisationKind = .random
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Render figure.svg/.png (losses; eigenvalues of V31 and W13 with the construction's -eta and 1; W24) with gnuplot into --out.")
    var plot = false
    @Flag(help: "Curriculum (looped: number of loops; cot: chain length): train at --curriculum-start first and grow the length by one in equal stages until it reaches k at step R = min(round(--curriculum-ramp x steps), steps - 1), then train at k. Stage l (l = start...k-1) covers steps [(l-start) R/(k-start), (l-start+1) R/(k-start)); e.g. the defaults at k = 6 and 1000 steps train 1, 2, ..., 6 loops from steps 0, 100, ..., 500. Held-out records always use k; batch_loss is at the current length. The stages are in summary.json.")
    var curriculum = false
    @Option(name: .customLong("curriculum-start"), parsing: .unconditional, help: "First length of the curriculum, 1...k (default \(Curriculum().start)).") var curriculumStart: Int?
    @Option(name: .customLong("curriculum-ramp"), parsing: .unconditional, help: "Fraction of the steps, in [0, 1), over which the curriculum ramps to k (default \(Curriculum.defaultRampFraction)).")
    var curriculumRamp: Double?
    @Option(name: .customLong("clip-norm"), parsing: .unconditional, help: "Scale a batch gradient whose Euclidean norm exceeds this down to it (default: no clipping).")
    var clipNorm: Double?

    private var curriculumConfig: Curriculum? {
        curriculum ? Curriculum(start: curriculumStart ?? Curriculum().start, rampFraction: curriculumRamp ?? Curriculum.defaultRampFraction) : nil
    }

    func validate() throws {
        if !curriculum, curriculumStart != nil || curriculumRamp != nil {
            throw ValidationError("--curriculum-start and --curriculum-ramp need --curriculum")
        }
        // Every other refusal is the run's (`TrainingRun.validate`).
        try checkingInput { try output.validating { try trainingRun().validate() } }
        try output.checkPlot(plot)
    }

    /// The run the options describe (defaults resolved by `TrainingRun`).
    func trainingRun() throws -> TrainingRun {
        let ranges = try scale.ranges()
        return try TrainingRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), seed: task.seed, objective: objective,
                               trainable: params, initialisation: self.`init`, initScale: scale.initScale, vRange: ranges.v, wRange: ranges.w,
                               optimizer: try training.resolvedOptimizer(), learningRate: training.learningRate, batchSize: training.batchSize, steps: training.steps,
                               recordEvery: training.recordEvery, heldOut: training.heldOut, curriculum: curriculumConfig, clipNorm: clipNorm)
    }

    func run() throws {
        let run = try trainingRun(), c = run.config
        try output.solve(run, what: "train", plot: plot) { outcome in
            guard plot else { return }
            var diverged: (step: Int, time: Double)?
            if case .diverged(let step, _) = outcome.result.status {
                diverged = (step, c.optimizer.flowTime(step: step, learningRate: c.learningRate) ?? c.learningRate * Double(step))
            }
            try renderFigure(Figures.training(outcome.result.trajectory, eta: run.eta.doubleValue, optimizer: c.optimizer, diverged: diverged), name: "figure",
                             title: "\(c.objective.rawValue) training (\(c.optimizer.name)), (d, n, k) = (\(c.task.d), \(c.task.n), \(c.task.k)), eta = \(run.eta)", output: output)
        }
    }
}
