import CotflowCore
import Foundation

/// A trajectory of the full-matrix gradient flow: every entry of V and W at each output time, the
/// mean and median CoT loss on the flow's prompts there, and the basis of the diagonal columns.
public struct FullFlowTrajectory: SolvedFlow {
    public let times: [Double]
    public let parameters: [TransformerParameters]
    /// Mean teacher-forced CoT loss on the flow's fixed prompts (the function the flow descends).
    public let losses: [Double]
    public let medians: [Double]
    /// Basis of the `v_diag_j`/`w_diag_j` columns (the initial eigenbasis; identity for a random start).
    public let basis: [Double]
    public let stopReason: StopReason
    public let statistics: ODEStatistics
    /// The steppers that ran, each from the time it took over.
    public let phases: [StepperPhase]
    /// True when the run ended by reaching the loss threshold (checked at the end point).
    public let converged: Bool

    /// Trajectory header: `t, loss, loss_median` and the parameter columns of `train`.
    public static func header(d: Int) -> [String] { ["t", "loss", "loss_median"] + ParameterColumns.names(d: d) }

    /// The parameter columns at each output time (diagonals in `basis`), as a training trajectory records them.
    public func parameterColumns() throws -> [ParameterColumns] {
        try parameters.map { try ParameterColumns($0, basis: basis) }
    }

    /// One row per output time, with the same parameter columns as a training trajectory (output only).
    public func table() throws -> CSVTable {
        var table = CSVTable(header: Self.header(d: parameters.first?.d ?? 1))
        for (i, columns) in try parameterColumns().enumerated() {
            table.append([times[i], losses[i], medians[i]] + columns.values)
        }
        return table
    }
}

/// A run that failed part-way, with the trajectory up to the last good state.
public struct FullFlowFailure: Error, CustomStringConvertible, Sendable {
    public let reason: FlowFailureReason
    public let partial: FullFlowTrajectory
    public var description: String { "full-matrix flow failed: \(reason)" }
}

/// Settings refused before integrating.
public enum FullFlowConfigurationError: ReportableError, Equatable {
    /// An implicit stepper: it needs the Jacobian, which this flow does not provide.
    case implicitStepper(Stepper, dimension: Int)
    /// No prompts, or prompts of another d or n than the task's.
    case prompts
    case promptCount(Int)
    /// Initial parameters not finite or of another d.
    case initialParameters(d: Int)
    case initialLossNotFinite

    public var description: String {
        switch self {
        case .implicitStepper(let s, let n):
            return "stepper \(s.rawValue) needs the Jacobian of the right-hand side, which the full-matrix flow does not provide "
                + "(it would be the \(n) x \(n) Hessian of the loss on every prompt at each evaluation); "
                + "use an explicit stepper: auto (the default: tsit5 here, as the flow has no Jacobian), tsit5, rkf45, rkck, rk8pd, rk2, rk4 or msadams"
        case .prompts: return "full-matrix flow: need at least one prompt of the task's d and n"
        case .promptCount(let count): return "full-matrix flow: the number of prompts must be at least 1 (got \(count))"
        case .initialParameters(let d): return "full-matrix flow: the initial parameters must be finite and of dimension d = \(d)"
        case .initialLossNotFinite: return "full-matrix flow: the loss at the initial point is not finite"
        }
    }
}

/// The gradient flow of every entry of V and W on the mean teacher-forced CoT loss of a fixed set
/// of prompts (MODEL.md section 8): `dV/dt = -dL_N/dV`, `dW/dt = -dL_N/dW`, the same prompts at
/// every right-hand side (common random numbers). The state is `(V, W)` row-major, 2 D^2 numbers;
/// the gradient is the one `train` uses (`Objectives`, batched through BLAS, fixed chunks, so
/// results do not depend on the thread timing). Explicit steppers only (no Jacobian).
public struct FullMatrixFlow: Sendable {
    public let task: TaskConfig
    public let prompts: PromptBatch
    /// The prompts' GD chains, computed once (the same prompts enter every right-hand side).
    let chains: GDChains
    /// The kernels' scratch memory, kept across right-hand sides.
    let workspaces = WorkspacePool()

    public init(task: TaskConfig, prompts: PromptBatch) throws {
        guard prompts.count >= 1, prompts.d == task.d, prompts.n == task.n else {
            throw FullFlowConfigurationError.prompts
        }
        self.task = task
        self.prompts = prompts
        self.chains = GDChains(task: task, batch: prompts)
    }

    /// The flow on `count` prompts of `seed`: the first batch that `train` with `--batch-size count`
    /// and the same seed trains on.
    public init(task: TaskConfig, promptCount count: Int, seed: UInt64) throws {
        guard count >= 1 else { throw FullFlowConfigurationError.promptCount(count) }
        try self.init(task: task, prompts: PromptSets.firstTrainingBatch(task: task, count: count, seed: seed))
    }

    /// Defaults of `cotflow ode --params full`: auto (tsit5 with its continuous extension onto the
    /// output grid; without a Jacobian it never switches) with tolerances 1e-8 absolute, 1e-6 relative,
    /// to t = 10 (the loss of a random start falls by orders of magnitude there, but the chain path
    /// decays only polynomially, so the flow need not reach the reduced flow's threshold), a
    /// logarithmic grid of 200 points from t = 1e-3, and the reduced flow's stopping rules.
    /// See notes/full-flow.md.
    public static var defaultOptions: FlowOptions {
        var options = FlowOptions()
        options.ode.absoluteTolerance = 1e-8
        options.ode.relativeTolerance = 1e-6
        options.ode.endTime = 10
        options.ode.grid = .logarithmic(points: 200, first: 1e-3)
        return options
    }

