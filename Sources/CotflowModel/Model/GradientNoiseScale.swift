import CotflowCore

/// What decides whether SGD follows the population gradient flow at a point (MODEL.md section 10),
/// measured on a sample of prompts from the per-prompt gradients over the trainable entries:
/// the gradient-noise scale `B_noise = tr(Sigma) / |G|^2`, the share of the loss and of the
/// gradient mass carried by the top 1% of prompts, and Hill's tail index of the per-prompt gradient
/// norms (a variance exists only for an index above 2). notes/sgd-correction.md.
public struct GradientNoiseScale: Sendable, Equatable {
    /// Prompts in the sample.
    public let prompts: Int
    /// |G|: the norm of the sample mean of the per-prompt gradients.
    public let gradientNorm: Double
    /// tr(Sigma): the trace of the per-prompt gradient covariance (sample, divisor count - 1).
    public let covarianceTrace: Double
    /// Per-prompt losses and gradient norms, summarised (top-1% shares, tail index).
    public let losses: SampleSummary
    public let gradientNorms: SampleSummary

    /// `B_noise = tr(Sigma) / |G|^2`: SGD's batch mean concentrates on G when the batch is well above it.
    public var noiseScale: Double { covarianceTrace / (gradientNorm * gradientNorm) }

    /// Measures at `parameters` on `batch` (objective `cot`); `mask` selects the trainable entries
    /// of V and W (nil: all).
    public static func measure(parameters: TransformerParameters, task: TaskConfig, batch: PromptBatch,
                               mask: (V: [Bool], W: [Bool])? = nil) -> GradientNoiseScale {
        let dim = task.tokenSize, dd = dim * dim
        let chunks = fixedChunks(batch.count, size: Objectives.chunkSize)
        let workspaces = WorkspacePool()
        // Per chunk, in prompt order: the sum of the gradients, the sum of their squared norms,
        // each prompt's loss and gradient norm. Chunk sums are added in chunk order.
        let parts = parallelMap(chunks.count) { c -> (sum: [Double], squares: Double, losses: [Double], norms: [Double]) in
            var sum = [Double](repeating: 0, count: 2 * dd), squares = 0.0
            var losses: [Double] = [], norms: [Double] = []
            var g = [Double](repeating: 0, count: 2 * dd), loss = 0.0
            for i in chunks[c] {
                for j in g.indices { g[j] = 0 }
                workspaces.with { ws in
                    g.withUnsafeMutableBufferPointer { gb in
                        withUnsafeMutablePointer(to: &loss) { lp in
                            Objectives.kernel(.cot, parameters: parameters, task: task, batch: batch, range: i..<(i + 1),
                                              output: KernelOutput(losses: lp, gradV: gb.baseAddress!, gradW: gb.baseAddress! + dd,
                                                                   scale: 1, workspace: ws))
                        }
                    }
                }
                if let mask {
                    for j in 0..<dd where !mask.V[j] { g[j] = 0 }
                    for j in 0..<dd where !mask.W[j] { g[dd + j] = 0 }
                }
                var norm2 = 0.0
                for j in g.indices { norm2 += g[j] * g[j]; sum[j] += g[j] }
                squares += norm2
                losses.append(loss); norms.append(norm2.squareRoot())
            }
            return (sum, squares, losses, norms)
        }
        var sum = [Double](repeating: 0, count: 2 * dd), squares = 0.0
        for part in parts {
            for j in sum.indices { sum[j] += part.sum[j] }
            squares += part.squares
        }
        let count = Double(batch.count)
        let mean2 = sum.reduce(0) { $0 + ($1 / count) * ($1 / count) }
        // tr(Sigma) = (sum |g_i|^2 - count |G|^2) / (count - 1).
        let trace = batch.count > 1 ? max(0, squares - count * mean2) / (count - 1) : .nan
        return GradientNoiseScale(prompts: batch.count, gradientNorm: mean2.squareRoot(), covarianceTrace: trace,
                             losses: SampleSummary(parts.flatMap(\.losses)), gradientNorms: SampleSummary(parts.flatMap(\.norms)))
    }
}
