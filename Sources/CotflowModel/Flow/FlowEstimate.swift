import CotflowCore
import CotflowExact
import Foundation

/// The number of steps a flow will take, estimated from its settings before it runs (the
/// step-count model and its measured error: notes/reliability.md, "Estimates").
///
/// Every flow takes about `stepsPerDecade` steps per decade of time from 1e-3 to its end while
/// its loss falls. An explicit stepper on the full-matrix flow is then held by stability at a
/// step of about `stabilityConstant / lambda`, lambda ~ k d (1 + sqrt(d/n))^4 the largest curvature
/// of the CoT loss near the construction, for the rest of the time to `t_end` (the chain path
/// decays only polynomially: the flow does not converge). Capped by `--max-steps`.
package enum FlowSteps {
    /// Steps per decade of time while the loss falls (fitted: notes/reliability.md).
    package static let stepsPerDecade = 20.0
    /// tsit5's step near the construction times the curvature (fitted: notes/reliability.md).
    package static let stabilityConstant = 7.0

    /// Right-hand sides per accepted step of `stepper` (and about 10% rejected steps).
    package static func rightHandSides(_ stepper: Stepper) -> Double {
        let stages: Double = switch stepper {
        case .auto, .tsit5, .rkf45, .rkck: 6
        case .rk2: 3
        case .rk4: 11 // step doubling
        case .rk8pd: 13
        case .msadams: 2
        case .rk1imp, .rk2imp, .rk4imp, .bsimp, .msbdf: 4
        }
        return 1.1 * stages
    }

    /// Decades of time the flow covers from 1e-3 (at least one).
    package static func decades(_ options: FlowOptions) -> Double {
        max(1, log10(max(options.ode.endTime, 1e-2) / 1e-3))
    }

    /// The largest curvature of the CoT loss near the construction, up to a constant.
    package static func curvature(d: Int, n: Int, k: Int) -> Double {
        let spread = 1 + (Double(d) / Double(n)).squareRoot()
        return Double(k) * Double(d) * pow(spread, 4)
    }

    /// Steps of the reduced flow: it converges while the loss falls, in `stepsPerDecade` steps
    /// per decade, plus the stiff steps (`stiffSteps`). Without the stiffness (an exact loss too
    /// costly to build for the estimate) it grows by (k/15)^8 from k ~ 15 (fitted at (d, n) =
    /// (10, 40); other (d, n) differ: notes/reliability.md).
    package static func reduced(_ options: FlowOptions, d: Int, k: Int, stiffness: Double? = nil) -> Double {
        let base = stepsPerDecade * decades(options)
        guard let stiffness else { return min(Double(options.ode.maximumSteps), base * (1 + pow(Double(k) / 15, 8))) }
        return min(Double(options.ode.maximumSteps), base + stiffSteps(stiffness, d: d))
    }

    /// The steps a stiff reduced flow takes beyond the smooth ones (auto: tsit5, then msbdf held
    /// by the cancellation in the loss's coefficients), from its stiffness x = L(start)/d, the loss
    /// at the start per dimension (carried by the heavy tail of S's spectrum: it grows like the
    /// chain's powers (I - eta S)^(2k) on the tail). Fitted over (d, n, k) in notes/reliability.md:
    /// 86 (x^(0.195 + 0.0027 d) - 2), zero for x below about 30.
    package static func stiffSteps(_ stiffness: Double, d: Int) -> Double {
        guard stiffness.isFinite else { return .infinity }
        let exponent = stiffnessExponent + stiffnessExponentPerDimension * Double(d)
        return stiffStepScale * max(0, pow(max(stiffness, 0), exponent) - 2)
    }
    package static let stiffStepScale = 86.0
    package static let stiffnessExponent = 0.195
    package static let stiffnessExponentPerDimension = 0.0027

    /// Operations of one prompt's evaluation in the full-matrix flow (a right-hand side or an
    /// output point) beyond its kernel's flops: the per-prompt set-up and the sum over prompts.
    /// It dominates at small d: (2, 10, 2) took 5 x the kernels' estimate (notes/reliability.md,
    /// "Hostile run (third pass)").
    package static let fullPromptOverhead = 1500.0

    /// Steps of the full-matrix flow (explicit steppers only).
    package static func full(_ options: FlowOptions, d: Int, n: Int, k: Int) -> Double {
        let stable = options.ode.endTime * curvature(d: d, n: n, k: k) / stabilityConstant
        return min(Double(options.ode.maximumSteps), stepsPerDecade * decades(options) + stable)
    }

    /// The full-matrix flow's steps from the start to time `t` by the model of `full` (uncapped):
    /// `stepsPerDecade` a decade of time from 1e-3, plus t over the stable step.
    package static func fullSteps(to t: Double, d: Int, n: Int, k: Int) -> Double {
        stepsPerDecade * max(0, log10(max(t, 1e-3) / 1e-3)) + max(t, 0) * curvature(d: d, n: n, k: k) / stabilityConstant
    }

    /// The fraction of the full-matrix flow's work done at time `t` of a run to `end`: its steps
    /// to t over its steps to the end, both by the step model (every step costs the same), not
    /// t / end (the grid is logarithmic and the steps are not uniform in t).
    package static func fullWorkFraction(at t: Double, end: Double, d: Int, n: Int, k: Int) -> Double {
        let total = fullSteps(to: end, d: d, n: n, k: k)
        guard total > 0, total.isFinite else { return end > 0 ? min(max(t / end, 0), 1) : 0 }
        return min(max(fullSteps(to: t, d: d, n: n, k: k) / total, 0), 1)
    }
}

