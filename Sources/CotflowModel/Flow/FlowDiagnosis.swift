import CotflowExact
import CotflowCore

/// What would work after a failed reduced flow (nil: no advice).
enum FlowDiagnosis {
    static func advice(_ reason: ODEFailure.Reason, options: FlowOptions, initialLoss: Double, velocityNorm: Double,
                       reached: Double, phases: [StepperPhase]) -> String? {
        var text = ""
        // `auto` that switched already runs msbdf.
        if phases.count > 1 { return nil }
        // Explicit steppers crawl where the flow is stiff (the heavy-tailed settings of MODEL.md
        // section 6): msbdf and bsimp converge at (10, 20, 20) and at (5, 40, 5) with eta = 10,
        // where rkf45 reaches t = 6e-5 in 200,000 steps.
        if case .maximumStepsExceeded(let steps) = reason, !options.ode.stepper.requiresJacobian, reached < 1 {
            text += "; the flow is stiff here (average step \(fmt(reached / Double(steps))) up to t = \(fmt(reached)), initial loss \(fmt(initialLoss))):"
                + " use an implicit stepper with the analytic Jacobian (--stepper msbdf or bsimp)"
        }
        if case .nonFiniteRightHandSide = reason, !options.ode.stepper.requiresJacobian {
            text += "; the flow is stiff here (initial loss \(initialLoss), gradient up to \(velocityNorm)):"
                + " use an implicit stepper with the analytic Jacobian (msbdf, bsimp) or a smaller initial step"
        }
        return text.isEmpty ? nil : text
    }
}

/// Counts right-hand sides that needed exact rational arithmetic. Their coefficients cancel beyond
/// double-double (the loss's terms exceed it by more than about 1e18), so the curvature of the loss
/// spans more orders of magnitude than a double-precision state resolves: such a flow is too stiff
/// to integrate reliably, and each right-hand side costs milliseconds. Past a small budget the
/// run fails with that cause instead of crawling (or, as before, converging to a wrong point).
final class PrecisionMonitor: @unchecked Sendable {
    struct Exhausted: Error, CustomStringConvertible {
        let description: String
    }

    static let exactBudget = 3
    let loss: ReducedLoss
    private(set) var exactEvaluations = 0

    init(loss: ReducedLoss) { self.loss = loss }

    func record(_ tier: EvaluationTier, time: Double) throws {
        guard tier == .exact else { return }
        exactEvaluations += 1
        guard exactEvaluations > PrecisionMonitor.exactBudget else { return }
        throw Exhausted(description: "the loss polynomial at (d, n, k) = (\(loss.d), \(loss.n), \(loss.k)), eta = \(loss.eta) cancels beyond double-double precision"
            + " (\(exactEvaluations) right-hand sides up to t = \(fmt(time)) needed exact rational arithmetic): its curvature spans more orders of magnitude"
            + " than a double-precision state resolves, so the flow is too stiff to integrate reliably with any stepper."
            + " The population loss here is dominated by the heavy tail of the largest eigenvalue of S (MODEL.md section 6); a smaller k or eta makes it tractable")
    }
}
