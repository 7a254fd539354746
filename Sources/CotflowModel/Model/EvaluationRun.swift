import CotflowCore
import CotflowExact
import Foundation

/// An evaluation as a value (`cotflow eval`): trained (a parameter file) or constructed
/// parameters run autoregressively over k steps on fresh prompts, beside the exact GD chain.
/// Building it resolves every default (d, n, k and eta from the parameter file where it records
/// them and no option was given); nothing runs until `solve`.
public struct EvaluationRun: RecordableRun, TaskRun {
    public static let computation = "eval"

    public var d, n, k: Int
    /// The GD step size, exact.
    public var eta: Rational
    public var seed: UInt64
    /// A parameter file written by `cotflow train`, or nil for the construction of Theorem 3.2.
    public var load: InputFile?
    public var prompts: Int
    public var covariance: EvaluationCovariance
    /// What resolving the task from the parameter file noticed (not recorded).
    public private(set) var warnings: [String] = []

    /// The covariance of x.
    public enum EvaluationCovariance: Codable, Sendable, Equatable, CustomStringConvertible {
        case identity
        /// Eigenvalues of a diagonal covariance, as given: d comma-separated positive numbers.
        case spectrum(String)
        /// Geometric eigenvalues from K^(-1/2) to K^(1/2).
        case conditionNumber(Double)
        /// A JSON file with a d x d covariance (an array of d rows, or of d*d numbers).
        case file(InputFile)

        public var description: String {
            switch self {
            case .identity: return "identity"
            case .spectrum(let text): return "diag(\(text))"
            case .conditionNumber(let kappa): return "geometric spectrum, condition number \(kappa)"
            case .file(let file): return "from \(file.given)"
            }
        }
    }

    /// nil takes the value recorded in the parameter file of `load`, else the default (the task
    /// of `TrainingConfig.defaultTask()`, eta the paper's n/(n+d+1)); a value given that differs
    /// from the file's wins, with a warning.
    public init(d: Int? = nil, n: Int? = nil, k: Int? = nil, eta: Rational? = nil, seed: UInt64 = 0, load: InputFile? = nil,
                prompts: Int = 10_000, covariance: EvaluationCovariance = .identity) throws {
        let defaults = TrainingConfig.defaultTask()
        (self.seed, self.load, self.prompts, self.covariance) = (seed, load, prompts, covariance)
        guard let load else {
            (self.d, self.n, self.k) = (d ?? defaults.d, n ?? defaults.n, k ?? defaults.k)
            self.eta = eta ?? paperStepSize(n: self.n, d: self.d)
            return
        }
        let recorded = try ParameterFileTask.read(load.path)
        var warnings: [String] = []
        func pick<T: Equatable & CustomStringConvertible>(_ name: String, _ given: T?, _ fromFile: T?, _ fallback: @autoclosure () -> T) -> T {
            if let given, let fromFile, given != fromFile { warnings.append("--\(name) \(given) overrides \(name) = \(fromFile) recorded in \(load.given)") }
            return given ?? fromFile ?? fallback()
        }
        self.d = pick("d", d, recorded.d, defaults.d)
        self.n = pick("n", n, recorded.n, defaults.n)
        self.k = pick("k", k, recorded.k, defaults.k)
        self.eta = pick("eta", eta, recorded.eta, paperStepSize(n: self.n, d: self.d))
        if recorded.n == nil || recorded.k == nil || recorded.eta == nil {
            warnings.append("\(load.given) does not record n, k and eta (written by an older cotflow?): evaluating at n = \(self.n), k = \(self.k), eta = \(self.eta) from the options")
        }
        guard self.n >= 1, self.k >= 1, self.d >= 1 else {
            throw CotflowError.input("\(load.given): d, n and k must be at least 1 (got \(self.d), \(self.n), \(self.k))")
        }
        self.warnings = warnings
    }

    private enum CodingKeys: String, CodingKey { case d, n, k, eta, seed, load, prompts, covariance }

