import CotflowCore
import CotflowExact
import Foundation

/// A Hessian measurement as a value (`cotflow hessian`): the loss, gradient and Hessian spectrum of
/// an objective at saved parameters over a fixed batch of prompts, and optionally the gradient
/// noise over independent batches. Nothing runs until `solve`.
public struct HessianRun: RecordableRun, TaskRun {
    public static let computation = "hessian"

    public var d, n, k: Int
    /// The GD step size, exact.
    public var eta: Rational
    public var seed: UInt64
    /// The parameter file (parameters.json of `cotflow train`).
    public var load: InputFile
    public var objective: Objective
    /// The differentiated entries: full (every entry of V and W) or reduced (V31 and W13).
    public var params: TrainableSet
    /// The fixed batch: stream `evaluation` of `seed`.
    public var prompts: Int
    /// Batches (0: none) of `batchSize` prompts over which the gradient noise is measured.
    public var batches, batchSize: Int
    /// Step h of the central differences of the gradient.
    public var differenceStep: Double

    /// `eta` nil is the paper's n/(n+d+1).
    public init(d: Int, n: Int, k: Int, eta: Rational? = nil, seed: UInt64 = 0, load: InputFile, objective: Objective = .looped,
                params: TrainableSet = .full, prompts: Int = 2000, batches: Int = 0, batchSize: Int = 256, differenceStep: Double = 1e-4) {
        (self.d, self.n, self.k, self.eta, self.seed, self.load) = (d, n, k, eta ?? paperStepSize(n: n, d: d), seed, load)
        (self.objective, self.params, self.prompts, self.batches, self.batchSize, self.differenceStep) = (objective, params, prompts, batches, batchSize, differenceStep)
    }

    /// The sizes and the settings of the differences and of the noise.
    public func validate() throws {
        try TaskLimits.check(d: d, n: n, k: k)
        guard (1...1_000_000).contains(prompts) else { throw CotflowError.input("--prompts must be in 1...1000000 (got \(prompts))") }
        guard (0...100_000).contains(batches), (1...1_000_000).contains(batchSize) else {
            throw CotflowError.input("--batches must be in 0...100000 and --batch-size in 1...1000000")
        }
        guard differenceStep.isFinite, differenceStep > 0, differenceStep < 1 else {
            throw CotflowError.input("--difference-step must be in (0, 1) (got \(differenceStep))")
        }
        // The file's own task fields are read as strictly as eval reads them.
        let recorded = try ParameterFileTask.read(load.path)
        if let fileD = recorded.d, fileD != d { throw CotflowError.input("\(load.given) has d = \(fileD); pass --d \(fileD)") }
        try ResourceLimit.checkMemory(TrainingLimits.promptBytes(count: prompts, d: d, n: n, data: true),
                                      what: "the Hessian at --d \(d) --n \(n) with --prompts \(prompts)")
        try estimate().check(what: "the Hessian at --d \(d) --n \(n) --k \(k) with --prompts \(prompts) (--params \(params.rawValue))",
                             lower: "--prompts, --batches, --d or --k, or use --params reduced")
    }

    /// Computes the Hessian (and the noise with `batches` > 0) at the loaded parameters;
    /// `progress(phase, done, total)` names the phases of `estimate()` as they run.
    public func solve(progress: ((String, Int, Int) -> Void)? = nil) throws -> HessianOutcome {
        try validate()
        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue)
        let p = try TransformerParameters.load(from: load.path)
        guard p.d == d else { throw CotflowError.input("\(load.given) has d = \(p.d); pass --d \(p.d)") }
        let batch = PromptBatch.sample(task: task, count: prompts, random: Random(seed: seed, stream: [StreamLabel.evaluation]), includeData: true)
        let entries = FullBatchHessian.entries(reduced: params == .reduced, d: d)
        if batches > 0 { progress?("gradient noise", 0, 1) }
        let noise = batches > 0 ? GradientNoise.measure(objective, parameters: p, task: task, batches: batches, size: batchSize, seed: seed, entries: entries) : nil
        let h = try FullBatchHessian.compute(objective, parameters: p, task: task, batch: batch, entries: entries, step: differenceStep) { done, total in
            progress?("Hessian columns", done, total)
            if done == total { progress?("eigensystem", 0, 1) }
        }
        return HessianOutcome(run: self, parameters: p, hessian: h, noise: noise)
    }
}

/// A solved Hessian measurement: the Hessian, the gradient noise and the metrics summary.json records.
public struct HessianOutcome: Sendable {
    public let run: HessianRun
    public let hessian: FullBatchHessian
    public let noise: GradientNoise?
    public let blockNorms: [(name: String, norm: Double)]
    public let metrics: HessianMetrics
    public var status: RunStatus { .completed }

