import CotflowExact
import CotflowCore
import Foundation

/// How the flow treats `W24` (MODEL.md section 8).
public enum W24Mode: Sendable, Equatable, Codable {
    /// Held at this value (the paper's flow: -1).
    case fixed(Double)
    /// Trained with V31 and W13 (`u = W24`), starting at this value.
    case free(initial: Double)

    public static let paper = W24Mode.fixed(-1)
    public var isFree: Bool { if case .free = self { return true } else { return false } }
    public var initial: Double {
        switch self { case .fixed(let u), .free(initial: let u): return u }
    }
}

/// A reduced-flow trajectory: time, loss, the eigenvalues v (of V31) and w (of W13), and W24 = u.
public struct FlowTrajectory: SolvedFlow {
    public let times: [Double]
    /// Losses, each with a bounded error (see `ReducedLoss.evaluate`); the last one is the exact
    /// loss at the end point rounded to double.
    public let losses: [Double]
    public let v: [[Double]]
    public let w: [[Double]]
    /// W24 at each output time (constant unless the mode is free).
    public let u: [Double]
    public let w24: W24Mode
    public let eta: Double
    public let stopReason: StopReason
    public let statistics: ODEStatistics
    /// The steppers that ran, each from the time it took over (two where `auto` switched to msbdf).
    public let phases: [StepperPhase]
    /// True when the run ended by reaching the loss threshold, checked on the exact loss at the end point.
    public let converged: Bool

    /// `sum_j w_j^2 + u^2 - sum_j v_j^2` (= ||W||_F^2 - ||V||_F^2 on the block manifold), at output i;
    /// conserved by the flow with W24 free.
    public func conservedQuantity(at i: Int) -> Double {
        FlowTrajectory.conservedQuantity(v: v[i], w: w[i], u: u[i])
    }

    public static func conservedQuantity(v: [Double], w: [Double], u: Double) -> Double {
        w.reduce(0) { $0 + $1 * $1 } + u * u - v.reduce(0) { $0 + $1 * $1 }
    }

    /// The zero-loss fixed point `Vt = (eta/u) I`, `Wt = -u I` whose conserved quantity is `c`
    /// with the sign of u given: `(d+1) u^2 - d eta^2 / u^2 = c`.
    public static func familyMember(conserved c: Double, d: Int, eta: Double, sign: Double) -> Double {
        let dd = Double(d)
        let x = 2 * dd * eta * eta / ((c * c + 4 * (dd + 1) * dd * eta * eta).squareRoot() - c)  // u^2, stable form
        return (sign < 0 ? -1 : 1) * x.squareRoot()
    }

    /// One row per output time: `t, loss, v_1..v_d, w_1..w_d` (and `w24` when W24 is free).
    public var table: CSVTable {
        let d = v.first?.count ?? 0
        var header = ["t", "loss"] + (1...max(d, 1)).prefix(d).map { "v_\($0)" } + (1...max(d, 1)).prefix(d).map { "w_\($0)" }
        if w24.isFree { header.append("w24") }
        var table = CSVTable(header: header)
        for i in times.indices { table.append([times[i], losses[i]] + v[i] + w[i] + (w24.isFree ? [u[i]] : [])) }
        return table
    }
}

/// A run that failed part-way, with the trajectory up to the last good state.
public struct FlowFailure: Error, CustomStringConvertible, Sendable {
    public let reason: FlowFailureReason
    public let partial: FlowTrajectory
    public var description: String { "reduced flow failed: \(reason)" }
}

/// The reduced gradient flow `dv/dt = -dL/dv`, `dw/dt = -dL/dw` (and `du/dt = -dL/du` with W24
/// free) on the eigenvalues of V31 and W13 (MODEL.md sections 5 and 8), integrated with GSL.
/// The state is the deviation from the zero-loss family, `pi = eta - u v`, `z = w + u` (and u),
/// which for u = -1 is `p = v + eta`, `q = w - 1`, so that the loss near convergence keeps full
/// relative precision. Loss and right-hand side carry a bounded error (`ReducedLoss.evaluate`);
/// one right-hand side costs O(d), the Jacobian (for implicit steppers) O(d^2).
public struct ReducedFlow: Sendable {
    public let loss: ReducedLoss
    public let w24: W24Mode

    public init(loss: ReducedLoss, w24: W24Mode = .paper) { self.loss = loss; self.w24 = w24 }

    var dimension: Int { 2 * loss.d + (w24.isFree ? 1 : 0) }

    /// Accepted steps between two reports to `integrate`'s `progress`.
    static let progressInterval = 16

    /// (pi, z, u) of a state vector.
    func unpack<C: Collection<Double>>(_ y: C) -> (pi: [Double], z: [Double], u: Double) where C.Index == Int {
        let d = loss.d, s = y.startIndex
        return (Array(y[s..<(s + d)]), Array(y[(s + d)..<(s + 2 * d)]), w24.isFree ? y[s + 2 * d] : w24.initial)
    }

