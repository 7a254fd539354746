import ArgumentParser
import CotflowPlot
import CotflowModel
import CotflowCore
import CotflowExperiments
import Foundation

struct ODECommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "ode",
        abstract: "Integrate the reduced gradient flow on the eigenvalues of V31 and W13 with GSL.",
        discussion: "Starts from the Assumption 4.1 point that `cotflow train --init assumption` uses for the same seed and ranges (or from --v/--w), and by default runs until the loss is 1e-10 of min(initial loss, d). Writes trajectory.csv (t, loss, v_j, w_j) and summary.json with --out. With --params full: the gradient flow of every entry of V and W on --prompts fixed prompts from --init random|assumption (default t-end 10, tolerances 1e-8/1e-6, explicit steppers only; trajectory.csv: t, loss, loss_median and the parameter columns of `train`; notes/formats.md, notes/full-flow.md)."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var solver: FlowSolverOptions

    @Option(name: .customLong("v"), parsing: .unconditional, help: "Eigenvalues v of V31 to start from: d comma-separated numbers (as `exact cot-loss --v`); overrides the sampled initialisation.")
    var v0: String?
    @Option(name: .customLong("w"), parsing: .unconditional, help: "Eigenvalues w of W13 to start from: d comma-separated numbers (as `exact cot-loss --w`).")
    var w0: String?
    @Option(help: "W24: fixed (held at --w24-initial, the paper's flow) or free (trained with V31 and W13, as full training does).")
    var w24: W24Choice = .fixed
    @Option(name: .customLong("w24-initial"), parsing: .unconditional, help: "Initial (or, with --w24 fixed, held) value of W24; non-zero (a negative value may follow the option directly).")
    var w24Initial = -1.0

    @Option(name: .customLong("initial-step"), parsing: .unconditional, help: "First trial step. (default: 0.01 |y0| / |f(y0)|, at most 1e-3)") var initialStep: Double?
    @Option(name: .customLong("min-step"), parsing: .unconditional, help: "Fail when the step size falls below this.") var minStep = FlowSolverOptions.defaults.ode.minimumStep
    @Option(help: "Output grid: log, linear (needs --t-end; its figure has a linear t axis) or steps (every accepted step).") var grid: GridKind = .log
    @Option(parsing: .unconditional, help: "Number of output points of a log or linear grid.") var points = 400
    @Option(name: .customLong("t-first"), parsing: .unconditional, help: "First positive time of the log grid.") var tFirst = 1e-3
    @Option(name: .customLong("stop-stall"), parsing: .unconditional, help: "Stop when the loss changed by less than this relative amount between t/2 and t (0: never).") var stopStall = FlowSolverOptions.defaults.stopStall
    @Option(help: "reduced: the flow on the eigenvalues of V31 and W13 (exact population loss). full: the gradient flow of every entry of V and W on the loss of --prompts fixed prompts (notes/full-flow.md).")
    var params: TrainableSet = .reduced
    @Option(parsing: .unconditional, help: "With --params full: number of fixed prompts, drawn from --seed (the first batch `train --batch-size N` sees).")
    var prompts = 4096
    @Option(help: "With --params full: the start, random (iid N(0, init-scale^2) entries, as `train`) or assumption (Assumption 4.1, as `train --init assumption`).")
    var `init`: InitialisationKind = .random
    @Flag(help: "Render figure.svg/.png (loss; v_j and w_j with the construction's -eta and 1) with gnuplot into --out (reduced flow).")
    var plot = false

    func validate() throws {
        try output.checkPlot(plot)
        if plot && params == .full { throw ValidationError("--plot draws the reduced flow; with --params full use `cotflow stages DIR/trajectory.csv --plot`") }
        if grid == .linear, params == .reduced, solver.tEnd == nil {
            // The reduced flow stops at its stopping loss, long before the default end 1e6: a linear grid
            // to 1e6 kept 2 rows. The stopping time is not known before the run, so no default fits.
            throw ValidationError("--grid linear spaces --points times evenly up to --t-end, and the reduced flow's default --t-end "
                + "\(fmt(FlowSolverOptions.defaults.ode.endTime)) lies far past where the flow stops (its stopping loss): give --t-end "
                + "(for example the final t of a --grid log run), or use --grid log or --grid steps")
        }
        if params == .full, v0 != nil || w0 != nil { throw ValidationError("--v/--w set the reduced flow's eigenvalues; with --params full the start is --init random|assumption") }
        try checkingInput { try output.validating { params == .full ? try fullFlowRun().validate() : try reducedFlowRun().validate() } }
    }

    /// The solver settings given (each flow puts them over its own defaults).
    private var settings: FlowSolverSettings {
        var s = solver.settings
        let outputGrid: OutputGrid = switch grid {
        case .log: .logarithmic(points: points, first: tFirst)
        case .linear: .linear(points: points)
        case .steps: .everyStep
        }
        (s.initialStep, s.minimumStep, s.stopStall, s.grid) = (initialStep, minStep, stopStall, outputGrid)
        return s
    }

    /// The reduced flow the options describe (defaults resolved by `ReducedFlowRun` and `FlowOptions`).
    func reducedFlowRun() throws -> ReducedFlowRun {
        let ranges = try scale.ranges()
        var start: ReducedFlowRun.Start?
        if v0 != nil || w0 != nil {
            guard let v0, let w0 else { throw ValidationError("give both --v and --w") }
            start = .init(v: try parseRationalList(v0, name: "--v").map(\.doubleValue), w: try parseRationalList(w0, name: "--w").map(\.doubleValue))
        }
        return ReducedFlowRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), seed: task.seed, initScale: scale.initScale,
                              vRange: ranges.v, wRange: ranges.w, start: start,
                              w24: w24 == .free ? .free(initial: w24Initial) : .fixed(w24Initial), options: settings.options(over: FlowOptions()))
    }

    /// The full-matrix flow the options describe (its own solver defaults resolved by `FullFlowRun`).
    func fullFlowRun() throws -> FullFlowRun {
        let ranges = try scale.ranges()
        return FullFlowRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), seed: task.seed, prompts: prompts, initialisation: self.`init`,
                           initScale: scale.initScale, vRange: ranges.v, wRange: ranges.w, solver: settings)
    }

    func run() throws {
        if params == .full { return try output.solve(try fullFlowRun(), what: "ode --params full") }
        let run = try reducedFlowRun()
        try output.solve(run, what: "ode", plot: plot) { outcome in
            if plot {
                try renderFigure(Figures.flow(outcome.trajectory, eta: run.eta.doubleValue, logTime: grid != .linear), name: "figure",
                                 title: "reduced gradient flow, (d, n, k) = (\(run.d), \(run.n), \(run.k)), eta = \(run.eta), stepper \(run.options.ode.stepper.rawValue)", output: output)
            }
            let trajectory = outcome.trajectory
            if trajectory.times.count < 10 && run.options.ode.grid != .everyStep {
                warn("only \(trajectory.times.count) output points: the run ended at t = \(fmt(trajectory.finalTime)), "
                    + "early on a grid reaching t = \(fmt(run.options.ode.endTime)); use --t-end \(fmt(trajectory.finalTime)), --grid log or --grid steps")
            }
        }
    }
}
