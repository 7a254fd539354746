import CotflowCore
import CotflowExact
import CotflowModel
import Foundation

extension ExperimentSettings {
    /// The work of the job at a grid point, before it runs (the run each job makes there).
    public func workEstimate(at point: SweepPoint) throws -> WorkEstimate {
        let s = try resolved(at: point)
        switch s.job {
        case .flow:
            var options = s.flow
            options.ode.grid = .logarithmic(points: s.points, first: 1e-3)
            let flow = ReducedFlowRun(d: s.d, n: s.n, k: s.k, eta: s.stepSize, seed: s.seed, w24: s.w24, options: options).estimate()
            return flow + WorkEstimate([ExactWork.phase("exact GD-chain loss", degree: 2 * s.k, n: s.n, d: s.d, basis: "Wishart moments of degree up to 2k")])
        case .train:
            return try s.trainingConfig().workEstimate
        case .compare:
            let t = try s.trainingConfig()
            var c = try ComparisonConfig.defaults(d: s.d, n: s.n, k: s.k, eta: s.stepSize, seed: s.seed)
            c.training = t
            c.trainable = [t.trainable]
            c.flow.ode.stepper = s.flow.ode.stepper
            return c.workEstimate
        case .exact:
            return WorkEstimate([ExactWork.phase("exact GD-chain losses", degree: 2 * s.k, n: s.n, d: s.d, basis: "Wishart moments of degree up to 2k, at k and k - 1")])
        }
    }
}

extension SweepPlan {
    /// The work of each shard of the plan's `shards` (phases summed over its points).
    public func shardEstimates() throws -> [WorkEstimate] {
        try (0..<shards).map { try estimate(shard: try Shard(index: $0, count: shards)) }
    }

    /// The work of one shard: every point's run, phases of one name summed.
    public func estimate(shard: Shard) throws -> WorkEstimate {
        let grid = try grid()
        // The points' phases gathered once (adding estimates one by one copied every phase so far: O(points^2)).
        return WorkEstimate(try shard.indices(in: grid).flatMap { try settings.workEstimate(at: grid.point($0)).phases }).merged()
    }

    /// Slurm's `--time` of an array task: the largest shard's estimate on `cores` cores at this
    /// machine's rates, with a margin (3 x, plus 10 minutes: notes/reliability.md gives the
    /// estimate's error), as `D-HH:MM:SS`.
    public func slurmTime(cores: Int, rates: MachineRates = .current) throws -> (text: String, seconds: Double) {
        var r = rates
        r.cores = max(1, cores)
        let seconds = try shardEstimates().map { $0.seconds(r) }.max() ?? 0
        let limit = Int(min(3 * seconds + 600, 365 * 86400).rounded(.up))
        let text = String(format: "%d-%02d:%02d:%02d", limit / 86400, (limit % 86400) / 3600, (limit % 3600) / 60, limit % 60)
        return (text, seconds)
    }
}

extension SweepShardRun {
    /// The work of this shard, before it runs (`--estimate`; the work limit refuses beyond it).
    public func estimate() throws -> WorkEstimate { try plan.estimate(shard: shard) }
}