    public init(run: HessianRun, parameters: TransformerParameters, hessian h: FullBatchHessian, noise: GradientNoise?) {
        (self.run, hessian, self.noise) = (run, h, noise)
        blockNorms = FullBatchHessian.blockNorms(parameters)
        metrics = HessianMetrics(run: run, hessian: h, blockNorms: blockNorms, noise: noise)
    }

    /// eigenvalues.csv: each eigenvalue, the gradient's component along its eigenvector and the
    /// largest share of a block in it.
    public var table: CSVTable {
        let h = hessian
        var table = CSVTable(header: ["index", "eigenvalue", "gradient_component", "top_block_share"])
        for j in 0..<h.entries.count { table.append([Double(j), h.eigenvalues[j], h.gradientComponents[j], h.mainBlocks(j, d: run.d).first?.share ?? 0]) }
        return table
    }

    /// The report `cotflow hessian` prints; `out` the directory written, if any.
    public func report(out: String?) -> String {
        let h = hessian, r = run, m = h.entries.count, ev = h.eigenvalues, along = h.gradientComponents
        let negative = h.negativeCount, nearZero = h.unresolvedCount
        func sharesText(_ j: Int) -> String { h.mainBlocks(j, d: r.d).map { "\($0.name) \(fmt(100 * $0.share))%" }.joined(separator: ", ") }
        var lines = [
            "\(r.objective.rawValue) loss at \(r.load.given) over \(r.prompts) fixed prompts, (d, n, k) = (\(r.d), \(r.n), \(r.k)), eta = \(r.eta)",
            "loss \(fmt(h.loss)); gradient norm \(fmt(h.gradientNorm)) over \(m) entries (\(r.params.rawValue))",
            "block norms (Frobenius): " + blockNorms.filter { $0.norm > 0 }.map { "\($0.name) \(fmt($0.norm))" }.joined(separator: ", "),
            "Hessian by central differences (h = \(r.differenceStep)); relative asymmetry \(fmt(h.relativeAsymmetry)), so eigenvalues within \(fmt(h.resolution)) of 0 are unresolved",
            "eigenvalues: \(negative) negative, \(nearZero) unresolved, \(m - negative - nearZero) positive; lowest "
                + ev.prefix(5).map(fmt).joined(separator: ", ") + "; highest " + ev.suffix(3).map(fmt).joined(separator: ", "),
            "lowest eigenvector lives in: \(sharesText(0)); gradient component along it \(fmt(along[0]))",
            "highest eigenvector lives in: \(sharesText(m - 1))",
        ]
        if let n = noise {
            let s = SampleSummary(n.norms)
            lines.append("gradient noise over \(r.batches) batches of \(r.batchSize): batch gradient norm median \(fmt(s.median)), p90 \(fmt(s.p90)), max \(fmt(n.norms.max()!)); "
                + "norm of their mean \(fmt(n.meanGradientNorm)); mean over entries of |E g| / sqrt(E g^2) (Adam's step / lr) \(fmt(n.adamRatio)), "
                + "with each batch gradient scaled to norm 1 \(fmt(n.clippedAdamRatio))")
        }
        if let out { lines.append("wrote \(out)/summary.json and \(out)/eigenvalues.csv") }
        return lines.joined(separator: "\n")
    }
}

/// What summary.json records of a Hessian measurement besides the run: the settings again (for
/// readers of the file), the loss, the spectrum, where its extreme eigenvectors live and the noise.
public struct HessianMetrics: Codable, Sendable {
    /// Written with the step size exact only (`"eta": "40/51"`).
    public var task: TaskRecord
    public var load: String
    public var objective: Objective
    public var params: TrainableSet
    public var prompts: Int
    public var differenceStep, loss, gradientNorm, relativeAsymmetry, resolution: Double
    public var negativeEigenvalues, nearZeroEigenvalues: Int
    public var eigenvalues, gradientComponents: [Double]
    /// Frobenius norms of the blocks (V11 ... W44), and the blocks' shares of the lowest and highest eigenvectors, in order.
    public var blockNorms, lowestEigenvectorBlocks, highestEigenvectorBlocks: NamedValues
    public var gradientNoise: Noise?

