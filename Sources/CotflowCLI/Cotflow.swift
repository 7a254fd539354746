import ArgumentParser
import CotflowExact
import CotflowModel
import CotflowCore
import CotflowPlot
import Foundation

@main
struct Cotflow: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "cotflow",
        abstract: "Simulate how a one-layer linear transformer learns multi-step gradient descent with chain of thought.",
        discussion: "Huang, Wang, Lee (ICLR 2025). exact: exact population quantities of the reduced model. ode: its gradient flow on eigenvalues. train: full training of the D x D transformer. eval: evaluation of trained or constructed parameters. compare: the flow against training. stages: stage tables of any trajectory. rerun: run a result again from its summary.json. The model: notes/model.md; output files: notes/formats.md.",
        version: cotflowVersion,
        subcommands: [TrainCommand.self, EvalCommand.self, ExactCommand.self, ODECommand.self, CompareCommand.self,
                      StagesCommand.self, SweepCommand.self, MergeCommand.self, RerunCommand.self, HessianCommand.self]
    )

    /// Parses (numeric options take a value that starts with `-`: `parsing: .unconditional`) and runs
    /// the command; the errors of cotflow's commands leave through `exitCode(for:)`, argument-parser's
    /// own (usage, `help`, `--help`, `--version`) through its `exit(withError:)`.
    static func main() {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        let ours = command is CotflowCommand
        if ours { Interruption.install() }
        do {
            if ours {
                try CommandLineText.checkUTF8()
                try ResourceLimit.checkProcessLimits()
            }
            try command.run()
            if ours { try StandardStreams.finishOutput() }
        } catch {
            // argument-parser's built-in commands (`cotflow help ode`) leave through its own exit.
            guard ours, let code = exitCode(for: error) else { exit(withError: error) }
            Foundation.exit(code)
        }
    }

    /// The one place that maps errors to exit codes: 64 bad usage or input, 1 a run that failed
    /// (README, "Exit codes"). Prints the message; nil leaves the error to argument-parser.
    static func exitCode(for error: Error) -> Int32? {
        switch error {
        case is CleanExit: return nil
        case let e as ValidationError:
            printError(e.message)
            return ExitCode.validationFailure.rawValue
        case let code as ExitCode: return code.rawValue
        case let e as ReportableError:
            printError(e.description)
            return e.kind == .input ? ExitCode.validationFailure.rawValue : ExitCode.failure.rawValue
        default:
            printError(describe(error))
            return ExitCode.failure.rawValue
        }
    }
}

/// cotflow's own commands (argument-parser's built-in `help` is not one).
protocol CotflowCommand: ParsableCommand {}
extension TrainCommand: CotflowCommand {}
extension CompareCommand: CotflowCommand {}
extension SweepCommand: CotflowCommand {}
extension MergeCommand: CotflowCommand {}

func printError(_ message: String) {
    StandardStreams.writeError("cotflow: error: \(message)\n")
}

/// Prints `cotflow: warning: text` on stderr.
func warn(_ text: String) {
    FileHandle.standardError.write("cotflow: warning: \(text)\n".data(using: .utf8)!)
}

/// The task with its random streams: dimension, context length, chain length, GD step size and
/// the seed (commands that sample; the exact ones take `ProblemOptions` without a seed).
struct TaskOptions: ParsableArguments {
    @OptionGroup var problem: ProblemOptions

    @Option(parsing: .unconditional, help: "Seed for every random stream of the run.")
    var seed: UInt64 = 0

    var d: Int { problem.d }
    var n: Int { problem.n }
    var k: Int { problem.k }
    var eta: String? { problem.eta }
    func stepSize() throws -> Rational { try problem.stepSize() }
}

/// The task: dimension, context length, chain length, GD step size.
struct ProblemOptions: ParsableArguments {
    @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of x and w*.")
    var d: Int = TrainingConfig.defaultTask().d

    @Option(name: .customLong("n"), parsing: .unconditional, help: "Context length n (examples per prompt).")
    var n: Int = TrainingConfig.defaultTask().n

