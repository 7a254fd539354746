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
        // Doubles a kernel reserves per thread (Objectives.swift, `reset(reserving:)`), bounded by the sum over the
        // kernels: the chains of a chunk, the k x k chain Gram, the looped kernel's k + 3 D x (n + 1) states and
        // 3k + 4 D x D products, the per-step vectors. (The bound was (n + k + 1) / n x this in bytes: at n = 1,
        // k = 1000 it asked for 132 GB of a run that uses 36 MB.)
        let (K, N, d1, chunk) = (Double(k), Double(n), Double(d) + 1, Double(Objectives.chunkSize))
        let perThread = chunk * (K + 1) * Double(d) + K * K + (K + 3) * dim * (N + 1) + (3 * K + 4) * dim * dim
            + K * (4 * d1 + 3 * dim + 2 * Double(d)) + 4 * d1 * dim + 2 * dim * dim
        let gradientSlots = (Double(batch) / chunk + 1) * 2 * dim * dim
        let workspace = 8 * 4 * (dim * dim + perThread * Double(max(ProcessInfo.processInfo.activeProcessorCount, 1))) + 8 * gradientSlots
        return 8 * 16 * dim * dim + prompts + workspace
    }

    /// The memory of a training run at its sizes (its work: `TrainingConfig.workEstimate`, checked by the run).
    public static func checkTraining(d: Int, n: Int, k: Int, batch: Int, heldOut: Int, objective: TrainingObjective, what: String) throws {
        let data = objective.objective.needsData || objective.testObjective.needsData
        try ResourceLimit.checkMemory(trainingBytes(d: d, n: n, k: k, batch: batch, heldOut: heldOut, data: data), what: what)
    }
}
