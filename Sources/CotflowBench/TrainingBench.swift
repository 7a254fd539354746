import CGSL
import CotflowCore
import CotflowModel
import Foundation

/// Training throughput (prompt-steps per second: prompts x optimizer steps per second) of the
/// CoT objective with full parameters and SGD at a tiny learning rate, the machine's dgemm rate,
/// and the share of it one training step reaches. The task uses half the paper's step size so that
/// no true chain overflows at k = 20 (the cost of a step does not depend on eta).
func benchTraining() {
    GSL.initialize()
    print("Training benchmark (CoT objective, full parameters, SGD lr 1e-6, eta = n/(n+d+1)/2; \(ProcessInfo.processInfo.activeProcessorCount) cores; small products: \(SmallProductKernel.current.name) kernel)")
    let gemmOne = gemmRate(size: 1500, threads: 1)
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let gemmAll = gemmRate(size: 1500, threads: cores)
    print(String(format: "  dgemm 1500^3: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads (one dgemm per thread)",
                 gemmOne, gemmAll, cores))
    for (d, n, k, batch, seconds) in [(10, 20, 20, 512, 3.0), (50, 200, 20, 256, 4.0)] {
        let r = throughput(d: d, n: n, k: k, batch: batch, seconds: seconds)
        let gflops = r.promptSteps * r.flopsPerPrompt / 1e9
        print(String(format: "  (d, n, k) = (%d, %d, %d), batch %d: %.0f prompt-steps/s; %.0f flop per prompt-step -> %.2f GFLOP/s = %.1f%% of the %d-thread dgemm rate",
                     d, n, k, batch, r.promptSteps, r.flopsPerPrompt, gflops, 100 * gflops / gemmAll, cores))
    }
    // End to end through Trainer (includes two held-out evaluations of 256 prompts).
    let task = try! TaskConfig(d: 10, n: 20, k: 20, eta: paperStepSize(n: 20, d: 10).doubleValue / 2)
    let cfg = TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: .random,
                             optimizer: .sgd, learningRate: 1e-6, batchSize: 512, steps: 200, recordEvery: 200,
                             heldOutSize: 256, seed: 1)
    let res = try! Trainer(config: cfg).run()
    if res.status != .completed { print("  Trainer.run: \(res.status)") }
    print(String(format: "  Trainer.run at (10, 20, 20), batch 512, 200 steps: %.2f s -> %.0f prompt-steps/s end to end",
                 res.seconds, Double(512 * 200) / res.seconds))
}

/// One size of the training step alone, without the dgemm reference (for profiles): `d n k batch seconds`.
func benchTrainingStep(_ args: [String]) {
    GSL.initialize()
    let v = args.compactMap { Double($0) }
    guard v.count == 5, v[0...3].allSatisfy({ $0 >= 1 && $0 == $0.rounded() }), v[4] > 0 else {
        FileHandle.standardError.write("usage: cotflow-bench training-step d n k batch seconds\n".data(using: .utf8)!)
        exit(2)
    }
    let (d, n, k, batch) = (Int(v[0]), Int(v[1]), Int(v[2]), Int(v[3]))
    let cpu0 = cpuSeconds()
    let r = throughput(d: d, n: n, k: k, batch: batch, seconds: v[4])
    let cpu = cpuSeconds() - cpu0
    print(String(format: "(d, n, k) = (%d, %d, %d), batch %d: %.0f prompt-steps/s; %.0f flop per prompt-step -> %.2f GFLOP/s; %.0f prompt-steps per CPU-second (warm-up included); %@ kernel",
                 d, n, k, batch, r.promptSteps, r.flopsPerPrompt, r.promptSteps * r.flopsPerPrompt / 1e9,
                 r.promptSteps * v[4] / cpu, SmallProductKernel.current.name))
}

/// Flop count of one CoT prompt-step as implemented: the cheaper of the two kernels (direct or with
/// the data part folded, `cotKernelCosts`), the chain part of G (two passes over j <= i; the kernel
/// computes all k^2 dot products q_i . u_j in one product, the half with j > i is not counted), the GD
/// chain and the Bartlett sample.
func cotFlopsPerPrompt(d: Int, k: Int) -> Double {
    let costs = cotKernelCosts(d: d, k: k)
    let chainPart = 2 * k * (k + 1) * (d + 1)
    let chain = k * d * d
    let sample = d * (d + 1) * (d + 2) / 6                     // S = A A^T of the triangular Bartlett factor
    return 2 * Double(min(costs.direct, costs.folded) + chainPart + chain + sample)
}

func throughput(d: Int, n: Int, k: Int, batch: Int, seconds: Double) -> (promptSteps: Double, flopsPerPrompt: Double) {
    let task = try! TaskConfig(d: d, n: n, k: k, eta: paperStepSize(n: n, d: d).doubleValue / 2)
    var params = TransformerParameters.construction(d: d, eta: task.eta)
    let r = Random(seed: 9, stream: [7])
    for i in params.V.indices { params.V[i] += 0.01 * r.gaussian(); params.W[i] += 0.01 * r.gaussian() }
    let batches = FreshBatchObjective(batchSize: batch, seed: 1, label: StreamLabel.training, workspaces: WorkspacePool())
    func step() {
        let res = batches.evaluate(.cot, parameters: params, task: task, gradient: true)
        for i in params.V.indices {
            params.V[i] -= 1e-6 * res.gradV![i]
            params.W[i] -= 1e-6 * res.gradW![i]
        }
    }
    step()  // warm-up
    var steps = 0
    let start = Date()
    while Date().timeIntervalSince(start) < seconds { step(); steps += 1 }
    let elapsed = Date().timeIntervalSince(start)
    return (Double(steps * batch) / elapsed, cotFlopsPerPrompt(d: d, k: k))
}

/// GFLOP/s of `threads` concurrent size^3 dgemms (OpenBLAS is pinned to one thread each).
func gemmRate(size: Int, threads: Int) -> Double {
    let a = [Double](repeating: 1.0 / Double(size), count: size * size)
    let reps = 3
    let start = Date()
    _ = parallelMap(threads) { _ -> Double in
        var c = [Double](repeating: 0, count: size * size)
        for _ in 0..<reps {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(size), Int32(size), Int32(size), 1,
                        a, Int32(size), a, Int32(size), 0, &c, Int32(size))
        }
        return c[0]
    }
    let elapsed = Date().timeIntervalSince(start)
    return Double(threads * reps) * 2 * pow(Double(size), 3) / elapsed / 1e9
}