    /// Number of state variables, 2 D^2.
    public var dimension: Int { 2 * task.tokenSize * task.tokenSize }

    /// The parameters in state `y`.
    public func parameters<C: Collection<Double>>(_ y: C) -> TransformerParameters {
        let half = task.tokenSize * task.tokenSize
        let all = Array(y)
        return TransformerParameters(d: task.d, V: Array(all[..<half]), W: Array(all[half...]))
    }

    /// Mean CoT loss on the prompts (with its gradient when `gradient`).
    public func objective(_ p: TransformerParameters, gradient: Bool) -> ObjectiveResult {
        Objectives.compute(.cot, parameters: p, task: task, batch: prompts, gradient: gradient, chains: chains, workspaces: workspaces)
    }

    /// The ODE system: `f(y) = -grad L_N(y)`, no Jacobian.
    public var system: ODESystem { system(cache: nil) }

    /// With a cache: each right-hand side keeps its objective, so that the stopping rule at an
    /// accepted state can take the loss from the right-hand side the stepper evaluated there.
    func system(cache: ObjectiveCache?) -> ODESystem {
        let flow = self, half = task.tokenSize * task.tokenSize
        return ODESystem(dimension: dimension, rightHandSide: { _, y, dydt in
            let r = flow.objective(flow.parameters(y), gradient: true)
            cache?.store(r, at: y)
            let gV = r.gradV!, gW = r.gradW!
            for i in 0..<half { dydt[i] = -gV[i]; dydt[half + i] = -gW[i] }
        })
    }

    /// Throws `FullFlowConfigurationError.implicitStepper` for a stepper that needs a Jacobian.
    public func check(stepper: Stepper) throws {
        if stepper.requiresJacobian { throw FullFlowConfigurationError.implicitStepper(stepper, dimension: dimension) }
    }

    /// Integrates from `initial`; `basis` is recorded for the diagonal columns. The stopping rules
    /// are those of the reduced flow: loss <= stopRelativeLoss x min(initial loss, d), the stall rule,
    /// the end time. `progress(t)` is called after every accepted step.
    public func integrate(from initial: TransformerParameters, basis: [Double], options: FlowOptions,
                          progress: ((Double) -> Void)? = nil) throws -> FullFlowTrajectory {
        try check(stepper: options.ode.stepper)
        if options.driftCoefficient != 0 { throw FlowConfigurationError.driftCorrection(options.driftCoefficient, fullMatrix: true) }
        guard initial.d == task.d, initial.isFinite else {
            throw FullFlowConfigurationError.initialParameters(d: task.d)
        }
        let y0 = initial.V + initial.W
        let start = objective(initial, gradient: true)
        guard start.loss.isFinite else { throw FullFlowConfigurationError.initialLossNotFinite }
        let flow = self
        let rule = FlowStop(options: options, initialLoss: start.loss, d: task.d)
        let cache = ObjectiveCache()
        let stop: (Double, [Double]) -> StopDecision? = { t, y in
            progress?(t)
            // The explicit Runge-Kutta steppers end each step with a right-hand side at the new
            // state (for the next step's first stage): its loss is the loss there.
            return rule.decision(t: t, loss: { cache.objective(at: y)?.loss ?? flow.objective(flow.parameters(y), gradient: false).loss },
                                 confirm: { "loss \($0)" })
        }
        let odeOptions = options.odeOptions(initial: y0, velocity: start.gradV! + start.gradW!)
        do {
            let solution = try ODE.solve(ODEProblem(system(cache: cache), initial: y0, options: odeOptions), stop: stop)
            let result = trajectory(solution, basis: basis, converged: rule.converged)
            // `converged` is a statement about the recorded end point: check it there.
            if rule.converged && !(result.finalLoss <= rule.threshold) {
                throw FullFlowFailure(reason: .endPointAboveThreshold(loss: result.finalLoss, threshold: rule.threshold),
                                      partial: trajectory(solution, basis: basis, converged: false))
            }
            return result
        } catch let failure as ODEFailure {
            throw FullFlowFailure(reason: .integration(failure.reason, advice: nil),
                                  partial: trajectory(failure.partial, basis: basis, converged: false))
        }
    }

    /// The losses at the recorded states.
    private func trajectory(_ solution: ODESolution, basis: [Double], converged: Bool) -> FullFlowTrajectory {
        var losses: [Double] = [], medians: [Double] = [], params: [TransformerParameters] = []
        for y in solution.states {
            let p = parameters(y)
            let r = objective(p, gradient: false)
            params.append(p)
            losses.append(r.loss)
            medians.append(SampleSummary(r.perPrompt).median)
        }
        return FullFlowTrajectory(times: solution.times, parameters: params, losses: losses, medians: medians, basis: basis,
                                  stopReason: solution.stopReason, statistics: solution.statistics, phases: solution.phases, converged: converged)
    }
}

/// The objective (loss and gradient) of the latest right-hand side and its state. The integration
/// runs on one thread: the right-hand side stores, the stopping rule reads.
final class ObjectiveCache: @unchecked Sendable {
    private var state: [Double] = []
    private var result: ObjectiveResult?

    func store(_ r: ObjectiveResult, at y: UnsafeBufferPointer<Double>) {
        state.removeAll(keepingCapacity: true)
        state.append(contentsOf: y)
        result = r
    }

    /// The stored objective if `y` is bit for bit its state.
    func objective(at y: [Double]) -> ObjectiveResult? {
        guard let r = result, state.count == y.count else { return nil }
        for i in 0..<y.count where state[i].bitPattern != y[i].bitPattern { return nil }
        return r
    }
}
