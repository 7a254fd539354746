import ArgumentParser
import CotflowCore
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

    func run() throws {
        let run = try hessianRun
        if output.printEstimate(run.estimate(), what: "hessian") { return }
        try Self.solve(run, output: output, provenance: try Provenance(run: run))
    }

    /// Solves `run` and writes its files and report (also what `rerun` calls).
    @discardableResult
    static func solve(_ run: HessianRun, output: OutputOptions, provenance: Provenance, printing: Bool = true) throws -> HessianOutcome {
        try output.prepare(files: ["summary.json", "eigenvalues.csv"])
        let outcome: HessianOutcome = try {
            let bar = Progress(total: 1, label: "hessian", unit: "columns", enabled: !output.quiet, phases: run.estimate())
            defer { bar.finish() }
            return try run.solve { phase, done, total in
                bar.phase(phase, total: total, unit: phase == "Hessian columns" ? "columns" : "steps")
                bar.update(done)
            }
        }()
        let summary = try RunSummary(provenance: provenance, run: run, result: outcome.metrics).json()
        try output.write(summary: summary)
        try output.write(outcome.table.text, "eigenvalues.csv")
        if printing { output.emit(json: summary, report: outcome.report(out: output.out)) }
        return outcome
    }
}
