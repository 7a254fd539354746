import CotflowExact
import CotflowODE
import CotflowSupport
import Foundation

/// Settings of one reduced gradient-flow run. The defaults run to convergence: the flow stops
/// when the loss falls below `stopRelativeLoss` times min(initial loss, d).
public struct FlowOptions: Sendable {
    public var stepper: Stepper = .rkf45
    public var absoluteTolerance = 1e-10
    public var relativeTolerance = 1e-8
    /// First trial step; nil: 0.01 |y0| / |f(y0)|, at most 1e-3.
    public var initialStep: Double? = nil
    public var minimumStep = 0.0
    public var maximumSteps = 1_000_000
    /// Flow time at which the run ends if it has not converged.
    public var endTime = 1e6
    /// Output grid. Logarithmic by default: the stages of the flow span several decades of time.
    public var grid: OutputGrid = .logarithmic(points: 400, first: 1e-3)
    /// Stop when loss <= stopRelativeLoss * min(initial loss, d) (0 disables); d = E||w*||^2.
    public var stopRelativeLoss = 1e-10
    /// Stop when the loss changed by less than this relative amount between time t/2 and t (0 disables).
    /// Off by default: a plateau of the flow would trigger it.
    public var stopStall = 0.0

    public init() {}
}

/// A reduced-flow trajectory: time, loss and the eigenvalues v (of V31) and w (of W13).
public struct FlowTrajectory: Sendable {
    public let times: [Double]
    public let losses: [Double]
    public let v: [[Double]]
    public let w: [[Double]]
    public let stopReason: StopReason
    public let statistics: ODEStatistics
    /// True when the run ended by reaching the loss threshold.
    public let converged: Bool

    public var finalLoss: Double { losses.last ?? .nan }
    public var finalTime: Double { times.last ?? .nan }

    /// One row per output time: `t, loss, v_1..v_d, w_1..w_d`.
    public var table: CSVTable {
        let d = v.first?.count ?? 0
        var table = CSVTable(header: ["t", "loss"] + (1...max(d, 1)).prefix(d).map { "v_\($0)" } + (1...max(d, 1)).prefix(d).map { "w_\($0)" })
        for i in times.indices { table.append([times[i], losses[i]] + v[i] + w[i]) }
        return table
    }
}

/// A run that failed part-way, with the trajectory up to the last good state.
public struct FlowFailure: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public let partial: FlowTrajectory
    public var description: String { "reduced flow failed: \(reason)" }
}

/// The reduced gradient flow `dv/dt = -dL/dv`, `dw/dt = -dL/dw` on the eigenvalues of V31 and
/// W13 (MODEL.md section 5), integrated with GSL. The state is the deviation from the
/// construction, `p = v + eta`, `q = w - 1`, so that the loss near convergence keeps full
/// relative precision; one right-hand side costs O(d), the Jacobian (for implicit steppers) O(d^2).
public struct ReducedFlow: Sendable {
    public let loss: ReducedLoss

    public init(loss: ReducedLoss) { self.loss = loss }

    /// The ODE system on the state (p, q), with the analytic Jacobian `-Hessian`.
    public var system: ODESystem {
        let loss = self.loss, d = loss.d
        return ODESystem(
            dimension: 2 * d,
            rightHandSide: { _, y, dydt in
                let (p, q) = ReducedFlow.split(y, d)
                let (_, gp, gq) = loss.lossAndGradient(p: p, q: q)
                for j in 0..<d { dydt[j] = -gp[j]; dydt[d + j] = -gq[j] }
            },
            jacobian: { _, y, dfdy, _ in
                let (p, q) = ReducedFlow.split(y, d)
                let h = loss.hessian(p: p, q: q)
                for i in h.indices { dfdy[i] = -h[i] }
            }
        )
    }