    @Option(name: .customLong("k"), parsing: .unconditional, help: "Chain length k (GD steps in the chain of thought).")
    var k: Int = TrainingConfig.defaultTask().k

    @Option(name: .customLong("eta"), parsing: .unconditional, help: "GD step size: a decimal or a rational such as 20/31. (default: the paper's n/(n+d+1))")
    var eta: String?

    static let maximumD = TaskLimits.maximumD, maximumN = TaskLimits.maximumN, maximumK = TaskLimits.maximumK

    func validate() throws { try checkingInput { try TaskLimits.check(d: d, n: n, k: k); _ = try stepSize() } }

    /// The step size as an exact rational.
    func stepSize() throws -> Rational { try eta.map { eta in try checkingInput { try TaskLimits.stepSize(eta) } } ?? paperStepSize(n: n, d: d) }
}

/// Eigenvalue ranges of an Assumption 4.1 initialisation, shared by `train` and `ode`.
struct InitScaleOptions: ParsableArguments {
    @Option(name: .customLong("init-scale"), parsing: .unconditional, help: "Scale sigma of the initialisation. For assumption: v in [-2 sigma, -sigma], w in [sigma, 2 sigma] unless --v-range/--w-range are given; for random: the standard deviation of every entry.")
    var initScale: Double = TrainingConfig.defaultInitScale

    @Option(name: .customLong("v-range"), parsing: .unconditional, help: "Range lo,hi of the eigenvalues of V31 at an assumption initialisation.")
    var vRange: String?

    @Option(name: .customLong("w-range"), parsing: .unconditional, help: "Range lo,hi of the eigenvalues of W13 at an assumption initialisation.")
    var wRange: String?

    func validate() throws { _ = try ranges() }

    func ranges() throws -> (v: ClosedRange<Double>, w: ClosedRange<Double>) {
        try checkingInput { try AssumptionInitialisation.ranges(scale: initScale, v: vRange, w: wRange) }
    }
}

/// The GSL solver and stopping rule of the reduced flow, shared by `ode` and `sweep`.
struct FlowSolverOptions: ParsableArguments {
    /// The flow's defaults, shown in the help.
    static let defaults = FlowOptions()

    @Option(help: "Stepper: auto (tsit5, switching to msbdf with the analytic Jacobian where the flow is stiff), tsit5, or a GSL stepper (implicit ones and msbdf use the analytic Jacobian).")
    var stepper: Stepper = defaults.ode.stepper
    @Option(name: .customLong("abs-tol"), parsing: .unconditional, help: "Absolute tolerance of the step control. (default: \(fmt(defaults.ode.absoluteTolerance)); ode --params full \(fmt(fullDefaults.ode.absoluteTolerance)))")
    var absTol: Double?
    @Option(name: .customLong("rel-tol"), parsing: .unconditional, help: "Relative tolerance of the step control. (default: \(fmt(defaults.ode.relativeTolerance)); ode --params full \(fmt(fullDefaults.ode.relativeTolerance)))")
    var relTol: Double?
    @Option(name: .customLong("max-steps"), parsing: .unconditional, help: "Fail after this many accepted steps.") var maxSteps = defaults.ode.maximumSteps
    @Option(name: .customLong("t-end"), parsing: .unconditional, help: "Flow time at which to stop if not converged. (default: \(fmt(defaults.ode.endTime)); ode --params full \(fmt(fullDefaults.ode.endTime)))")
    var tEnd: Double?
    @Option(name: .customLong("stop-loss"), parsing: .unconditional, help: "Stop when the loss is below this fraction of min(initial loss, d) (0: never); d = E||w*||^2 is the scale of a target, a tail-dominated initial loss is not.") var stopLoss = defaults.stopRelativeLoss

    /// The full-matrix flow's defaults, shown in the help.
    static let fullDefaults = FullMatrixFlow.defaultOptions