    /// The sizes, the covariance and the memory and work of the evaluation (before any allocation).
    public func validate() throws {
        try TaskLimits.check(d: d, n: n, k: k)
        guard (1...100_000_000).contains(prompts) else { throw CotflowError.input("--prompts must be from 1 to 100000000 (got \(prompts))") }
        if case .conditionNumber(let kappa) = covariance, !(kappa.isFinite && kappa >= 1 && kappa <= 1e14) {
            throw CotflowError.input("--condition-number must be from 1 to 1e14, the most double precision can factor (got \(kappa))")
        }
        if case .spectrum = covariance { _ = try covarianceMatrix() }
        try ResourceLimit.checkMemory(TrainingLimits.promptBytes(count: prompts, d: d, n: n, data: false) / 4 + 8 * 16 * Double(2 * d + 2) * Double(2 * d + 2),
                                      what: "evaluation at --d \(d) --n \(n) with --prompts \(prompts)")
        try estimate().check(what: "evaluation at --d \(d) --n \(n) --k \(k) with --prompts \(prompts)", lower: "--k, --prompts or --d")
    }

    /// The covariance of x (row-major d x d), or nil for the identity.
    public func covarianceMatrix() throws -> [Double]? {
        func diagonal(_ values: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: d * d)
            for i in 0..<d { m[i * d + i] = values[i] }
            return m
        }
        switch covariance {
        case .identity: return nil
        case .spectrum(let text):
            let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == d, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! > 0 }) else {
                throw CotflowError.input("--spectrum needs \(d) positive numbers (got '\(text)')")
            }
            return diagonal(values.map { $0! })
        case .conditionNumber(let kappa): return TaskConfig.geometricCovariance(d: d, kappa: kappa)
        case .file(let file): return try Self.readCovariance(file, d: d)
        }
    }

    /// Evaluates; a loss that overflows double precision is an error naming the side that overflowed.
    /// `progress(phase, done, total)` names the phases of `estimate()` as they run (from any thread).
    public func solve(progress: (@Sendable (String, Int, Int) -> Void)? = nil) throws -> EvaluationOutcome {
        try validate()
        let task = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue, covariance: try covarianceMatrix())
        let parameters = try load.map { try TransformerParameters.load(from: $0.path) } ?? TransformerParameters.construction(d: d, eta: eta.doubleValue)
        guard parameters.d == d else { throw CotflowError.input("the parameters have d = \(parameters.d); pass --d \(parameters.d)") }
        // Where the transformer's chain costs far more than drawing the prompts again, the GD
        // chains are checked first: an overflow there leaves no finite result to report.
        if checksChainsFirst {
            let overflowed = chainOverflowCount(task: task, prompts: prompts, seed: seed) { progress?("GD chains", $0, prompts) }
            guard overflowed == 0 else {
                throw CotflowError.input("the GD chain's loss overflows double precision on \(overflowed) of \(prompts) prompts at k = \(k) with eta = \(eta) "
                    + "(|1 - eta lambda| > 1 for a large eigenvalue lambda of S, raised to the power 2k), found from the chains before the transformer's "
                    + "\(k)-step evaluation: no finite result; use a shorter --k or a smaller --eta")
            }
        }
        let result = try evaluate(parameters, task: task, prompts: prompts, seed: seed) { progress?("evaluation", $0, prompts) }
        for (name, losses) in [("the transformer's", result.evalLosses), ("the GD chain's", result.chainLosses)] {
            let bad = losses.filter { !$0.isFinite }.count
            guard bad == 0 else {
                throw CotflowError("\(name) loss overflowed double precision on \(bad) of \(losses.count) prompts"
                    + " (\(load.map { "parameters from \($0.given)" } ?? "the construction") with eta = \(eta)): no finite result; "
                    + "use smaller parameters, a smaller --eta or a shorter --k")
            }
        }
        if hasExactReference { progress?("exact GD reference", 0, 1) }
        return EvaluationOutcome(run: self, result: result, exact: try exactGDReference())
    }

    /// True where the exact GD-chain value is computed beside the samples (the identity or a
    /// diagonal covariance, within the exact limits).
    var hasExactReference: Bool {
        if case .file = covariance { return false }
        return 2 * k <= (covariance == .identity ? ExactLimits.degree : ExactLimits.covarianceDegree)
    }

    /// True where the transformer's chain costs more than 10 x drawing the prompts: the GD chains
    /// are then computed alone first (`chainOverflowCount`), so that an overflow is refused early.
    public var checksChainsFirst: Bool {
        KernelWork.objective(.eval, d: d, n: n, k: k, gradient: false) > 10 * KernelWork.sampling(d: d, n: n, k: k, data: false)
    }

    /// The exact GD-chain loss for the covariance sampled: the identity, or a diagonal covariance.
    /// Nil for a covariance file and for chains beyond the exact limits.
    private func exactGDReference() throws -> BoundedValue? {
        var spectrum: CovarianceSpectrum?
        switch covariance {
        case .identity: break
        case .file: return nil
        case .conditionNumber(let kappa): spectrum = try CovarianceSpectrum.geometric(d: d, kappa: kappa)
        case .spectrum:
            let values = try covarianceMatrix() ?? []
            spectrum = try CovarianceSpectrum((0..<d).map { Rational(exactly: values[$0 * d + $0]) })
        }
        return try gdChainReference(n: n, d: d, k: k, eta: eta, spectrum: spectrum)
    }

    /// A d x d covariance from a JSON file (`CovarianceFile`: every refusal names the file).
    public static func readCovariance(_ file: InputFile, d: Int) throws -> [Double] {
        try CovarianceFile.read(file.path, name: file.given, d: d)
    }
}