    /// Integrates from eigenvalues (v0, w0).
    public func integrate(v0: [Double], w0: [Double], options: FlowOptions = FlowOptions()) throws -> FlowTrajectory {
        let d = loss.d, eta = loss.etaValue
        guard v0.count == d, w0.count == d else {
            throw CotflowError("initial eigenvalues must have length d = \(d) (got \(v0.count) and \(w0.count))")
        }
        let y0 = v0.map { $0 + eta } + w0.map { $0 - 1 }
        let (initialLoss, gp, gq) = loss.lossAndGradient(p: Array(y0[..<d]), q: Array(y0[d...]))
        guard initialLoss.isFinite else { throw CotflowError("the loss at the initial point is not finite") }
        // Relative to min(initial loss, d) with d = E||w*||^2: where the initial loss is carried by
        // a heavy tail (it reaches 1e10 at n = 2d, k = 20), a fraction of it says nothing about
        // convergence.
        let reference = min(initialLoss, Double(d))
        let threshold = options.stopRelativeLoss * reference
        let loss = self.loss
        // Losses at accepted steps, for the stall criterion (the predicate runs on this thread).
        var history: [(t: Double, loss: Double)] = []
        var converged = false
        let stop: (Double, [Double]) -> StopDecision? = { t, y in
            let (p, q) = ReducedFlow.split(y, d)
            let l = loss.loss(p: p, q: q)
            if options.stopRelativeLoss > 0, l <= threshold {
                converged = true
                return StopDecision("converged: loss \(l) <= \(options.stopRelativeLoss) x min(initial loss, d) = \(threshold)")
            }
            if options.stopStall > 0 {
                history.append((t, l))
                if let old = history.last(where: { $0.t <= t / 2 }), old.t > 0,
                   abs(old.loss - l) <= options.stopStall * max(abs(l), .leastNormalMagnitude) {
                    return StopDecision("stalled: loss changed by less than \(options.stopStall) (relative) between t = \(old.t) and t = \(t)")
                }
            }
            return nil
        }
        // First trial step from the initial gradient (0.01 |y0| / |f(y0)|, at most 1e-3): where the
        // population loss is carried by a heavy tail the gradient is huge, and a step sized from
        // the end time alone overshoots to a non-finite state.
        let gradientNorm = (gp + gq).map { abs($0) }.max() ?? 0
        let stateNorm = max(y0.map { abs($0) }.max() ?? 0, 1e-3)
        let initialStep = options.initialStep ?? (gradientNorm > 0 ? min(1e-3, 0.01 * stateNorm / gradientNorm) : 1e-3)
        let odeOptions = ODEOptions(
            endTime: options.endTime, stepper: options.stepper,
            absoluteTolerance: options.absoluteTolerance, relativeTolerance: options.relativeTolerance,
            initialStep: initialStep, minimumStep: options.minimumStep,
            maximumSteps: options.maximumSteps, grid: options.grid)
        do {
            let solution = try ODE.solve(system, from: 0, initial: y0, options: odeOptions, stop: stop)
            return trajectory(solution, converged: converged)
        } catch let failure as ODEFailure {
            var reason = failure.reason.description
            if case .nonFiniteRightHandSide = failure.reason, !options.stepper.requiresJacobian {
                reason += "; the flow is stiff here (initial loss \(initialLoss), gradient up to \(gradientNorm)):"
                    + " use an implicit stepper with the analytic Jacobian (msbdf, bsimp) or a smaller initial step"
            }
            throw FlowFailure(reason: reason, partial: trajectory(failure.partial, converged: false))
        }
    }

    private func trajectory(_ solution: ODESolution, converged: Bool) -> FlowTrajectory {
        let d = loss.d, eta = loss.etaValue
        var losses: [Double] = [], v: [[Double]] = [], w: [[Double]] = []
        for y in solution.states {
            let (p, q) = ReducedFlow.split(y, d)
            losses.append(loss.loss(p: p, q: q))
            v.append(p.map { $0 - eta })
            w.append(q.map { $0 + 1 })
        }
        return FlowTrajectory(times: solution.times, losses: losses, v: v, w: w,
                              stopReason: solution.stopReason, statistics: solution.statistics, converged: converged)
    }

    static func split<C: Collection<Double>>(_ y: C, _ d: Int) -> ([Double], [Double]) where C.Index == Int {
        (Array(y[y.startIndex..<(y.startIndex + d)]), Array(y[(y.startIndex + d)..<(y.startIndex + 2 * d)]))
    }
}
