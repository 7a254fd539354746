import CotflowCore
import Foundation

// Estimates of a training run's memory from its sizes (its work: TrainingEstimate.swift), checked before any allocation
// (notes/reliability.md). Estimates are in Double so that they cannot overflow.

/// Memory of a training run, estimated and checked against the limit before any allocation,
/// with messages that give the estimate.
public enum TrainingLimits {
    /// Bytes of a batch of prompts: S (d x d), w* (d) and, when stored, X (d x n) per prompt.
    public static func promptBytes(count: Int, d: Int, n: Int, data: Bool) -> Double {
        let D = Double(d), N = Double(n)
        return 8 * Double(count) * (D * D + D + (data || n < d ? D * N : 0))
    }

    /// Bytes of a training run: parameters, gradients and optimizer state (about 16 D x D
    /// matrices), the held-out set and one batch, and the forward pass of each chunk.
    public static func trainingBytes(d: Int, n: Int, k: Int, batch: Int, heldOut: Int, data: Bool) -> Double {
        let dim = 2 * Double(d) + 2
        let prompts = promptBytes(count: heldOut, d: d, n: n, data: data) + promptBytes(count: batch, d: d, n: n, data: data)
        let perThread = 8 * Double(Objectives.chunkSize) * dim * (Double(k) + 2) * (Double(n) + Double(k) + 1) / max(Double(n), 1)
        let workspace = 8 * 4 * (dim * dim + perThread * Double(max(ProcessInfo.processInfo.activeProcessorCount, 1)))
        return 8 * 16 * dim * dim + prompts + workspace
    }

    /// The memory of a training run at its sizes (its work: `TrainingConfig.workEstimate`, checked by the run).
    public static func checkTraining(d: Int, n: Int, k: Int, batch: Int, heldOut: Int, objective: TrainingObjective, what: String) throws {
        let data = objective.objective.needsData || objective.testObjective.needsData
        try ResourceLimit.checkMemory(trainingBytes(d: d, n: n, k: k, batch: batch, heldOut: heldOut, data: data), what: what)
    }
}