/// A solved evaluation: the per-prompt losses, their summaries, the exact reference and the
/// metrics summary.json records.
public struct EvaluationOutcome: Sendable {
    public let run: EvaluationRun
    public let result: EvaluationResult
    public let model, chain: SampleSummary
    public let exact: BoundedValue?
    public let metrics: EvaluationMetrics
    public var status: RunStatus { .completed }

    public init(run: EvaluationRun, result: EvaluationResult, exact: BoundedValue?) {
        (self.run, self.result, self.exact) = (run, result, exact)
        (model, chain) = (SampleSummary(result.evalLosses), SampleSummary(result.chainLosses))
        metrics = EvaluationMetrics(run: run, divergedFraction: result.divergedFraction, model: LossStatistics(model),
                                    chain: LossStatistics(chain), exact: exact)
    }

    /// per_prompt.csv: each prompt's losses, lambda_max(S) and whether its GD chain diverges.
    public var table: CSVTable {
        var table = CSVTable(header: ["prompt", "eval_loss", "gd_loss", "lambda_max", "chain_diverges"], integerColumns: ["prompt", "chain_diverges"])
        for i in result.evalLosses.indices {
            table.append([Double(i), result.evalLosses[i], result.chainLosses[i], result.lambdaMax[i], result.diverges[i] ? 1 : 0])
        }
        return table
    }

    /// The report `cotflow eval` prints; `out` the directory written, if any, `plotted` with figure.*.
    public func report(out: String?, plotted: Bool) -> String {
        let (d, n, k, eta) = (run.d, run.n, run.k, run.eta)
        var lines = [
            "evaluation of \(run.load?.given ?? "the construction") over \(run.prompts) prompts, (d, n, k) = (\(d), \(n), \(k)), eta = \(eta), covariance \(run.covariance)",
            model.report(name: "transformer E||w^_k - w*||^2"),
            chain.report(name: "GD chain    E||w_k - w*||^2"),
            "prompts whose GD chain diverges (eta * lambda_max(S) >= 2): \(fmt(100 * result.divergedFraction))%",
        ]
        // The two samples are one quantity on the same prompts: say how far apart they are.
        let relative = zip(result.evalLosses, result.chainLosses).map { abs($0 - $1) / max(abs($1), .leastNormalMagnitude) }.max() ?? .nan
        lines.append("the same quantity on the same prompts (the GD chain is what the construction computes): largest relative difference per prompt \(String(format: "%.2g", relative)), "
            + "medians \(fmt(model.median)) and \(fmt(chain.median)) (difference \(String(format: "%.2g", model.median - chain.median)))"
            + (exact != nil ? "; the exact value below is the population mean of the same quantity for the GD chain" : ""))
        if let exact {
            let value = exact.value
            lines.append("exact population value of the GD chain: \(fmt(value.doubleValue)) (= \(value.description.count > 60 ? "a rational, see --json" : value.description))"
                + (exact.isExact ? "" : ", within \(String(format: "%.2g", exact.errorBound.doubleValue)) of the value at the real geometric spectrum"))
        }
        if let out { lines.append("wrote \(out)/summary.json and \(out)/per_prompt.csv" + (plotted ? " and figure.*" : "")) }
        return lines.joined(separator: "\n")
    }
}

