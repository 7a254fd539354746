import CotflowCore
import CotflowModel
import Foundation

/// Whether training can be expected to follow the population flow along a comparison (MODEL.md
/// section 10; notes/sgd-correction.md): the optimizer's first correction (how far its modified
/// drift moves the flow's loss), and at points of the flow the gradient noise of the trained
/// entries on a fixed sample of prompts, the noise's bound on the excess loss, and the tails.
public struct FlowValidity: Sendable {
    /// One point of the flow.
    public struct Point: Sendable {
        public let time: Double
        /// The flow's population loss there.
        public let flowLoss: Double
        public let noise: GradientNoiseScale
        /// `h tr(Sigma) / (4 B L)`: the linear-noise bound on SGD's relative excess loss. In each
        /// eigendirection of H with curvature lambda > 0 the stationary variance of the iterates is
        /// `h Sigma / (2 B lambda)`, adding `h Sigma / (4 B)` to the loss whatever lambda is.
        public let noiseExcess: Double
    }

    public let points: [Point]
    /// The batch size B and the effective step h (SGD: the learning rate).
    public let batchSize: Int
    public let step: Double
    /// The optimizer in words (`OptimizerKind.prose`).
    public let optimizer: String
    /// The largest relative difference between the losses of the modified drift's flow and of the
    /// flow over the compared records (nil when not measured), and the drift's c.
    public let driftShift: Double?
    public let driftCoefficient: Double

    /// The largest noise bound and where it is.
    public var largestNoiseExcess: Point? { points.max { $0.noiseExcess < $1.noiseExcess } }
    /// The smallest tail index of the per-prompt gradient norms along the flow.
    public var smallestTailIndex: (point: Point, index: TailIndex)? {
        points.compactMap { p in p.noise.gradientNorms.tailIndex.map { (p, $0) } }.min { $0.1.alpha < $1.1.alpha }
    }

    /// The verdict's threshold on the noise bound and on the drift's shift: training within a few
    /// percent of the flow needs each alone to stay below that.
    public static let noiseExcessLimit = 0.05

    /// In plain words: is the flow expected to describe the training here, and why.
    public var verdict: (expected: Bool, reason: String) {
        if let (p, a) = smallestTailIndex, a.alpha + 2 * a.standardError < 2 {
            return (false, "the per-prompt gradient norms have a heavy tail (Hill index \(fmt(a.alpha)) ± \(fmt(a.standardError)) at t = \(fmt(p.time)), "
                + "below 2: no finite variance), so a batch mean is carried by rare prompts and \(optimizer) need not follow the population gradient")
        }
        if let shift = driftShift, shift > Self.noiseExcessLimit {
            return (false, "the first correction (the modified drift -G - c H G, c = \(fmt(driftCoefficient))) moves the flow's loss by up to \(percent(shift)), "
                + "above \(percent(Self.noiseExcessLimit))")
        }
        if let p = largestNoiseExcess, p.noiseExcess > Self.noiseExcessLimit {
            return (false, "batch noise can add up to \(percent(p.noiseExcess)) to the loss (h tr(Sigma) / (4 B L) at t = \(fmt(p.time)), "
                + "gradient-noise scale \(fmt(p.noise.noiseScale)) against B = \(batchSize))")
        }
        let worst = largestNoiseExcess.map { "at most \(percent($0.noiseExcess))" } ?? "not measured"
        let tail = smallestTailIndex.map { "Hill index of the gradient norms at least \(fmt($0.index.alpha))" } ?? "no tail index (too few prompts)"
        let drift = driftShift.map { "the first correction moves the flow's loss by at most \(percent($0)), " } ?? ""
        return (true, "\(drift)the batch noise adds \(worst) to the loss (h tr(Sigma) / (4 B L)) and the per-prompt gradients have a finite variance (\(tail))")
    }

    private func percent(_ x: Double) -> String { String(format: "%.2g%%", 100 * x) }

    /// Measures at up to `count` records of `flow` above `floor` (the comparison's deviation floor),
    /// evenly spread over them, on `prompts` prompts of stream `StreamLabel.monteCarlo` of `seed`.
    /// `basis` is the initial eigenbasis (V31 = U diag(v) U^T, W13 = U diag(w) U^T, W24 = u).
    public static func measure(flow: FlowTrajectory, basis: [Double], task: TaskConfig, trainable: TrainableSet,
                               batchSize: Int, step: Double, optimizer: String, driftShift: Double?, driftCoefficient: Double,
                               prompts: Int, seed: UInt64, floor: Double, count: Int = 8) -> FlowValidity {
        let d = task.d
        let eligible = flow.times.indices.filter { flow.losses[$0] > floor && flow.losses[$0].isFinite }
        let chosen = eligible.count <= count ? eligible
            : (0..<count).map { eligible[Int((Double($0) * Double(eligible.count - 1) / Double(count - 1)).rounded())] }
        let batch = PromptSets.sample(task: task, count: prompts, seed: seed, label: StreamLabel.monteCarlo, includeData: false)
        let masks = TransformerParameters.reducedMasks(d: d)
        let mask: (V: [Bool], W: [Bool])? = trainable == .reduced ? (masks.V, masks.W) : nil
        let points = chosen.map { i -> Point in
            var p = TransformerParameters.reduced(d: d, v31: AssumptionInitialisation.matrix(eigenvalues: flow.v[i], basis: basis),
                                                  w13: AssumptionInitialisation.matrix(eigenvalues: flow.w[i], basis: basis))
            p.W24 = flow.u[i]
            let noise = GradientNoiseScale.measure(parameters: p, task: task, batch: batch, mask: mask)
            return Point(time: flow.times[i], flowLoss: flow.losses[i], noise: noise,
                         noiseExcess: step * noise.covarianceTrace / (4 * Double(batchSize) * flow.losses[i]))
        }
        return FlowValidity(points: points, batchSize: batchSize, step: step, optimizer: optimizer,
                            driftShift: driftShift, driftCoefficient: driftCoefficient)
    }
}
