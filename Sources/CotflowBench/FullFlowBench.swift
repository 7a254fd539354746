import CotflowFlow
import CotflowFullFlow
import CotflowModel
import CotflowSupport
import CotflowTraining
import Foundation

/// The full-matrix gradient flow at (d, n, k) = (10, 40, 5), paper's eta, 16384 prompts, from the
/// random initialisation of `train` (scale 0.05, seed 0) to t = 10 with rkf45 and the full-flow
/// defaults of `cotflow ode --params full`. Target: under 60 s (issue 9).
func benchFullFlow() {
    print("full-matrix flow benchmark (release build), (d, n, k) = (10, 40, 5), eta = 40/51, 16384 prompts, random start (scale 0.05), rkf45 to t = 10")
    do {
        let task = try TaskConfig(d: 10, n: 40, k: 5, eta: 40.0 / 51.0)
        let started = Date()
        let flow = try FullMatrixFlow(task: task, promptCount: 16384, seed: 0)
        let sampled = Date().timeIntervalSince(started)
        let config = TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: .random,
                                    optimizer: .sgd, learningRate: 1, batchSize: 1, steps: 0, recordEvery: 1, heldOutSize: 1, seed: 0)
        let (initial, basis) = try Trainer(config: config).initialParameters()
        let gradientStart = Date()
        _ = flow.objective(initial, gradient: true)
        let oneGradient = Date().timeIntervalSince(gradientStart)
        var options = FullMatrixFlow.defaultOptions
        options.endTime = 10
        options.grid = .linear(points: 51)
        let flowStart = Date()
        let result = try flow.integrate(from: initial, basis: basis, options: options)
        let seconds = Date().timeIntervalSince(flowStart)
        let s = result.statistics
        print(String(format: "  prompts sampled in %.3f s; one gradient %.4f s; flow %.2f s (total %.2f s): t_end %.3g, %d steps (%d rejected), %d rhs evaluations; loss %.4g -> %.4g",
                     sampled, oneGradient, seconds, Date().timeIntervalSince(started), result.finalTime, s.acceptedSteps, s.failedSteps,
                     s.rhsEvaluations, result.losses.first ?? .nan, result.finalLoss))
    } catch {
        print("  failed: \(error)")
    }
}
