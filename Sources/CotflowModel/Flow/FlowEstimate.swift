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

    /// Steps of the reduced flow: it converges while the loss falls; from k ~ 15 its stiffness
    /// grows fast with k (the chain's powers (I - eta S)^i reach the tail of S's spectrum), by
    /// about (k/15)^8 at (d, n) = (10, 40) (fitted; other (d, n) differ: notes/reliability.md).
    package static func reduced(_ options: FlowOptions, k: Int) -> Double {
        min(Double(options.ode.maximumSteps), stepsPerDecade * decades(options) * (1 + pow(Double(k) / 15, 8)))
    }

    /// Steps of the full-matrix flow (explicit steppers only).
    package static func full(_ options: FlowOptions, d: Int, n: Int, k: Int) -> Double {
        let stable = options.ode.endTime * curvature(d: d, n: n, k: k) / stabilityConstant
        return min(Double(options.ode.maximumSteps), stepsPerDecade * decades(options) + stable)
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

    /// The work and time of this run, before it runs: the exact reduced loss (rational Wishart
    /// moments of degree 2k) and the flow's steps.
    public func estimate() -> WorkEstimate {
        let steps = FlowSteps.reduced(options, k: k)
        let rhs = steps * FlowSteps.rightHandSides(options.ode.stepper) + options.outputPoints(steps: steps)
        return WorkEstimate([
            ReducedLoss.workPhase(n: n, d: d, k: k),
            .init("reduced flow", .serial, operations: rhs * Self.rightHandSide(d: d),
                  basis: "about \(WorkEstimate.count(steps)) steps to t = \(fmt(options.ode.endTime)) with \(options.ode.stepper.rawValue)", steps: steps),
        ])
    }
}

extension FullFlowRun {
    /// The work and time of this run, before it runs: the prompts and their chains, then every
    /// right-hand side (the CoT loss and its gradient on every prompt) and every output point.
    public func estimate() -> WorkEstimate {
        let steps = FlowSteps.full(options, d: d, n: n, k: k)
        let perPrompt = steps * FlowSteps.rightHandSides(options.ode.stepper) * KernelWork.objective(.cot, d: d, n: n, k: k, gradient: true)
            + options.outputPoints(steps: steps) * KernelWork.objective(.cot, d: d, n: n, k: k, gradient: false)
            + KernelWork.sampling(d: d, n: n, k: k, data: false)
        return WorkEstimate([
            .kernels("full-matrix flow", prompts: Double(prompts), perPrompt: perPrompt,
                     basis: "about \(WorkEstimate.count(steps)) steps to t = \(fmt(options.ode.endTime)) on \(prompts) prompts at (d, n, k) = (\(d), \(n), \(k))"
                        + (steps >= Double(options.ode.maximumSteps) ? " (--max-steps)" : ""), steps: steps),
        ])
    }
}
