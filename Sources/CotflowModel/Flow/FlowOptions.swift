import CotflowCore

/// Settings of one gradient-flow run (the reduced flow and the full-matrix flow): the integration
/// (`ode`) and the flow's stopping rules. The defaults run to convergence: the flow stops when the
/// loss falls below `stopRelativeLoss` times min(initial loss, d).
public struct FlowOptions: Sendable, Codable {
    /// Stepper (auto: tsit5, switching to msbdf with the analytic Jacobian where the flow is stiff),
    /// tolerances, steps, end time and output grid. `ode.initialStep` nil: the flow picks
    /// 0.01 |y0| / |f(y0)|, at most 1e-3. The end time is where the run ends if it has not converged;
    /// the grid is logarithmic by default: the stages of the flow span several decades of time.
    public var ode = ODEOptions(endTime: 1e6, stepper: .auto, absoluteTolerance: 1e-10, relativeTolerance: 1e-8,
                                maximumSteps: 1_000_000, grid: .logarithmic(points: 400, first: 1e-3))
    /// Stop when loss <= stopRelativeLoss * min(initial loss, d) (0 disables); d = E||w*||^2.
    public var stopRelativeLoss = 1e-10
    /// Stop when the loss changed by less than this relative amount between time t/2 and t (0 disables).
    /// Off by default: a plateau of the flow would trigger it.
    public var stopStall = 0.0
    /// The first-order modified equation (MODEL.md section 10): the drift `-G - c H G` with `G`, `H`
    /// the gradient and Hessian of the loss, so the flow of `L + (c/2) |G|^2`. SGD with learning
    /// rate `h` follows it at `c = h/2`, heavy-ball momentum at `c = h (1 + beta) / (2 (1 - beta))`
    /// (`OptimizerKind.driftCorrection`); nil or 0: the gradient flow. Reduced flow only.
    public var driftCorrection: Double?

    public init() {}

    /// `c` of the modified drift (0: the gradient flow).
    package var driftCoefficient: Double { driftCorrection ?? 0 }

    /// The integration settings of a run from `y0` whose velocity there is `velocity` (or its
    /// negative): without a given first trial step, 0.01 |y0| / |f(y0)|, at most 1e-3. Where the
    /// loss is carried by a heavy tail the gradient is huge, and a step sized from the end time alone
    /// overshoots to a non-finite state.
    package func odeOptions(initial y0: [Double], velocity: [Double]) -> ODEOptions {
        let velocityNorm = velocity.map { abs($0) }.max() ?? 0
        let stateNorm = max(y0.map { abs($0) }.max() ?? 0, 1e-3)
        var options = ode
        options.initialStep = ode.initialStep ?? (velocityNorm > 0 ? min(1e-3, 0.01 * stateNorm / velocityNorm) : 1e-3)
        return options
    }
}

/// Why a flow failed part-way.
public enum FlowFailureReason: Sendable, CustomStringConvertible {
    /// The integration failed; `advice` says what would work (a stiff flow: an implicit stepper).
    case integration(ODEFailure.Reason, advice: String?)
    /// Right-hand sides needed exact rational arithmetic past their budget (the reduced flow's
    /// loss cancels beyond double-double precision); the text says where and why.
    case precisionExhausted(String)
    /// The loss at the recorded end point is above the threshold that stopped the run.
    case endPointAboveThreshold(loss: Double, threshold: Double)

    public var description: String {
        switch self {
        case .integration(let reason, let advice): return reason.description + (advice ?? "")
        case .precisionExhausted(let text): return text
        case .endPointAboveThreshold(let loss, let threshold):
            return "the loss at the end point (\(loss)) is above the threshold \(threshold) that stopped the run"
        }
    }
}

/// The flows' stopping rule, one callback for `ODE.solve`: convergence (loss <= stopRelativeLoss x
/// min(initial loss, d), as the flow confirms it) and the stall rule.
package final class FlowStop {
    package let options: FlowOptions
    /// stopRelativeLoss x min(initial loss, d).
    package let threshold: Double
    private var stall: StallRule
    /// True once the run stopped by reaching the threshold.
    package private(set) var converged = false

    /// `initialLoss` is the loss at the start; the threshold is relative to min(initial loss, d).
    package init(options: FlowOptions, initialLoss: Double, d: Int) {
        self.options = options
        // Relative to min(initial loss, d) with d = E||w*||^2: where the initial loss is carried by
        // a heavy tail (it reaches 1e10 at n = 2d, k = 20), a fraction of it says nothing about
        // convergence.
        threshold = options.stopRelativeLoss * min(initialLoss, Double(d))
        stall = StallRule(tolerance: options.stopStall)
    }

    /// True when a rule is on (else `decision` never evaluates the loss).
    package var isActive: Bool { options.stopRelativeLoss > 0 || options.stopStall > 0 }

    /// The decision at time t: `loss()` is the loss there; when it is at most the threshold,
    /// `confirm()` names the loss the convergence claim is made on, or returns nil when that loss
    /// is above the threshold.
    package func decision(t: Double, loss: () -> Double, confirm: (Double) -> String?) -> StopDecision? {
        guard isActive else { return nil }
        let l = loss()
        if options.stopRelativeLoss > 0, l <= threshold, let confirmed = confirm(l) {
            converged = true
            return StopDecision("converged: \(confirmed) <= \(options.stopRelativeLoss) x min(initial loss, d) = \(threshold)")
        }
        if options.stopStall > 0, let stalled = stall.check(t: t, loss: l) { return stalled }
        return nil
    }
}
