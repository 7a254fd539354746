import CotflowModel
import CotflowCore
import Foundation

/// The full-matrix gradient flow at (d, n, k) = (10, 40, 5), paper's eta, 16384 prompts, from the
/// random initialisation of `train` (scale 0.05, seed 0) to t = 10 with rkf45 and the full-flow
/// defaults of `cotflow ode --params full`, and with msadams. Target: under 60 s (issue 9). The CPU time
/// (both threads) is printed beside the wall time: on a machine shared with other jobs the wall
/// time says little, and an idle 2-core machine runs the flow in about CPU / 2.
func benchFullFlow(steppers: [Stepper] = [.rkf45, .msadams]) {
    print("full-matrix flow benchmark (release build), (d, n, k) = (10, 40, 5), eta = 40/51, 16384 prompts, random start (scale 0.05), to t = 10")
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
        for stepper in steppers {
            var options = FullMatrixFlow.defaultOptions
            options.ode.stepper = stepper
            options.ode.endTime = 10
            options.ode.grid = .linear(points: 51)
            let cpuStart = cpuSeconds(), flowStart = Date()
            let result = try flow.integrate(from: initial, basis: basis, options: options)
            let seconds = Date().timeIntervalSince(flowStart), cpu = cpuSeconds() - cpuStart
            let s = result.statistics
            print(String(format: "  %@: flow %.2f s wall, %.2f s CPU (prompts sampled in %.3f s, one gradient %.4f s wall); t_end %.3g, %d steps (%d rejected), %d rhs evaluations; loss %.4g -> %.4g",
                         stepper.rawValue, seconds, cpu, sampled, oneGradient, result.finalTime, s.acceptedSteps, s.failedSteps,
                         s.rhsEvaluations, result.losses.first ?? .nan, result.finalLoss))
        }
    } catch {
        print("  failed: \(error)")
    }
}

/// The cost of one right-hand side of the full-matrix flow of `benchFullFlow` (the mean CoT loss
/// and its gradient on 16384 prompts) and of one loss-only evaluation (the stopping rule's), at the
/// random start: `repeats` evaluations each, wall and CPU time per evaluation.
func benchFullFlowRightHandSide(repeats: Int = 20) {
    print("full-matrix flow right-hand side (release build), (d, n, k) = (10, 40, 5), 16384 prompts, \(repeats) evaluations")
    do {
        let task = try TaskConfig(d: 10, n: 40, k: 5, eta: 40.0 / 51.0)
        let flow = try FullMatrixFlow(task: task, promptCount: 16384, seed: 0)
        let config = TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: .random,
                                    optimizer: .sgd, learningRate: 1, batchSize: 1, steps: 0, recordEvery: 1, heldOutSize: 1, seed: 0)
        let (initial, _) = try Trainer(config: config).initialParameters()
        let y = initial.V + initial.W
        var dydt = [Double](repeating: 0, count: flow.dimension)
        let system = flow.system
        for gradient in [true, false] {
            let cpuStart = cpuSeconds(), start = Date()
            var check = 0.0
            for _ in 0..<repeats {
                if gradient {
                    try y.withUnsafeBufferPointer { yb in try dydt.withUnsafeMutableBufferPointer { try system.rightHandSide(0, yb, $0) } }
                    check += dydt.reduce(0, +)
                } else {
                    check += flow.objective(initial, gradient: false).loss
                }
            }
            let wall = Date().timeIntervalSince(start) / Double(repeats), cpu = (cpuSeconds() - cpuStart) / Double(repeats)
            print(String(format: "  %@: %.2f ms wall, %.2f ms CPU per evaluation (checksum %.17g)",
                         gradient ? "loss and gradient" : "loss only", 1000 * wall, 1000 * cpu, check))
        }
    } catch {
        print("  failed: \(error)")
    }
}

/// User plus system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Writes the fixed prompts of `cotflow ode --params full --d d --n n --prompts count --seed seed`
/// (the flow's `PromptSets.firstTrainingBatch`) for a peer to integrate the same problem
/// (scripts/bench-full-flow-peer.sh): raw little-endian float64, the count d x d matrices S
/// (row-major) and then the count vectors w*. Arguments: `d n count seed path`.
func writeFullFlowPrompts(_ args: [String]) {
    guard args.count == 5, let d = Int(args[0]), let n = Int(args[1]), let count = Int(args[2]), let seed = UInt64(args[3]),
          d >= 1, n >= 1, count >= 1 else {
        FileHandle.standardError.write("usage: cotflow-bench full-flow-prompts d n count seed path\n".data(using: .utf8)!)
        exit(2)
    }
    do {
        // k and eta do not enter the prompts' draws.
        let task = try TaskConfig(d: d, n: n, k: 1, eta: paperStepSize(n: n, d: d).doubleValue)
        let prompts = try FullMatrixFlow(task: task, promptCount: count, seed: seed).prompts
        var data = Data(capacity: 8 * (prompts.S.count + prompts.wStar.count))
        for x in prompts.S + prompts.wStar { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: args[4]), options: .atomic)
        print("wrote \(count) prompts of (d, n) = (\(d), \(n)), seed \(seed), to \(args[4])")
    } catch {
        FileHandle.standardError.write("cotflow-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
}
