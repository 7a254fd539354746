import CotflowCore

/// Floating-point operations per prompt of the sampler and the objectives' kernels, counted from
/// their loops (a multiply-add is 2 operations): what `WorkEstimate`s of training, evaluation,
/// the full-matrix flow and the Hessian multiply by their prompt counts. In Double: cannot
/// overflow. Measured against run times in notes/reliability.md, "Estimates".
package enum KernelWork {
    /// Drawing a prompt: S from X (d^2 n, when the data is stored or n < d) or by Bartlett's
    /// factor (d^3), w*, and the prompt's GD chain (k steps of a d x d product).
    /// A normal draw counts as `drawCost` operations (measured with the sampler: notes/reliability.md).
    package static func sampling(d: Int, n: Int, k: Int, data: Bool) -> Double {
        let D = Double(d), N = Double(n), fromX = data || n < d
        let draws = fromX ? D * N + D : D * (D + 1) / 2 + 2 * D
        return drawCost * draws + 2 * D * D * (fromX ? N : D) + 4 * Double(k) * D * D
    }

    /// Operations per normal draw of the sampler.
    package static let drawCost = 100.0

    /// The objective (`gradient`: with its gradient) on one prompt.
    package static func objective(_ objective: Objective, d: Int, n: Int, k: Int, gradient: Bool) -> Double {
        let D = Double(d), d1 = D + 1, dim = 2 * D + 2, K = Double(k)
        switch objective {
        case .cot:
            // The cheaper of the two CoT kernels (`cotKernelCosts`), plus what they share: the chain
            // part of G (k x k Gram of the chain tokens) and the chain's d x d products.
            let costs = cotKernelCosts(d: d, k: k)
            let withGradient = 2 * Double(min(costs.direct, costs.folded)) + 4 * K * K * d1 + 4 * K * D * D
            return gradient ? withGradient : withGradient / 2
        case .eval, .nocot:
            // Step m of the chain: the query (dim x d1), S a (d^2), the m + 1 tokens' part of G, the output.
            let steps = objective == .eval ? K : 1
            let forward = steps * (2 * dim * d1 + 2 * D * D + 2 * D * dim + 2 * D) + 2 * steps * (steps + 1) * d1
            return gradient ? 3 * forward + 4 * steps * d1 * d1 : forward
        case .looped:
            // Per loop: G = Z Z^T over n + 1 columns, V G W, and M Z; backward about 2.5 times that.
            let cols = Double(n) + 1
            let forward = K * (4 * dim * dim * cols + 4 * dim * dim * dim)
            return gradient ? forward + K * (6 * dim * dim * cols + 10 * dim * dim * dim) : forward
        }
    }

    /// The symmetric eigensystem of an m x m matrix through LAPACK (values only: about 10 m^3 with
    /// the call's set-up, 10^4; with vectors about 9 m^3).
    package static func eigensystem(_ m: Int, vectors: Bool) -> Double {
        let M = Double(m)
        return vectors ? 9 * M * M * M + 1e4 : 10 * M * M * M + 1e4
    }
}

extension WorkEstimate.Phase {
    /// A phase of per-prompt kernels: `prompts` x `perPrompt` operations.
    package static func kernels(_ name: String, prompts: Double, perPrompt: Double, basis: String, steps: Double? = nil) -> Self {
        .init(name, .kernel, operations: prompts * perPrompt, basis: basis, steps: steps)
    }
}