    /// Named numbers in a fixed order (a JSON object).
    public struct NamedValues: Codable, Sendable {
        public var pairs: [(name: String, value: Double)]
        public init(_ pairs: [(name: String, value: Double)]) { self.pairs = pairs }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyCodingKey.self)
            for (name, value) in pairs { try c.encode(value, forKey: AnyCodingKey(name)) }
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyCodingKey.self)
            pairs = try c.allKeys.map { ($0.stringValue, try c.decode(Double.self, forKey: $0)) }
        }
    }

    /// The gradient noise over independent batches.
    public struct Noise: Codable, Sendable {
        public var batches, batchSize: Int
        public var batchGradientNormMedian, batchGradientNormMax, meanGradientNorm, adamRatio, clippedAdamRatio: Double
        private enum CodingKeys: String, CodingKey {
            case batches, batchSize = "batch_size", batchGradientNormMedian = "batch_gradient_norm_median"
            case batchGradientNormMax = "batch_gradient_norm_max", meanGradientNorm = "mean_gradient_norm"
            case adamRatio = "adam_ratio", clippedAdamRatio = "clipped_adam_ratio"
        }
    }

    public init(run r: HessianRun, hessian h: FullBatchHessian, blockNorms: [(name: String, norm: Double)], noise: GradientNoise?) {
        let m = h.entries.count
        (task, load, objective, params, prompts) = (TaskRecord(r), r.load.given, r.objective, r.params, r.prompts)
        (differenceStep, loss, gradientNorm, relativeAsymmetry, resolution) = (r.differenceStep, h.loss, h.gradientNorm, h.relativeAsymmetry, h.resolution)
        (negativeEigenvalues, nearZeroEigenvalues, eigenvalues, gradientComponents) = (h.negativeCount, h.unresolvedCount, h.eigenvalues, h.gradientComponents)
        self.blockNorms = NamedValues(blockNorms.map { ($0.name, $0.norm) })
        lowestEigenvectorBlocks = NamedValues(h.mainBlocks(0, d: r.d).map { ($0.name, $0.share) })
        highestEigenvectorBlocks = NamedValues(h.mainBlocks(m - 1, d: r.d).map { ($0.name, $0.share) })
        gradientNoise = noise.map {
            Noise(batches: r.batches, batchSize: r.batchSize, batchGradientNormMedian: SampleSummary($0.norms).median,
                  batchGradientNormMax: $0.norms.max()!, meanGradientNorm: $0.meanGradientNorm, adamRatio: $0.adamRatio, clippedAdamRatio: $0.clippedAdamRatio)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case load, objective, params, prompts, differenceStep = "difference_step", loss, gradientNorm = "gradient_norm"
        case relativeAsymmetry = "relative_asymmetry", resolution, negativeEigenvalues = "negative_eigenvalues"
        case nearZeroEigenvalues = "near_zero_eigenvalues", eigenvalues, gradientComponents = "gradient_components", blockNorms = "block_norms"
        case lowestEigenvectorBlocks = "lowest_eigenvector_blocks", highestEigenvectorBlocks = "highest_eigenvector_blocks", gradientNoise = "gradient_noise"
    }

    public func encode(to encoder: Encoder) throws {
        try task.encode(to: encoder, eta: .exact)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(load, forKey: .load); try c.encode(objective, forKey: .objective); try c.encode(params, forKey: .params)
        try c.encode(prompts, forKey: .prompts); try c.encode(differenceStep, forKey: .differenceStep); try c.encode(loss, forKey: .loss)
        try c.encode(gradientNorm, forKey: .gradientNorm); try c.encode(relativeAsymmetry, forKey: .relativeAsymmetry)
        try c.encode(resolution, forKey: .resolution); try c.encode(negativeEigenvalues, forKey: .negativeEigenvalues)
        try c.encode(nearZeroEigenvalues, forKey: .nearZeroEigenvalues); try c.encode(eigenvalues, forKey: .eigenvalues)
        try c.encode(gradientComponents, forKey: .gradientComponents); try c.encode(blockNorms, forKey: .blockNorms)
        try c.encode(lowestEigenvectorBlocks, forKey: .lowestEigenvectorBlocks); try c.encode(highestEigenvectorBlocks, forKey: .highestEigenvectorBlocks)
        try c.encodeIfPresent(gradientNoise, forKey: .gradientNoise)
    }

    public init(from decoder: Decoder) throws {
        task = try TaskRecord(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys) throws -> T { try c.decode(T.self, forKey: key) }
        (load, objective, params, prompts, differenceStep, loss) = (try get(.load), try get(.objective), try get(.params), try get(.prompts), try get(.differenceStep), try get(.loss))
        (gradientNorm, relativeAsymmetry, resolution, negativeEigenvalues) = (try get(.gradientNorm), try get(.relativeAsymmetry), try get(.resolution), try get(.negativeEigenvalues))
        (nearZeroEigenvalues, eigenvalues, gradientComponents, blockNorms) = (try get(.nearZeroEigenvalues), try get(.eigenvalues), try get(.gradientComponents), try get(.blockNorms))
        (lowestEigenvectorBlocks, highestEigenvectorBlocks) = (try get(.lowestEigenvectorBlocks), try get(.highestEigenvectorBlocks))
        gradientNoise = try c.decodeIfPresent(Noise.self, forKey: .gradientNoise)
    }
}

extension Objective: Codable {}