    /// The ODE system on the state (pi, z[, u]), with the analytic Jacobian.
    public var system: ODESystem { system(monitor: nil, velocityAccuracy: 1e-10) }

    /// Each right-hand side's error is at most `velocityAccuracy` of its largest component. With
    /// `drift` c > 0 the right-hand side is the modified drift `-G - c H G` (`FlowOptions.driftCorrection`);
    /// its correction term is in double precision and the Jacobian stays the gradient flow's (it only
    /// steers an implicit stepper's Newton iteration).
    func system(monitor: PrecisionMonitor?, velocityAccuracy: Double, drift: Double = 0) -> ODESystem {
        let flow = self, loss = self.loss, d = loss.d, free = w24.isFree
        return ODESystem(
            dimension: dimension,
            rightHandSide: { t, y, dydt in
                let state = y.baseAddress!, u = free ? y[2 * d] : flow.w24.initial
                let tier = loss.velocity(pi: state, z: state + d, u: u, freeU: free, velocityAccuracy: velocityAccuracy, into: dydt.baseAddress!)
                try monitor?.record(tier, time: t)
                if drift != 0 { flow.addDriftCorrection(drift, state: Array(y), into: dydt) }
            },
            jacobian: { _, y, dfdy, _ in
                let (pi, z, u) = flow.unpack(y)
                let size = flow.dimension, hs = 2 * d + 1, iu = 2 * d
                let h = loss.hessian(pi: pi, z: z, u: u)
                let v = pi.map { (loss.etaValue - $0) / u }
                // hb = H * B with B = d(v, w, u)/d(pi, z[, u]): dv_j/dpi_j = -1/u, dw_j/dz_j = 1,
                // and with u free dv_j/du = -v_j/u, dw_j/du = -1.
                var hb = [Double](repeating: 0, count: hs * size)
                for r in 0..<hs {
                    for j in 0..<d {
                        hb[r * size + j] = -h[r * hs + j] / u
                        hb[r * size + d + j] = h[r * hs + d + j]
                    }
                    if free {
                        var s = h[r * hs + iu]
                        for j in 0..<d { s -= v[j] / u * h[r * hs + j] + h[r * hs + d + j] }
                        hb[r * size + iu] = s
                    }
                }
                if free {
                    let g = loss.evaluate(pi: pi, z: z, u: u, freeU: true)
                    for c in 0..<size {
                        for j in 0..<d {
                            // d pi_j/dt = u g_vj + v_j g_u, dz_j/dt = -g_wj - g_u, du/dt = -g_u
                            var x = u * hb[j * size + c] + v[j] * hb[iu * size + c]
                            if c == iu { x += g.gradientV[j] - g.gradientU * v[j] / u }
                            if c == j { x -= g.gradientU / u }
                            dfdy[j * size + c] = x
                            dfdy[(d + j) * size + c] = -hb[(d + j) * size + c] - hb[iu * size + c]
                        }
                        dfdy[iu * size + c] = -hb[iu * size + c]
                    }
                } else {
                    for c in 0..<size {
                        for j in 0..<d {
                            dfdy[j * size + c] = u * hb[j * size + c]
                            dfdy[(d + j) * size + c] = -hb[(d + j) * size + c]
                        }
                    }
                }
            }
        )
    }

    /// Adds `-c H G` in (v, w[, u]) to the state velocity: with pi = eta - u v and z = w + u,
    /// d pi_j = -u dv_j - v_j du, dz_j = dw_j + du.
    func addDriftCorrection(_ c: Double, state y: [Double], into dydt: UnsafeMutableBufferPointer<Double>) {
        let d = loss.d, free = w24.isFree, hs = 2 * d + 1
        let (pi, z, u) = unpack(y)
        let g = loss.evaluate(pi: pi, z: z, u: u, freeU: free)
        let h = loss.hessian(pi: pi, z: z, u: u)
        let gradient = g.gradientV + g.gradientW + [free ? g.gradientU : 0]
        var delta = [Double](repeating: 0, count: hs)
        for r in 0..<hs where free || r < 2 * d {
            var s = 0.0
            for c in 0..<hs { s += h[r * hs + c] * gradient[c] }
            delta[r] = -c * s
        }
        let du = delta[2 * d]
        for j in 0..<d {
            let v = (loss.etaValue - pi[j]) / u
            dydt[j] += -u * delta[j] - v * du
            dydt[d + j] += delta[d + j] + du
        }
        if free { dydt[2 * d] += du }
    }