    /// The settings given (nil: the flow's default).
    var settings: FlowSolverSettings {
        FlowSolverSettings(stepper: stepper, absoluteTolerance: absTol, relativeTolerance: relTol, endTime: tEnd, maximumSteps: maxSteps, stopRelativeLoss: stopLoss)
    }

    /// The solver's settings (the output grid is its command's).
    func validate() throws {
        var options = settings.options(over: FlowOptions())
        options.ode.grid = .everyStep
        try checkingInput { try options.validate() }
    }

    /// Validated flow options: these settings over `defaults` (the reduced flow's unless given).
    func flowOptions(over defaults: FlowOptions = FlowOptions()) throws -> FlowOptions {
        let options = settings.options(over: defaults)
        try checkingInput { try options.validate() }
        return options
    }
}

/// Where results go and in which form.
struct OutputOptions: ParsableArguments {
    @Option(help: "Directory for the output files (created if missing).")
    var out: String?

    @Flag(help: "Print one JSON object on stdout instead of the human-readable report.")
    var json = false

    @Flag(help: "No progress bar on stderr.")
    var quiet = false

    @Flag(help: "Overwrite the outputs of an earlier run in --out (they are removed first, so that none is left beside the new ones).")
    var force = false

    @Flag(help: "Print the run's estimated work and time on this machine (from a short measurement of its rates) and exit without running or writing anything; with --json as one JSON object.")
    var estimate = false

    /// With --estimate: prints the estimate and returns true (the caller stops before any output directory or work).
    func printEstimate(_ work: @autoclosure () throws -> WorkEstimate, what: String) rethrows -> Bool {
        guard estimate else { return false }
        print(try work().printed(what: what, json: json))
        return true
    }

    /// `body` (a run's validation); with --estimate a run beyond the work limit is not refused (its estimate is printed instead).
    func validating(_ body: () throws -> Void) throws { try WorkLimitExceeded.ignored(when: estimate, body) }

    /// `--plot` writes its figure files into `--out`.
    func checkPlot(_ plot: Bool) throws { if plot && out == nil { throw ValidationError("--plot needs --out DIR for the figure files") } }

    /// With --estimate prints the estimate of `run` (`what`); otherwise solves it through the
    /// library's pipeline into these outputs (`OutputRun.solve(into:provenance:)`), passes the
    /// outcome to `then` (figures, warnings), and exits 1 when the result does not hold.
    func solve<Run: OutputRun>(_ run: Run, what: String, plot: Bool = false, then: (Run.Outcome) throws -> Void = { _ in }) throws {
        if try printEstimate(try run.estimate(), what: what) { return }
        let output = RunOutput(directory: out, json: json, quiet: quiet, force: force, plotted: plot)
        let outcome = try run.solve(into: output, provenance: try Provenance(run: run))
        try then(outcome)
        if let failure = run.failure(outcome, output: output) { throw failure }
    }
}

/// Parses a comma-separated list of exact numbers ("-20/31,0.5,1").
func parseRationalList(_ text: String, name: String) throws -> [Rational] { try checkingInput { try Rational.parseList(text, name: name) } }

/// For `validate()`: a library input error as a ValidationError (usage message, exit 64).
func checkingInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ReportableError { throw ValidationError(error.description) }
}

/// Renders a figure into the output directory (`--plot`) and says on stderr what was written.
func renderFigure(_ panels: [PlotSpec], name: String, title: String, output: OutputOptions) throws {
    guard let out = output.out else { throw ValidationError("--plot needs --out DIR for the figure files") }
    let outcome = try Plotter.render(panels: panels, to: (out as NSString).appendingPathComponent(name), title: title)
    try reportFigure(outcome.message)
}

/// Says on stderr what a figure's rendering wrote; a stop requested while gnuplot drew (which
/// stops it) ends the run with exit 1, its other files written.
func reportFigure(_ message: String) throws {
    StandardStreams.writeError("plot: \(message)\n")
    if Interruption.signalNumber != nil {
        throw RunStopped("interrupted by \(Interruption.signalName) while the figure was drawn; the run's other files are complete")
    }
}
