import CotflowCore
import CotflowExact
import CotflowModel

extension ComparisonConfig {
    /// The work of this comparison, phase by phase in the order it runs: each training run, the
    /// exact reduced loss and the reduced flows (W24 fixed, and free for full training or the
    /// full-matrix flow), the full-matrix flow, and the first correction (a modified flow and the
    /// gradient noise at up to 8 points of the flow over `FlowCorrection.diagnosticPrompts` prompts).
    public var workEstimate: WorkEstimate {
        var phases: [WorkEstimate.Phase] = []
        for trainable in self.trainable {
            var t = training
            t.trainable = trainable
            phases += t.workEstimate.phases.map { p in var p = p; p.name = "training (\(trainable.rawValue))"; return p }
        }
        // The flows run to training's last record time where the optimizer maps steps to time.
        var options = flow
        if hasTimeMap, let end = training.optimizer.flowTime(step: training.steps, learningRate: training.learningRate), end > 0 {
            options.ode.endTime = end
            options.ode.grid = .times([Double](repeating: 0, count: training.steps / max(training.recordEvery, 1)))
        }
        if training.initialisation == .assumption {
            phases.append(ReducedLoss.workPhase(n: n, d: d, k: k))
            let flows = trainable.contains(.full) || fullFlowPrompts != nil ? 2 : 1
            let run = ReducedFlowRun(d: d, n: n, k: k, eta: eta, seed: seed, options: options).estimate().phases[1]
            phases.append(.init("reduced flow", .serial, operations: Double(flows) * run.operations, basis: "\(flows) x " + run.basis, steps: run.steps))
        }
        if let prompts = fullFlowPrompts {
            var full = FullFlowRun(d: d, n: n, k: k, eta: eta, seed: seed, prompts: prompts)
            full.options.ode.endTime = options.ode.endTime
            full.options.ode.grid = options.ode.grid
            full.options.ode.stepper = flow.ode.stepper
            phases += full.estimate().phases
            phases.append(.kernels("full-matrix flow on the held-out set", prompts: Double(training.heldOutSize),
                                   perPrompt: options.outputPoints(steps: 0) * KernelWork.objective(.cot, d: d, n: n, k: k, gradient: false),
                                   basis: "the held-out loss at every record"))
        }
        if training.initialisation == .assumption, hasTimeMap, training.optimizer.driftCorrection(learningRate: training.learningRate) != nil {
            let run = ReducedFlowRun(d: d, n: n, k: k, eta: eta, seed: seed, options: options).estimate().phases[1]
            let noise = Double(trainable.count) * 8 * Double(FlowCorrection.diagnosticPrompts)
                * (KernelWork.sampling(d: d, n: n, k: k, data: false) + KernelWork.objective(.cot, d: d, n: n, k: k, gradient: true))
            phases.append(.init("first correction", .kernel, operations: Double(trainable.count) * run.operations + noise,
                                basis: "a modified flow and the gradient noise at up to 8 points over \(FlowCorrection.diagnosticPrompts) prompts"))
        }
        return WorkEstimate(phases)
    }
}

extension ComparisonRun {
    /// The work and time of this comparison, before it runs (`--estimate`; the work limit refuses beyond it).
    public func estimate() -> WorkEstimate { config.workEstimate }
}
