import ArgumentParser
import CotflowModel
import CotflowODE
import CotflowSupport
import CotflowTraining
import Foundation

// Estimates of memory and time from the options, checked before any allocation
// (notes/reliability.md). Estimates are in Double so that they cannot overflow.

enum Limits {
    /// Largest k of the exact reduced loss (ode, compare, sweep, exact cot-loss): its rational
    /// moments have degree up to about 2k; k = 60 takes ~10 s and k = 200 over a minute on 2 cores.
    static let reducedLossMaximumK = 100

    /// Largest number of output points of a flow (each holds 2d + 1 numbers).
    static let maximumOutputPoints = 10_000_000

    static func checkReducedLoss(k: Int, option: String = "--k") throws {
        try ResourceLimit.check(k, atMost: reducedLossMaximumK, option: option,
                                reason: "the exact reduced loss uses rational Wishart moments of degree up to 2k, whose cost grows fast with k "
                                    + "(k = 60 takes about 10 s, k = 200 over a minute); `cotflow train` has no such limit")
    }

    /// Bytes of a batch of prompts: S (d x d), w* (d) and, when stored, X (d x n) per prompt.
    static func promptBytes(count: Int, d: Int, n: Int, data: Bool) -> Double {
        let D = Double(d), N = Double(n)
        return 8 * Double(count) * (D * D + D + (data || n < d ? D * N : 0))
    }

    /// Bytes of a training run: parameters, gradients and optimizer state (about 16 D x D
    /// matrices), the held-out set and one batch, and the forward pass of each chunk.
    static func trainingBytes(d: Int, n: Int, k: Int, batch: Int, heldOut: Int, data: Bool) -> Double {
        let dim = 2 * Double(d) + 2
        let prompts = promptBytes(count: heldOut, d: d, n: n, data: data) + promptBytes(count: batch, d: d, n: n, data: data)
        let perThread = 8 * Double(Objectives.chunkSize) * dim * (Double(k) + 2) * (Double(n) + Double(k) + 1) / max(Double(n), 1)
        let workspace = 8 * 4 * (dim * dim + perThread * Double(max(ProcessInfo.processInfo.activeProcessorCount, 1)))
        return 8 * 16 * dim * dim + prompts + workspace
    }

    /// Rough operations per prompt: sampling S (d^2 n with X, d^3 by Bartlett) and the k-step
    /// forward and backward passes over D x D matrices.
    static func promptOperations(d: Int, n: Int, k: Int, data: Bool) -> Double {
        let D = Double(d), N = Double(n), dim = 2 * D + 2
        return D * D * (data || n < d ? N : D) + 4 * Double(k) * dim * dim * dim
    }

    static func checkTraining(d: Int, n: Int, k: Int, batch: Int, heldOut: Int, steps: Int, recordEvery: Int,
                              objective: TrainingObjective, what: String) throws {
        let data = objective.objective.needsData || objective.testObjective.needsData
        try ResourceLimit.checkMemory(trainingBytes(d: d, n: n, k: k, batch: batch, heldOut: heldOut, data: data), what: what)
        let records = Double(steps / max(recordEvery, 1) + 2)
        let prompts = Double(heldOut) * (1 + 2 * records) + Double(batch) * Double(steps + 1)
        try ResourceLimit.checkWork(prompts * promptOperations(d: d, n: n, k: k, data: data), what: what)
    }

    /// Bytes of a flow: the stored trajectory (points x (2d + 1)) and, for the implicit steppers,
    /// a few (2d) x (2d) Jacobian matrices.
    static func flowBytes(d: Int, points: Int, implicit: Bool) -> Double {
        let state = 2 * Double(d)
        return 8 * Double(points) * (state + 1) * 2 + (implicit ? 8 * 4 * state * state : 0)
    }

    static func checkFlow(d: Int, points: Int, stepper: Stepper, what: String) throws {
        try ResourceLimit.check(points, atMost: maximumOutputPoints, option: "--points",
                                reason: "each output point is stored with its 2d eigenvalues")
        try ResourceLimit.checkMemory(flowBytes(d: d, points: points, implicit: stepper.requiresJacobian), what: what)
    }
}

/// The run's status in summary.json: "completed", or "diverged" / "interrupted" with the step.
func runStatusJSON(_ status: TrainingStatus) -> [(String, JSONValue)] {
    switch status {
    case .completed: return [("status", .string("completed"))]
    case .diverged(let step, let reason):
        return [("status", .string("diverged")), ("diverged_at_step", .int(step)), ("diverged_reason", .string(reason))]
    case .interrupted(let step, let signal):
        return [("status", .string("interrupted")), ("interrupted_at_step", .int(step)), ("signal", .string(signal))]
    }
}
