import CotflowCore

/// The fixed prompt sets of a run, drawn in chunks of `Objectives.chunkSize`: chunk c is the first
/// draw of stream `[label, c]` of the seed.
public enum PromptSets {
    public static func sample(task: TaskConfig, count: Int, seed: UInt64, label: UInt64, includeData: Bool) -> PromptBatch {
        let chunks = fixedChunks(count, size: Objectives.chunkSize)
        let parts = parallelMap(chunks.count) { c in
            PromptBatch.sample(task: task, count: chunks[c].count, random: Random(seed: seed, stream: [label, UInt64(c)]),
                               includeData: includeData)
        }
        return concatenate(parts)
    }

    /// The held-out set of a training run (stream `StreamLabel.heldOut`).
    public static func heldOut(_ config: TrainingConfig) -> PromptBatch {
        let needsData = config.objective.objective.needsData || config.objective.testObjective.needsData
        return sample(task: config.task, count: config.heldOutSize, seed: config.seed, label: StreamLabel.heldOut, includeData: needsData)
    }

    /// The first batch a run with `batchSize = count` trains on (stream `StreamLabel.training`): the
    /// full-matrix flow's fixed prompts, so that its right-hand side at the initial point is minus
    /// the gradient of training's first step with that batch size.
    public static func firstTrainingBatch(task: TaskConfig, count: Int, seed: UInt64) -> PromptBatch {
        sample(task: task, count: count, seed: seed, label: StreamLabel.training, includeData: false)
    }
}
