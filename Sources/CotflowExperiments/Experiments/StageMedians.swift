import CotflowExact
import CotflowModel
import CotflowCore

/// The stage and loss metrics of a reduced-flow run that a sweep summarises over seeds
/// (`FlowMetrics`; the names are its columns).
public enum FlowStageMetric: String, CaseIterable, Sendable {
    case plateauEnd = "plateau_end"
    case productReached = "product_reached"
    case exponentialStart = "exponential_start"
    case tLossHalf = "t_loss_half"
    case tLoss1e3 = "t_loss_1e-3"
    case initialLoss = "initial_loss"
    case converged
    case tEnd = "t_end"
    case stageCount = "stage_count"

    /// Its column in a flow sweep's records.
    var column: Int { FlowMetrics.names.firstIndex(of: rawValue)! }
}

/// Medians over replicates (the seeds) of a flow sweep's metrics at one value of its first axis.
public struct FlowStageMedians: Sendable {
    /// The value of the first axis.
    public let value: Double
    /// Runs that succeeded at this value.
    public let runs: Int
    /// The medians in the order of `FlowStageMetric.allCases`.
    public let values: [Double]

    public subscript(_ metric: FlowStageMetric) -> Double { values[FlowStageMetric.allCases.firstIndex(of: metric)!] }

    /// Medians (`Replicates.median`, finite values) over the succeeded records at each value of the
    /// grid's first axis; every other axis is a replicate.
    public static func bySetting(_ records: [SweepRecord], grid: SweepGrid) -> [FlowStageMedians] {
        grid.axes[0].values.map { value in
            let rows = records.filter { $0.values[0] == value && $0.succeeded }
            return FlowStageMedians(value: value, runs: rows.count,
                                    values: FlowStageMetric.allCases.map { m in Replicates.median(rows.map { $0.metrics[m.column] }) })
        }
    }

    /// The smallest and largest finite value over replicates of `metric`, per value of the first axis.
    public static func spread(_ records: [SweepRecord], grid: SweepGrid, _ metric: FlowStageMetric) -> (low: [Double], high: [Double]) {
        let columns = grid.axes[0].values.map { value in
            records.filter { $0.values[0] == value && $0.succeeded }.map { $0.metrics[metric.column] }.filter(\.isFinite)
        }
        return (columns.map { $0.min() ?? .nan }, columns.map { $0.max() ?? .nan })
    }
}

/// The per-prompt CoT loss (1/2) sum_i ||M_i(S)||_F^2 of the reduced parameters over sampled Wishart
/// S, at states of a reduced flow from the Assumption 4.1 point: where the flow's loss first falls
/// to given fractions of its start. Next to it the exact population loss there, which the flow descends.
public struct PromptLossAlongFlow: Sendable {
    /// The flow's loss at each state (`ReducedFlow`'s bounded-error loss).
    public let exact: [Double]
    /// The sampled per-prompt losses at each state.
    public let sampled: [SampleSummary]

    /// The flow from the point of `seed` at scale `sigma` (to t = 1e5 on 2000 log-spaced points) at
    /// the paper's step size n/(n+d+1); states where its loss is first at most `fractions` of its start
    /// (the start when never); `prompts` prompts of stream `StreamLabel.monteCarlo` of `seed`.
    public static func measure(d: Int, n: Int, k: Int, sigma: Double, seed: UInt64, prompts: Int,
                               fractions: [Double]) throws -> PromptLossAlongFlow {
        let eta = paperStepSize(n: n, d: d), e = eta.doubleValue
        let ranges = AssumptionInitialisation.defaultRanges(scale: sigma)
        let start = AssumptionInitialisation(d: d, seed: seed, vRange: ranges.v, wRange: ranges.w)
        let loss = try ReducedLoss(n: n, d: d, k: k, eta: eta)
        var options = FlowOptions()
        options.ode.endTime = 1e5
        options.ode.grid = .logarithmic(points: 2000, first: 1e-3)
        let flow = try ReducedFlow(loss: loss).integrate(v0: start.v, w0: start.w, options: options)
        let states = fractions.map { f in flow.losses.firstIndex { $0 <= f * flow.losses[0] } ?? 0 }
        let task = try TaskConfig(d: d, n: n, k: k, eta: e)
        let batch = PromptBatch.sample(task: task, count: prompts, random: Random(seed: seed, stream: [StreamLabel.monteCarlo]), includeData: false)
        return PromptLossAlongFlow(
            exact: states.map { flow.losses[$0] },
            sampled: states.map { i in
                SampleSummary(reducedPromptLosses(covariances: batch.S, count: batch.count, d: batch.d, v: flow.v[i], w: flow.w[i], eta: e, k: k))
            })
    }
}
