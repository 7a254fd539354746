import ArgumentParser
import CotflowCore
import CotflowExperiments
import CotflowModel
import Foundation

struct HessianCommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "Loss, gradient and Hessian spectrum of an objective at saved parameters, over a fixed batch of prompts.",
        discussion: "The full-batch loss over --prompts fixed prompts (stream `evaluation` of --seed); its Hessian with respect to every entry of V and W (--params full) or V31 and W13 (--params reduced) by central differences of the analytic gradient, symmetrised (the asymmetry before that is printed as an accuracy check). Prints the block norms of V and W, the eigenvalues, the gradient's components along the eigenvectors, where the extreme eigenvectors live (their mass per block), and the loss along the most negative eigenvector. With --out writes summary.json and eigenvalues.csv. notes/looped.md uses it to classify where looped training stalls."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Parameter file written by `cotflow train` (parameters.json).") var load: String
    @Option(help: "Objective: looped, cot (teacher-forced), eval (autoregressive k steps) or nocot.") var objective: Objective = .looped
    @Option(help: "Differentiated entries: full (every entry of V and W) or reduced (V31 and W13).") var params: TrainableSet = .full
    @Option(parsing: .unconditional, help: "Number of fixed prompts in the batch.") var prompts = 2000
    @Option(parsing: .unconditional, help: "Also measure gradient noise over this many independent batches (0: skip).") var batches = 0
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Prompts per batch for --batches.") var batchSize = 256
    @Option(name: .customLong("difference-step"), parsing: .unconditional, help: "Step h of the central differences of the gradient.") var differenceStep = 1e-4

    /// The measurement the options describe.
    var hessianRun: HessianRun {
        get throws {
            HessianRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), seed: task.seed, load: InputFile(load), objective: objective,
                       params: params, prompts: prompts, batches: batches, batchSize: batchSize, differenceStep: differenceStep)
        }
    }

    func validate() throws { try checkingInput { try output.validating { try hessianRun.validate() } } }

    func run() throws { try output.solve(try hessianRun, what: "hessian") }
}
