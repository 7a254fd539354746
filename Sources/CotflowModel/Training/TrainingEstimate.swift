import CotflowCore

extension TrainingConfig {
    /// The work of this training: every step's batch (drawn, then the objective with its gradient)
    /// and every record's held-out losses (the objective and the test objective), by
    /// `KernelWork`'s counts. A curriculum's shorter chains are counted at k (an upper bound).
    public var workEstimate: WorkEstimate {
        let t = task, data = objective.objective.needsData || objective.testObjective.needsData
        let records = Double(steps / max(recordEvery, 1) + 2)
        let sample = KernelWork.sampling(d: t.d, n: t.n, k: t.k, data: data)
        let step = Double(batchSize) * (sample + KernelWork.objective(objective.objective, d: t.d, n: t.n, k: t.k, gradient: true))
        let record = Double(heldOutSize) * (KernelWork.objective(objective.objective, d: t.d, n: t.n, k: t.k, gradient: false)
            + KernelWork.objective(objective.testObjective, d: t.d, n: t.n, k: t.k, gradient: false))
        let operations = Double(steps) * step + records * record + Double(heldOutSize) * sample
        return WorkEstimate([.init("training", .kernel, operations: operations,
                                   basis: "\(steps) steps of \(batchSize) prompts and \(Int(records)) records of \(heldOutSize) held-out prompts at (d, n, k) = (\(t.d), \(t.n), \(t.k))")])
    }
}

extension TrainingRun {
    /// The work and time of this run, before it runs (`--estimate`; the work limit refuses beyond it).
    public func estimate() -> WorkEstimate { config.workEstimate }
}
