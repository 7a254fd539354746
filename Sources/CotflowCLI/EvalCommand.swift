import ArgumentParser
import CotflowExact
import CotflowPlot
import CotflowCore
import CotflowModel
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate trained (--load FILE) or constructed (--construction) parameters autoregressively over k steps.",
        discussion: "Reports the mean, median, 90th and 99th percentiles of E || w^_k - w* ||^2 over fresh prompts, the same for the exact GD chain on the same prompts, and the fraction of prompts whose chain diverges (eta * lambda_max(S) >= 2). Out of distribution: --spectrum, --condition-number or --covariance FILE set the covariance of x. With identity or a diagonal covariance (--spectrum, --condition-number) the exact population value of the GD chain is printed beside the Monte Carlo numbers."
    )

    @OptionGroup var task: TaskOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Parameter file written by `cotflow train` (parameters.json).") var load: String?
    @Flag(help: "Evaluate the construction of Theorem 3.2 (V31 = -eta I, W13 = I, W24 = -1).") var construction = false
    @Option(parsing: .unconditional, help: "Number of evaluation prompts.") var prompts = 10_000
    @Option(parsing: .unconditional, help: "Eigenvalues of a diagonal covariance of x: d comma-separated positive numbers.") var spectrum: String?
    @Option(name: .customLong("condition-number"), parsing: .unconditional, help: "Diagonal covariance with eigenvalues geometrically spaced from K^(-1/2) to K^(1/2).") var conditionNumber: Double?
    @Option(help: "JSON file with a d x d covariance (an array of d rows, or of d*d numbers).") var covariance: String?
    @Flag(help: "Render figure.svg/.png (sorted per-prompt losses of the transformer and the GD chain) with gnuplot into --out.")
    var plot = false

    func validate() throws {
        guard prompts >= 1, prompts <= 100_000_000 else { throw ValidationError("--prompts must be from 1 to 100000000 (got \(prompts))") }
        if let conditionNumber { guard conditionNumber.isFinite, conditionNumber >= 1, conditionNumber <= 1e14 else { throw ValidationError("--condition-number must be from 1 to 1e14, the most double precision can factor (got \(conditionNumber))") } }
        try checkingInput {
            try ResourceLimit.checkMemory(TrainingLimits.promptBytes(count: prompts, d: task.d, n: task.n, data: false) / 4
                                          + 8 * 16 * Double(2 * task.d + 2) * Double(2 * task.d + 2),
                                          what: "evaluation at --d \(task.d) --n \(task.n) with --prompts \(prompts)")
            try ResourceLimit.checkWork(Double(prompts) * TrainingLimits.promptOperations(d: task.d, n: task.n, k: task.k, data: false),
                                        what: "evaluation at --d \(task.d) --n \(task.n) --k \(task.k) with --prompts \(prompts)")
        }
        guard (load != nil) != construction else { throw ValidationError("give exactly one of --load FILE and --construction") }
        try output.checkPlot(plot)
        guard [spectrum != nil, conditionNumber != nil, covariance != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --spectrum, --condition-number and --covariance")
        }
    }

    func run() throws {
        let (d, n, k, eta) = try resolvedTask()
        let sigma = try covarianceMatrix(d: d)
        try output.prepare(files: ["summary.json", "per_prompt.csv"])
        let result = try reportingErrors { () throws -> EvaluationResult in
            let taskConfig = try TaskConfig(d: d, n: n, k: k, eta: eta.doubleValue, covariance: sigma)
            let parameters = try load.map { try TransformerParameters.load(from: $0) }
                ?? TransformerParameters.construction(d: d, eta: eta.doubleValue)
            guard parameters.d == d else {
                throw CotflowError.input("the parameters have d = \(parameters.d); pass --d \(parameters.d)")
            }
            return try evaluate(parameters, task: taskConfig, prompts: prompts, seed: task.seed)
        }
        // A non-finite loss is never a result: say which side overflowed.
        for (name, losses) in [("the transformer's", result.evalLosses), ("the GD chain's", result.chainLosses)] {
            let bad = losses.filter { !$0.isFinite }.count
            guard bad == 0 else {
                throw CotflowError("\(name) loss overflowed double precision on \(bad) of \(losses.count) prompts"
                    + " (\(load.map { "parameters from \($0)" } ?? "the construction") with eta = \(eta)): no finite result; "
                    + "use smaller parameters, a smaller --eta or a shorter --k")
            }
        }
        let model = SampleSummary(result.evalLosses)
        let chain = SampleSummary(result.chainLosses)
        let exactBounded = try exactGDReference(d: d, n: n, k: k, eta: eta)
        let exact = exactBounded?.value
        let settings: [(String, JSONValue)] = [("d", .int(d)), ("n", .int(n)), ("k", .int(k))] + etaFields(eta) + [
            ("seed", .int(Int(truncatingIfNeeded: task.seed))), ("load", load.map { .string($0) } ?? .null),
            ("construction", .bool(construction)), ("prompts", .int(prompts)),
            ("spectrum", spectrum.map { .string($0) } ?? .null), ("condition_number", conditionNumber.map { .number($0) } ?? .null),
            ("covariance", covariance.map { .string($0) } ?? .null),
        ]
        var pairs: [(String, JSONValue)] = Provenance(settings: settings).json + [
            ("d", .int(d)), ("n", .int(n)), ("k", .int(k))] + etaFields(eta) + [
            ("prompts", .int(prompts)), ("seed", .int(Int(truncatingIfNeeded: task.seed))),
            ("source", .string(load ?? "construction")), ("covariance", .string(covarianceDescription)),
            ("diverged_fraction", .number(result.divergedFraction)),
        ]
        pairs += model.json(prefix: "eval_loss_") + chain.json(prefix: "gd_loss_")
        if let exact { pairs += [("exact_gd_loss", .number(exact.doubleValue)), ("exact_gd_loss_rational", .string(exact.description))] }
        if let exactBounded { pairs.append(("exact_gd_loss_error_bound", .number(exactBounded.errorBound.doubleValue))) }
        let summary = JSONValue.object(pairs)
        try output.write(summary.rendered() + "\n", "summary.json")
        var table = CSVTable(header: ["prompt", "eval_loss", "gd_loss", "lambda_max", "chain_diverges"], integerColumns: ["prompt", "chain_diverges"])
        for i in result.evalLosses.indices {
            table.append([Double(i), result.evalLosses[i], result.chainLosses[i], result.lambdaMax[i], result.diverges[i] ? 1 : 0])
        }
        try output.write(table.text, "per_prompt.csv")
        var lines = [
            "evaluation of \(load ?? "the construction") over \(prompts) prompts, (d, n, k) = (\(d), \(n), \(k)), eta = \(eta), covariance \(covarianceDescription)",
            model.report(name: "transformer E||w^_k - w*||^2"),
            chain.report(name: "GD chain    E||w_k - w*||^2"),
            "prompts whose GD chain diverges (eta * lambda_max(S) >= 2): \(fmt(100 * result.divergedFraction))%",
        ]
        if let exact { lines.append("exact population value of the GD chain: \(fmt(exact.doubleValue)) (= \(exact.description.count > 60 ? "a rational, see --json" : exact.description))"
            + (exactBounded.map { $0.isExact ? "" : ", within \(String(format: "%.2g", $0.errorBound.doubleValue)) of the value at the real geometric spectrum" } ?? "")) }
        if let out = output.out { lines.append("wrote \(out)/summary.json and \(out)/per_prompt.csv" + (plot ? " and figure.*" : "")) }
        output.emit(json: summary, report: lines.joined(separator: "\n"))
        if plot {
            try renderFigure(Figures.evaluation(result, exactMean: exact?.doubleValue), name: "figure",
                             title: "evaluation of \(load.map { ($0 as NSString).lastPathComponent } ?? "the construction"), (d, n, k) = (\(d), \(n), \(k)), eta = \(eta), covariance \(covarianceDescription)",
                             output: output)
        }
    }

    /// d, n, k and eta: from the parameter file of --load where it records them (an option given
    /// on the command line wins, with a warning), else from the options.
    private func resolvedTask() throws -> (d: Int, n: Int, k: Int, eta: Rational) {
        var d = task.d, n = task.n, k = task.k
        var eta = try task.stepSize()
        guard let load else { return (d, n, k, eta) }
        let recorded = try ParameterFileTask.read(load)
        func pick(_ option: String, _ current: inout Int, _ fromFile: Int?) {
            guard let fromFile else { return }
            if optionGiven(option) {
                if fromFile != current { warn("--\(option) \(current) overrides \(option) = \(fromFile) recorded in \(load)") }
            } else {
                current = fromFile
            }
        }
        pick("d", &d, recorded.d)
        pick("n", &n, recorded.n)
        pick("k", &k, recorded.k)
        if let fileEta = recorded.eta {
            if optionGiven("eta") {
                if fileEta != eta { warn("--eta \(eta) overrides eta = \(fileEta) recorded in \(load)") }
            } else {
                eta = fileEta
            }
        } else if !optionGiven("eta") {
            eta = paperStepSize(n: n, d: d)
        }
        if recorded.n == nil || recorded.k == nil || recorded.eta == nil {
            warn("\(load) does not record n, k and eta (written by an older cotflow?): evaluating at n = \(n), k = \(k), eta = \(eta) from the options")
        }
        guard n >= 1, k >= 1, d >= 1 else { throw ValidationError("\(load): d, n and k must be at least 1 (got \(d), \(n), \(k))") }
        return (d, n, k, eta)
    }

    /// The exact GD-chain loss for the covariance sampled here: the identity, or a diagonal covariance.
    /// Nil for --covariance FILE and for chains beyond the exact limits.
    private func exactGDReference(d: Int, n: Int, k: Int, eta: Rational) throws -> BoundedValue? {
        guard covariance == nil else { return nil }
        var exactSpectrum: CovarianceSpectrum?
        if let kappa = conditionNumber {
            exactSpectrum = try CovarianceSpectrum.geometric(d: d, kappa: kappa)
        } else if spectrum != nil {
            let values = try covarianceMatrix(d: d) ?? []
            exactSpectrum = try CovarianceSpectrum((0..<d).map { Rational(exactly: values[$0 * d + $0]) })
        }
        return try gdChainReference(n: n, d: d, k: k, eta: eta, spectrum: exactSpectrum)
    }

    private var covarianceDescription: String {
        if let spectrum { return "diag(\(spectrum))" }
        if let conditionNumber { return "geometric spectrum, condition number \(conditionNumber)" }
        if let covariance { return "from \(covariance)" }
        return "identity"
    }

    /// The covariance of x (row-major d x d), or nil for the identity.
    private func covarianceMatrix(d: Int) throws -> [Double]? {
        func diagonal(_ values: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: d * d)
            for i in 0..<d { m[i * d + i] = values[i] }
            return m
        }
        if let spectrum {
            let values = spectrum.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count == d, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! > 0 }) else {
                throw ValidationError("--spectrum needs \(d) positive numbers (got '\(spectrum)')")
            }
            return diagonal(values.map { $0! })
        }
        if let kappa = conditionNumber {
            guard kappa.isFinite, kappa >= 1 else { throw ValidationError("--condition-number must be at least 1 (got \(kappa))") }
            return TaskConfig.geometricCovariance(d: d, kappa: kappa)
        }
        if let covariance {
            return try readCovariance(covariance, d: d)
        }
        return nil
    }
}

/// A d x d covariance from a JSON file (`CovarianceFile`).
func readCovariance(_ path: String, d: Int) throws -> [Double] { try CovarianceFile.read(path, d: d) }
