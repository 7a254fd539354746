import ArgumentParser
import CotflowExact
import CotflowFigures
import CotflowFlow
import CotflowIO
import CotflowNumerics
import CotflowODE
import CotflowTask
import CotflowTraining
import Foundation

struct ODECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ode",
        abstract: "Integrate the reduced gradient flow on the eigenvalues of V31 and W13 with GSL.",
        discussion: "Starts from the Assumption 4.1 point that `cotflow train --init assumption` uses for the same seed and ranges (or from --v/--w), and by default runs until the loss is 1e-10 of min(initial loss, d). Writes trajectory.csv (t, loss, v_j, w_j) and summary.json with --out. With --params full: the gradient flow of every entry of V and W on --prompts fixed prompts from --init random|assumption (default t-end 10, tolerances 1e-8/1e-6, explicit steppers only; columns as `train`; notes/full-flow.md)."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var scale: InitScaleOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var solver: FlowSolverOptions

    @Option(name: .customLong("v"), help: "Eigenvalues v of V31 to start from: d comma-separated numbers (as `exact cot-loss --v`); overrides the sampled initialisation.")
    var v0: String?
    @Option(name: .customLong("w"), help: "Eigenvalues w of W13 to start from: d comma-separated numbers (as `exact cot-loss --w`).")
    var w0: String?
    @Option(help: "W24: fixed (held at --w24-initial, the paper's flow) or free (trained with V31 and W13, as full training does).")
    var w24: W24Choice = .fixed
    @Option(name: .customLong("w24-initial"), parsing: .unconditional, help: "Initial (or, with --w24 fixed, held) value of W24; non-zero (a negative value may follow the option directly).")
    var w24Initial = -1.0

    @Option(name: .customLong("initial-step"), help: "First trial step. (default: 0.01 |y0| / |f(y0)|, at most 1e-3)") var initialStep: Double?
    @Option(name: .customLong("min-step"), help: "Fail when the step size falls below this.") var minStep = FlowSolverOptions.defaults.ode.minimumStep
    @Option(help: "Output grid: log, linear or steps (every accepted step).") var grid: GridKind = .log
    @Option(help: "Number of output points of a log or linear grid.") var points = 400
    @Option(name: .customLong("t-first"), help: "First positive time of the log grid.") var tFirst = 1e-3
    @Option(name: .customLong("stop-stall"), help: "Stop when the loss changed by less than this relative amount between t/2 and t (0: never).") var stopStall = FlowSolverOptions.defaults.stopStall
    @Option(help: "reduced: the flow on the eigenvalues of V31 and W13 (exact population loss). full: the gradient flow of every entry of V and W on the loss of --prompts fixed prompts (notes/full-flow.md).")
    var params: TrainableSet = .reduced
    @Option(help: "With --params full: number of fixed prompts, drawn from --seed (the first batch `train --batch-size N` sees).")
    var prompts = 4096
    @Option(help: "With --params full: the start, random (iid N(0, init-scale^2) entries, as `train`) or assumption (Assumption 4.1, as `train --init assumption`).")
    var `init`: InitialisationKind = .random
    @Flag(help: "Render figure.svg/.png (loss; v_j and w_j with the construction's -eta and 1) with gnuplot into --out (reduced flow).")
    var plot = false

    func validate() throws {
        guard stopStall.isFinite, stopStall >= 0 else { throw ValidationError("--stop-stall must be finite and non-negative (got \(stopStall))") }
        guard minStep.isFinite, minStep >= 0 else { throw ValidationError("--min-step must be finite and non-negative (got \(minStep))") }
        if let initialStep { guard initialStep.isFinite, initialStep > 0 else { throw ValidationError("--initial-step must be positive and finite (got \(initialStep))") } }
        guard tFirst.isFinite else { throw ValidationError("--t-first must be finite (got \(tFirst))") }
        let stored = grid == .steps ? solver.maxSteps : points
        try checkingInput {
            try ReducedLoss.checkSize(k: task.k)
            try FlowLimits.checkFlow(d: task.d, points: stored, stepper: solver.stepper,
                                 what: grid == .steps ? "--grid steps with --max-steps \(solver.maxSteps) and --d \(task.d)"
                                                      : "--points \(points) with --d \(task.d)")
        }
        try output.checkPlot(plot)
        if plot && params == .full { throw ValidationError("--plot draws the reduced flow; with --params full use `cotflow stages DIR/trajectory.csv --plot`") }
        _ = try outputGrid()
        if params == .reduced {
            guard w24Initial.isFinite, abs(w24Initial) >= 1e-3, abs(w24Initial) <= 1e3 else {
                throw ValidationError("--w24-initial must be a number with 1e-3 <= |W24| <= 1e3 (got \(w24Initial)); the paper's value is -1")
            }
            _ = try givenPoint()
        } else {
            if v0 != nil || w0 != nil { throw ValidationError("--v/--w set the reduced flow's eigenvalues; with --params full the start is --init random|assumption") }
            guard prompts >= 1 else { throw ValidationError("--prompts must be at least 1 (got \(prompts))") }
        }
    }

    func run() throws {
        if params == .full { return try runFullFlow() }
        var options = try solver.flowOptions()
        options.ode.initialStep = initialStep
        options.ode.minimumStep = minStep
        options.stopStall = stopStall
        options.ode.grid = try outputGrid()
        let eta = try task.stepSize()
        let (v, w) = try initialPoint()
        let mode: W24Mode = w24 == .free ? .free(initial: w24Initial) : .fixed(w24Initial)
        try output.prepare(files: ["trajectory.csv", "summary.json"])

        let started = Date()
        let loss = try reportingErrors { try ReducedLoss(n: task.n, d: task.d, k: task.k, eta: eta) }
        let flow = ReducedFlow(loss: loss, w24: mode)
        let trajectory: FlowTrajectory
        var failure: String?
        do {
            trajectory = try flow.integrate(v0: v, w0: w, options: options)
        } catch let error as FlowFailure {
            trajectory = error.partial
            failure = error.reason.description
        }
        let seconds = Date().timeIntervalSince(started)
        let settings = task.settings(eta: eta) + scale.settings(try scale.ranges())
            + [("v", v0.map { .string($0) } ?? .null), ("w", w0.map { .string($0) } ?? .null)] + options.settings
        let summary = withProvenance(Provenance(settings: settings), self.summary(trajectory, eta: eta, seconds: seconds, failure: failure))
        try output.write(trajectory.table.text, "trajectory.csv")
        try output.write(summary.rendered() + "\n", "summary.json")
        output.emit(json: summary, report: report(trajectory, eta: eta, seconds: seconds, failure: failure))
        if plot {
            try renderFigure(Figures.flow(trajectory, eta: eta.doubleValue), name: "figure",
                             title: "reduced gradient flow, (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta), stepper \(solver.stepper.rawValue)", output: output)
        }
        if trajectory.times.count < 10 && grid != .steps {
            FileHandle.standardError.write(("cotflow: warning: only \(trajectory.times.count) output points: the run ended at t = \(fmt(trajectory.finalTime)), "
                + "early on a grid reaching t = \(fmt(solver.tEnd)); use --t-end \(fmt(trajectory.finalTime)), --grid log or --grid steps\n").data(using: .utf8)!)
        }
        if let failure { throw RunStopped(description: "the flow failed: \(failure); the trajectory so far is kept") }
    }

    /// The output grid of --grid, --points and --t-first.
    func outputGrid() throws -> OutputGrid {
        switch grid {
        case .log:
            guard points >= 2, tFirst > 0, tFirst < solver.tEnd else { throw ValidationError("a log grid needs --points >= 2 and 0 < --t-first < --t-end") }
            return .logarithmic(points: points, first: tFirst)
        case .linear:
            guard points >= 2 else { throw ValidationError("a linear grid needs --points >= 2") }
            return .linear(points: points)
        case .steps: return .everyStep
        }
    }

    /// The start of the reduced flow: --v/--w if given, else the Assumption 4.1 point of --seed.
    private func initialPoint() throws -> ([Double], [Double]) {
        if let given = try givenPoint() { return given }
        let start = try scale.assumption(d: task.d, seed: task.seed)
        return (start.v, start.w)
    }

    /// --v and --w, checked; nil when neither is given.
    private func givenPoint() throws -> ([Double], [Double])? {
        if v0 != nil || w0 != nil {
            guard let v0, let w0 else { throw ValidationError("give both --v and --w") }
            let v = try parseRationalList(v0, name: "--v").map(\.doubleValue)
            let w = try parseRationalList(w0, name: "--w").map(\.doubleValue)
            guard (v + w).allSatisfy(\.isFinite) else { throw ValidationError("--v and --w must be finite in double precision (got '\(v0)' and '\(w0)')") }
            guard v.count == task.d, w.count == task.d else {
                throw ValidationError("--v and --w need \(task.d) values each (got \(v.count) and \(w.count))")
            }
            return (v, w)
        }
        return nil
    }

    private func summary(_ t: FlowTrajectory, eta: Rational, seconds: Double, failure: String?) -> JSONValue {
        let s = t.statistics
        return .object([
            ("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
            ("seed", .int(Int(truncatingIfNeeded: task.seed))), ("stepper", .string(solver.stepper.rawValue)),
            ("initial_loss", .number(t.losses.first ?? .nan)), ("final_loss", .number(t.finalLoss)),
            ("t_end", .number(t.finalTime)), ("converged", .bool(t.converged)),
            ("stop_reason", .string(failure.map { "failed: \($0)" } ?? t.stopReason.description)),
            ("steps", .int(s.acceptedSteps)), ("failed_steps", .int(s.failedSteps)),
            ("rhs_evals", .int(s.rhsEvaluations)), ("jacobian_evals", .int(s.jacobianEvaluations)),
            ("seconds", .number(seconds)),
            ("v0", .numbers(t.v.first ?? [])), ("w0", .numbers(t.w.first ?? [])),
            ("v", .numbers(t.v.last ?? [])), ("w", .numbers(t.w.last ?? [])),
            ("max_abs_v_plus_eta", .number((t.v.last ?? []).map { abs($0 + eta.doubleValue) }.max() ?? .nan)),
            ("max_abs_w_minus_1", .number((t.w.last ?? []).map { abs($0 - 1) }.max() ?? .nan)),
            ("w24_mode", .string(w24.rawValue)), ("w24_initial", .number(w24Initial)), ("w24", .number(t.u.last ?? .nan)),
        ] + StepperReport.json(t.phases, stepper: solver.stepper) + W24Report.json(t))
    }

    private func report(_ t: FlowTrajectory, eta: Rational, seconds: Double, failure: String?) -> String {
        let s = t.statistics
        let v = t.v.last ?? [], w = t.w.last ?? []
        var lines = [
            "reduced gradient flow\(t.w24.isFree ? " with W24 free" : ""), (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta) = \(fmt(eta.doubleValue)), stepper \(StepperReport.text(t.phases, stepper: solver.stepper))",
            "loss \(fmt(t.losses.first ?? .nan)) at t = 0 -> \(fmt(t.finalLoss)) at t = \(fmt(t.finalTime))"
                + (t.converged ? " (converged)" : failure == nil ? " (\(t.stopReason))" : ""),
            "v in [\(fmt(v.min() ?? .nan)), \(fmt(v.max() ?? .nan))], w in [\(fmt(w.min() ?? .nan)), \(fmt(w.max() ?? .nan))]"
                + (t.w24.isFree ? "" : " (construction: v = eta/W24 = \(fmt(eta.doubleValue / w24Initial)), w = -W24 = \(fmt(-w24Initial)))"),
            "\(s.acceptedSteps) steps, \(s.failedSteps) rejected, \(s.rhsEvaluations) right-hand sides, \(s.jacobianEvaluations) Jacobians, \(String(format: "%.2f", seconds)) s",
        ]
        lines += W24Report.lines(t)
        if let out = output.out { lines.append("wrote \(out)/trajectory.csv and \(out)/summary.json" + (plot ? " and figure.*" : "")) }
        return lines.joined(separator: "\n")
    }
}
