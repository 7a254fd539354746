import CotflowODE

/// The message of a failed reduced flow: what went wrong and what would work.
enum FlowDiagnosis {
    static func explain(_ reason: ODEFailure.Reason, options: FlowOptions, initialLoss: Double, velocityNorm: Double) -> String {
        var text = reason.description
        if case .nonFiniteRightHandSide = reason, !options.stepper.requiresJacobian {
            text += "; the flow is stiff here (initial loss \(initialLoss), gradient up to \(velocityNorm)):"
                + " use an implicit stepper with the analytic Jacobian (msbdf, bsimp) or a smaller initial step"
        }
        return text
    }
}
