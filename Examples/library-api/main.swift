// A program that uses cotflow as a library (no command line): the exact reduced CoT loss at a
// point, the reduced gradient flow from that point, and a short SGD training run of the full
// transformer from the same Assumption 4.1 kind of start. `import Cotflow` brings every module.
// Run: swift run -c release library-api. Exit 0 when the flow converged and the training completed.
import Cotflow
import Foundation

// No options: --help (or -h) says what the program does and exits; anything else is refused.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print("""
        library-api: a program that uses cotflow as a library (Examples/library-api/main.swift; README, "Using cotflow as a library").
        It prints the exact reduced CoT loss at V31 = -0.5 I, W13 = 0.9 I, (d, n, k) = (3, 10, 3), the reduced gradient flow
        from there, and 300 SGD steps of the transformer from an Assumption 4.1 start; exit 0 when the flow converged and the
        training completed. It takes no options.

        USAGE: library-api [--help]
        """)
    exit(0)
}
if let first = arguments.first {
    FileHandle.standardError.write("library-api: takes no options (got '\(first)'); --help says what it runs\n".data(using: .utf8)!)
    exit(64)
}

do {
    let (d, n, k) = (3, 10, 3)
    let eta = paperStepSize(n: n, d: d)  // n / (n + d + 1) = 5/7, exact

    // 1. The exact population CoT loss L(v, w) with V31 = v I, W13 = w I (as `cotflow exact cot-loss`).
    let loss = try ReducedLoss(n: n, d: d, k: k, eta: eta)
    let v = Rational.parse("-0.5")!, w = Rational.parse("0.9")!
    let exact = loss.exactLoss(v: Array(repeating: v, count: d), w: Array(repeating: w, count: d))
    print("exact L_CoT(v = \(v), w = \(w)) at (d, n, k) = (\(d), \(n), \(k)), eta = \(eta): \(exact) = \(fmt(exact.doubleValue))")

    // 2. The reduced gradient flow on the eigenvalues from that point, to the stopping rule.
    let flow = try ReducedFlow(loss: loss).integrate(v0: Array(repeating: v.doubleValue, count: d),
                                                     w0: Array(repeating: w.doubleValue, count: d))
    print("reduced flow: loss \(fmt(flow.losses[0])) -> \(fmt(flow.finalLoss)) at t = \(fmt(flow.finalTime)), converged: \(flow.converged)")

    // 3. A short SGD run of the full D x D transformer on sampled prompts, reduced parameters,
    //    Assumption 4.1 initialisation.
    let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
    var config = TrainingConfig.defaults(task: task, seed: 1)
    config.trainable = .reduced
    config.initialisation = .assumption
    config.optimizer = .sgd
    config.learningRate = 0.05
    config.steps = 300
    config.batchSize = 64
    config.heldOutSize = 1000
    let result = try Trainer(config: config).run()
    print("training (\(config.steps) SGD steps): \(result.status); held-out evaluation loss \(result.heldOutEval?.report(name: "E||w^_k - w*||^2") ?? "none (diverged)")")

    let holds = flow.converged && result.status == .completed
    print(holds ? "library-api: done" : "library-api: the flow did not converge or the training did not complete")
    exit(holds ? 0 : 1)
} catch {
    FileHandle.standardError.write("library-api: \(describe(error))\n".data(using: .utf8)!)
    exit(1)
}
