import CotflowCore
import CotflowExact

extension EvaluationRun {
    /// The work and time of this evaluation, before it runs: each prompt drawn with its GD chain,
    /// the autoregressive k-step chain of the transformer (quadratic in k: step m reads m + 1
    /// tokens), the prompt's largest eigenvalue, and the exact GD reference where it is computed.
    public func estimate() -> WorkEstimate {
        let perPrompt = KernelWork.sampling(d: d, n: n, k: k, data: false) + KernelWork.objective(.eval, d: d, n: n, k: k, gradient: false)
            + KernelWork.eigensystem(d, vectors: false)
        var phases: [WorkEstimate.Phase] = [
            .kernels("evaluation", prompts: Double(prompts), perPrompt: perPrompt, basis: "\(prompts) prompts of a \(k)-step chain at (d, n) = (\(d), \(n))"),
        ]
        let exactLimit = covariance == .identity ? ExactLimits.degree : ExactLimits.covarianceDegree
        if 2 * k <= exactLimit {
            if case .file = covariance {} else {
                phases.append(ExactWork.phase("exact GD reference", degree: 2 * k, n: n, d: d, basis: "Wishart moments of degree up to 2k = \(2 * k)"))
            }
        }
        return WorkEstimate(phases)
    }
}

extension HessianRun {
    /// The work and time of this measurement, before it runs: the gradient noise over `batches`
    /// batches, the 2m + 1 gradients of the central differences over the fixed prompts (m entries:
    /// 2 D^2 full, 2d reduced), and the eigensystem of the m x m Hessian.
    public func estimate() -> WorkEstimate {
        let m = params == .reduced ? 2 * d : 2 * (2 * d + 2) * (2 * d + 2)
        let sample = KernelWork.sampling(d: d, n: n, k: k, data: true)
        let gradient = KernelWork.objective(objective, d: d, n: n, k: k, gradient: true)
        var phases: [WorkEstimate.Phase] = []
        if batches > 0 {
            phases.append(.kernels("gradient noise", prompts: Double(batches) * Double(batchSize), perPrompt: sample + gradient,
                                   basis: "\(batches) batches of \(batchSize) prompts"))
        }
        phases.append(.kernels("Hessian columns", prompts: Double(prompts), perPrompt: sample + Double(2 * m + 1) * gradient,
                               basis: "\(2 * m + 1) gradients of the \(objective.rawValue) loss over \(prompts) prompts (\(m) entries)"))
        phases.append(.init("eigensystem", .serial, operations: KernelWork.eigensystem(m, vectors: true), basis: "\(m) x \(m) symmetric"))
        return WorkEstimate(phases)
    }
}