    /// The state vector of eigenvalues (v, w) and W24 = u.
    func state(v: [Double], w: [Double], u: Double) -> [Double] {
        let eta = loss.etaValue
        return v.map { eta.addingProduct(-u, $0) } + w.map { $0 + u } + (w24.isFree ? [u] : [])
    }

    /// Integrates from eigenvalues (v0, w0), with W24 at `w24.initial`. `progress` is told the
    /// accepted steps and the time, every `progressInterval` steps.
    public func integrate(v0: [Double], w0: [Double], options: FlowOptions = FlowOptions(),
                          progress: ((_ steps: Int, _ t: Double) -> Void)? = nil) throws -> FlowTrajectory {
        let d = loss.d
        guard v0.count == d, w0.count == d else {
            throw FlowConfigurationError.eigenvalueCount(d: d, v: v0.count, w: w0.count)
        }
        let u0 = w24.initial
        guard u0.isFinite, u0 != 0 else { throw FlowConfigurationError.initialW24(u0) }
        let drift = options.driftCoefficient
        guard drift.isFinite, drift >= 0 else { throw FlowConfigurationError.driftCorrection(drift, fullMatrix: false) }
        let y0 = state(v: v0, w: w0, u: u0)
        let start = unpack(y0)
        let first = loss.evaluate(pi: start.pi, z: start.z, u: start.u, freeU: w24.isFree)
        let initialLoss = first.loss
        guard initialLoss.isFinite else { throw FlowConfigurationError.initialLossNotFinite }
        let loss = self.loss, flow = self
        // Convergence is confirmed on the exact loss at the state (the stop runs on this thread).
        let rule = FlowStop(options: options, initialLoss: initialLoss, d: d)
        var steps = 0
        let stop: (Double, [Double]) -> StopDecision? = { t, y in
            steps += 1
            if let progress, steps % ReducedFlow.progressInterval == 0 { progress(steps, t) }
            let u = flow.w24.isFree ? y[2 * d] : flow.w24.initial
            return rule.decision(t: t, loss: { y.withUnsafeBufferPointer { loss.lossValue(pi: $0.baseAddress!, z: $0.baseAddress! + d, u: u) } }, confirm: { _ in
                guard u != 0 else { return nil }
                let (pi, z, _) = flow.unpack(y)
                // The claim is checked on the exact loss at this state.
                let exact = loss.exactLoss(pi: pi, z: z, u: u)
                return exact <= Rational(exactly: rule.threshold) ? "exact loss \(exact.doubleValue)" : nil
            })
        }
        let odeOptions = options.odeOptions(initial: y0, velocity: first.velocity)
        let monitor = PrecisionMonitor(loss: loss)
        do {
            // A tenth of the relative tolerance: the error a right-hand side adds to a step is
            // then a tenth of what the step control allows for it.
            let accuracy = min(1e-9, max(1e-14, 0.1 * options.ode.relativeTolerance))
            let problem = ODEProblem(system(monitor: monitor, velocityAccuracy: accuracy, drift: drift), initial: y0, options: odeOptions)
            let solution = try ODE.solve(problem, stop: stop)
            return trajectory(solution, converged: rule.converged)
        } catch let failure as ODEFailure {
            if case .callbackThrew(let error as PrecisionMonitor.Exhausted) = failure.reason {
                throw FlowFailure(reason: .precisionExhausted(error.description), partial: trajectory(failure.partial, converged: false))
            }
            let velocityNorm = first.velocity.map { abs($0) }.max() ?? 0
            throw FlowFailure(reason: .integration(failure.reason, advice: FlowDiagnosis.advice(failure.reason, options: options, initialLoss: initialLoss,
                                                                                                velocityNorm: velocityNorm, reached: failure.partial.times.last ?? 0,
                                                                                                phases: failure.partial.phases)),
                              partial: trajectory(failure.partial, converged: false))
        }
    }

    private func trajectory(_ solution: ODESolution, converged: Bool) -> FlowTrajectory {
        var losses: [Double] = [], v: [[Double]] = [], w: [[Double]] = [], us: [Double] = []
        let eta = loss.etaValue
        for (i, y) in solution.states.enumerated() {
            let (pi, z, u) = unpack(y)
            let exactlyEvaluable = u != 0 && y.allSatisfy(\.isFinite)
            let last = i == solution.states.count - 1 && exactlyEvaluable
            losses.append(last ? loss.exactLoss(pi: pi, z: z, u: u).doubleValue
                               : loss.evaluate(pi: pi, z: z, u: u, freeU: false, gradient: false).loss)
            v.append(pi.map { (eta - $0) / u })
            w.append(z.map { $0 - u })
            us.append(u)
        }
        return FlowTrajectory(times: solution.times, losses: losses, v: v, w: w, u: us, w24: w24, eta: eta,
                              stopReason: solution.stopReason, statistics: solution.statistics, phases: solution.phases, converged: converged)
    }
}