extension FlowOptions {
    /// Output points of the grid (for an every-step grid, the steps).
    package func outputPoints(steps: Double) -> Double {
        switch ode.grid {
        case .logarithmic(let points, _), .linear(let points): return Double(points)
        case .times(let times): return Double(times.count)
        case .everyStep: return steps
        }
    }
}

extension ReducedFlowRun {
    /// Operations of one right-hand side of the reduced flow: the cubic in eight coordinate sums
    /// and its gradient, error-bounded (O(d); calibrated as flops in notes/reliability.md).
    package static func rightHandSide(d: Int) -> Double { 250 * Double(d) + 500 }

    /// Operations of one stiff step: its right-hand sides in double-double (the tier the
    /// cancellation calls for), the stop rule's loss, a share of a Jacobian and of msbdf's
    /// linear algebra (calibrated as flops in notes/reliability.md).
    package static func stiffStep(d: Int) -> Double { 1.8e4 * Double(d) + 2.8e4 }

    /// The name of the phase that integrates the flow (its estimate and progress).
    public static let flowPhaseName = "reduced flow"

    /// The limb products of an exact reduced loss the estimate builds to read the flow's
    /// stiffness (about a second on this machine; a costlier loss is estimated from k alone).
    package static let stiffnessExactLimit = 5e7

    /// The stiffness of this flow, `L(start)/d` (`FlowSteps.stiffSteps`), from the exact reduced
    /// loss when it costs at most `stiffnessExactLimit` (built once: the run uses the same loss);
    /// nil otherwise.
    package func stiffness() -> Double? {
        guard ReducedLoss.workPhase(n: n, d: d, k: k).operations <= Self.stiffnessExactLimit,
              (try? validateTask()) != nil, let loss = try? ReducedLoss.shared(n: n, d: d, k: k, eta: eta) else { return nil }
        let (v, w) = initialPoint
        let u = w24.initial
        guard v.count == d, w.count == d, u.isFinite, u != 0 else { return nil }
        let flow = ReducedFlow(loss: loss, w24: w24)
        let start = flow.unpack(flow.state(v: v, w: w, u: u))
        return loss.evaluate(pi: start.pi, z: start.z, u: u, freeU: false, gradient: false).loss / Double(d)
    }

    /// The work and time of this run, before it runs: the exact reduced loss (rational Wishart
    /// moments of degree 2k) and the flow's steps, smooth and stiff.
    public func estimate() -> WorkEstimate {
        let stiffness = stiffness()
        let steps = FlowSteps.reduced(options, d: d, k: k, stiffness: stiffness)
        let stiff = min(steps, stiffness.map { FlowSteps.stiffSteps($0, d: d) } ?? 0), smooth = steps - stiff
        let rhs = smooth * FlowSteps.rightHandSides(options.ode.stepper) + options.outputPoints(steps: steps)
        let stiffText = stiffness.map { " (\(WorkEstimate.count(stiff)) of them stiff: loss at the start \(String(format: "%.2g", $0)) per dimension)" }
            ?? " (stiffness from k alone: the exact loss is too costly to read it from)"
        return WorkEstimate([
            ReducedLoss.workPhase(n: n, d: d, k: k),
            .init(Self.flowPhaseName, .serial, operations: rhs * Self.rightHandSide(d: d) + stiff * Self.stiffStep(d: d),
                  basis: "about \(WorkEstimate.count(steps)) steps to t = \(fmt(options.ode.endTime)) with \(options.ode.stepper.rawValue)" + stiffText, steps: steps),
        ])
    }
}

extension FullFlowRun {
    /// What the progress display shows at time `t`: the steps the step model expects to t against
    /// the estimate's steps, and the fraction of the work that is (`FlowSteps.fullWorkFraction`).
    public func progress(at t: Double) -> ProgressReport {
        let end = options.ode.endTime, total = FlowSteps.fullSteps(to: end, d: d, n: n, k: k)
        let work = FlowSteps.fullWorkFraction(at: t, end: end, d: d, n: n, k: k)
        return ProgressReport(phase: "full-matrix flow", done: Int(min(work * total, 1e15)), total: Int(min(total, 1e15)),
                              unit: "steps expected to t", work: work, detail: "(t = \(fmt(t)) of \(fmt(end)); step model, notes/reliability.md)")
    }

    /// The work and time of this run, before it runs: the prompts and their chains, then every
    /// right-hand side (the CoT loss and its gradient on every prompt) and every output point.
    public func estimate() -> WorkEstimate {
        let steps = FlowSteps.full(options, d: d, n: n, k: k)
        let perPrompt = steps * FlowSteps.rightHandSides(options.ode.stepper) * (KernelWork.objective(.cot, d: d, n: n, k: k, gradient: true) + FlowSteps.fullPromptOverhead)
            + options.outputPoints(steps: steps) * (KernelWork.objective(.cot, d: d, n: n, k: k, gradient: false) + FlowSteps.fullPromptOverhead)
            + KernelWork.sampling(d: d, n: n, k: k, data: false)
        return WorkEstimate([
            .kernels("full-matrix flow", prompts: Double(prompts), perPrompt: perPrompt,
                     basis: "about \(WorkEstimate.count(steps)) steps to t = \(fmt(options.ode.endTime)) on \(prompts) prompts at (d, n, k) = (\(d), \(n), \(k))"
                        + (steps >= Double(options.ode.maximumSteps) ? " (--max-steps)" : ""), steps: steps),
        ])
    }
}