/// What summary.json records of an evaluation besides the run: the task again (for readers of the
/// file), the source and covariance in words, the sampled losses and the exact GD-chain value.
public struct EvaluationMetrics: Codable, Sendable {
    /// Written with `prompts` before the seed.
    public var task: TaskRecord
    public var prompts: Int
    /// The parameter file as given, or "construction".
    public var source: String
    public var covariance: String
    public var divergedFraction: Double
    public var evalLoss, gdLoss: LossStatistics
    /// The exact population value of the GD chain (nil beyond the exact limits or with a covariance file).
    public var exactGDLoss: Double?
    public var exactGDLossRational: String?
    public var exactGDLossErrorBound: Double?

    public init(run: EvaluationRun, divergedFraction: Double, model: LossStatistics, chain: LossStatistics, exact: BoundedValue?) {
        (task, prompts) = (TaskRecord(run), run.prompts)
        (source, covariance, self.divergedFraction, evalLoss, gdLoss) = (run.load?.given ?? "construction", run.covariance.description, divergedFraction, model, chain)
        (exactGDLoss, exactGDLossRational, exactGDLossErrorBound) = (exact?.value.doubleValue, exact?.value.description, exact?.errorBound.doubleValue)
    }

    private enum CodingKeys: String, CodingKey {
        case prompts, source, covariance, divergedFraction = "diverged_fraction"
        case exactGDLoss = "exact_gd_loss", exactGDLossRational = "exact_gd_loss_rational", exactGDLossErrorBound = "exact_gd_loss_error_bound"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try task.encode(to: encoder, eta: .numberAndExact) { try c.encode(prompts, forKey: .prompts) }
        try c.encode(source, forKey: .source); try c.encode(covariance, forKey: .covariance)
        try c.encode(divergedFraction, forKey: .divergedFraction)
        try evalLoss.encode(to: encoder, prefix: "eval_loss_")
        try gdLoss.encode(to: encoder, prefix: "gd_loss_")
        // The exact value is absent (not null) where there is none.
        if let exactGDLoss, let exactGDLossRational {
            try c.encode(exactGDLoss, forKey: .exactGDLoss); try c.encode(exactGDLossRational, forKey: .exactGDLossRational)
        }
        if let exactGDLossErrorBound { try c.encode(exactGDLossErrorBound, forKey: .exactGDLossErrorBound) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        (task, prompts) = (try TaskRecord(from: decoder), try c.decode(Int.self, forKey: .prompts))
        (source, covariance) = (try c.decode(String.self, forKey: .source), try c.decode(String.self, forKey: .covariance))
        divergedFraction = try c.decode(Double.self, forKey: .divergedFraction)
        (evalLoss, gdLoss) = (try LossStatistics(from: decoder, prefix: "eval_loss_"), try LossStatistics(from: decoder, prefix: "gd_loss_"))
        exactGDLoss = try c.decodeIfPresent(Double.self, forKey: .exactGDLoss)
        exactGDLossRational = try c.decodeIfPresent(String.self, forKey: .exactGDLossRational)
        exactGDLossErrorBound = try c.decodeIfPresent(Double.self, forKey: .exactGDLossErrorBound)
    }
}
