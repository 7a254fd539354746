import CotflowCore

/// Per-prompt evaluation of a transformer against the GD chain on the same prompts.
public struct EvaluationResult: Sendable {
    /// Autoregressive eval losses `||w^_k - w*||^2` of the transformer.
    public let evalLosses: [Double]
    /// The GD chain's own losses `||w_k - w*||^2`.
    public let chainLosses: [Double]
    /// Largest eigenvalue of S per prompt.
    public let lambdaMax: [Double]
    /// A prompt's GD chain "diverges" when `eta * lambda_max(S) >= 2`: then `I - eta S` has an
    /// eigenvalue <= -1 and `||w_k - w*||` does not shrink along that direction (it grows when > 2).
    public let diverges: [Bool]

    public var divergedFraction: Double {
        Double(diverges.filter { $0 }.count) / Double(max(diverges.count, 1))
    }
}

/// Evaluates `parameters` on `prompts` fresh prompts of `task`, drawn from the stream
/// `[StreamLabel.evaluation, chunk]` of `seed` in fixed chunks of `Objectives.chunkSize`.
public func evaluate(_ parameters: TransformerParameters, task: TaskConfig, prompts: Int,
                     seed: UInt64) throws -> EvaluationResult {
    guard prompts >= 1 else { throw ModelError.evaluationPrompts(prompts) }
    guard parameters.d == task.d else {
        throw ModelError.dimensionMismatch(parameters: parameters.d, task: task.d)
    }
    let chunks = fixedChunks(prompts, size: Objectives.chunkSize)
    let workspaces = WorkspacePool()
    let parts = parallelMap(chunks.count) { c -> ([Double], [Double], [Double]) in
        let random = Random(seed: seed, stream: [StreamLabel.evaluation, UInt64(c)])
        let batch = PromptBatch.sample(task: task, count: chunks[c].count, random: random, includeData: false)
        var losses = [Double](repeating: 0, count: batch.count)
        losses.withUnsafeMutableBufferPointer { lb in
            workspaces.with { ws in
                Objectives.kernel(.eval, parameters: parameters, task: task, batch: batch, range: 0..<batch.count,
                                  output: KernelOutput(losses: lb.baseAddress!, gradV: nil, gradW: nil, scale: 0, workspace: ws))
            }
        }
        let lambda = (try? batch.largestEigenvalues()) ?? [Double](repeating: .nan, count: batch.count)
        return (losses, batch.chainLosses(eta: task.eta, k: task.k), lambda)
    }
    let evalLosses = parts.flatMap { $0.0 }
    let chainLosses = parts.flatMap { $0.1 }
    let lambda = parts.flatMap { $0.2 }
    return EvaluationResult(evalLosses: evalLosses, chainLosses: chainLosses, lambdaMax: lambda,
                            diverges: lambda.map { !(task.eta * $0 < 2) })
}

/// How many of the `prompts` fresh prompts `evaluate` draws have a GD chain whose loss overflows
/// double precision, from the chains alone (k d^2 per prompt, the prompts drawn from the same
/// streams): an evaluation that cannot give a finite result is refused before the transformer's
/// k-step chain runs (issue 22: `eval --k 10000` took 75 s, then failed on this overflow).
public func chainOverflowCount(task: TaskConfig, prompts: Int, seed: UInt64) -> Int {
    let chunks = fixedChunks(prompts, size: Objectives.chunkSize)
    return parallelMap(chunks.count) { c -> Int in
        let random = Random(seed: seed, stream: [StreamLabel.evaluation, UInt64(c)])
        let batch = PromptBatch.sample(task: task, count: chunks[c].count, random: random, includeData: false)
        return batch.chainLosses(eta: task.eta, k: task.k).filter { !$0.isFinite }.count
    }.reduce(0, +)
}
