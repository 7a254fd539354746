import ArgumentParser
import CotflowExact
import CotflowCore
import Foundation

struct ExactCommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "exact",
        abstract: "Exact population quantities (rational arithmetic over Wishart moments).",
        subcommands: [Moment.self, GDLoss.self, CoTLoss.self, EvalLoss.self, NoCoTOptimum.self]
    )

    /// Prints an exact result as text or as its JSON.
    static func emit(_ result: ExactValue, json: Bool) throws {
        print(json ? try JSONValue.encoding(result).rendered() : result.text)
    }

    struct Moment: CotflowCommand {
        static let configuration = CommandConfiguration(
            abstract: "E[prod_r tr W^{m_r}] for the real Wishart matrix W = X X^T ~ W_d(n, I); with --spectrum or --condition-number, E[prod_r tr (Sigma W)^{m_r}].")

        @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of the Wishart matrix (d x d).") var d: Int = 10
        @Option(name: .customLong("n"), parsing: .unconditional, help: "Degrees of freedom n (the number of columns of X).") var n: Int = 40
        @Option(parsing: .unconditional, help: "Comma-separated powers m_r, e.g. 2,3 for E[tr W^2 tr W^3].") var powers: String
        @OptionGroup var covariance: CovarianceSpectrumOptions
        @Flag(help: "Also print the moment as a polynomial in n and d (with a covariance: in n and p_r = tr Sigma^r).") var symbolic = false
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var estimate: EstimateFlag

        func moment() throws -> MomentRun {
            let ms = powers.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !ms.isEmpty, ms.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--powers must be a comma-separated list of non-negative integers (got '\(powers)')")
            }
            return MomentRun(d: d, n: n, powers: ms.map { $0! }, covariance: covariance.choice, symbolic: symbolic)
        }
        func validate() throws { try checkingInput { try moment().validate() } }
        func run() throws {
            if try estimate.print(try moment().estimate(), what: "exact moment", json: json) { return }
            try ExactCommand.emit(try moment().solve(), json: json)
        }
    }

    struct GDLoss: CotflowCommand {
        static let configuration = CommandConfiguration(
            commandName: "gd-loss",
            abstract: "E || w_k - w* ||^2 = E tr (I - eta S)^{2k}: the evaluation loss of k exact GD steps.")

        @OptionGroup var task: ProblemOptions
        @OptionGroup var covariance: CovarianceSpectrumOptions
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var estimate: EstimateFlag

        func loss() throws -> GDLossRun { GDLossRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), covariance: covariance.choice) }
        func validate() throws { try checkingInput { try loss().validate() } }
        func run() throws {
            if try estimate.print(try loss().estimate(), what: Self.configuration.commandName ?? "exact", json: json) { return }
            try ExactCommand.emit(try loss().solve(), json: json)
        }
    }

    struct CoTLoss: CotflowCommand {
        static let configuration = CommandConfiguration(
            commandName: "cot-loss",
            abstract: "The reduced population CoT loss L(v, w) with V31 = diag(v), W13 = diag(w), W24 = -1.")

        @OptionGroup var task: ProblemOptions
        @Option(parsing: .unconditional, help: "Eigenvalues of V31: d comma-separated numbers (decimals or rationals), or one for all.") var v: String
        @Option(parsing: .unconditional, help: "Eigenvalues of W13: d comma-separated numbers, or one for all.") var w: String
        @Flag(help: "Print one JSON object.") var json = false
        @Flag(help: "No progress bar on stderr.") var quiet = false
        @OptionGroup var estimate: EstimateFlag

        func loss() throws -> CoTLossRun {
            CoTLossRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), v: try Rational.parseList(v, name: "--v"), w: try Rational.parseList(w, name: "--w"))
        }
        func validate() throws { try checkingInput { try loss().validate() } }
        func run() throws {
            if try estimate.print(try loss().estimate(), what: Self.configuration.commandName ?? "exact", json: json) { return }
            let value: ExactValue = try {
                let bar = Progress(total: 2 * task.k, label: "exact cot-loss", unit: "moment degrees", enabled: !json && !quiet)
                defer { bar.finish() }
                return try loss().solve(progress: bar.report)
            }()
            try ExactCommand.emit(value, json: json)
        }
    }

    struct EvalLoss: CotflowCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval-loss",
            abstract: "Exact evaluation loss E || w^_k - w* ||^2 of reduced parameters V31 = v I, W13 = w I, W24 = u run autoregressively, in or out of distribution.",
            discussion: "The chain is w^_{i+1} = (I + v w S) w^_i + v u S w* from w^_0 = 0, with x ~ N(0, Sigma) and w* ~ N(0, I) as in `cotflow eval`. (v, w, u) = (-eta, 1, -1) is the construction (k GD steps). Use it on a flow's end point with equal eigenvalues.")

        @OptionGroup var task: ProblemOptions
        @OptionGroup var covariance: CovarianceSpectrumOptions
        @Option(parsing: .unconditional, help: "Eigenvalue v of V31 (all equal), a decimal or rational. Default: the construction's -eta.") var v: String?
        @Option(parsing: .unconditional, help: "Eigenvalue w of W13 (all equal). Default 1.") var w: String?
        @Option(parsing: .unconditional, help: "W24 = u. Default -1 (the value the paper's theory fixes).") var u: String?
        @Option(name: .customLong("from"), help: "summary.json of `cotflow ode`: evaluate its end point (v, w and, if recorded, u; the eigenvalues must be equal). The doubles are taken exactly.")
        var from: String?
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var estimate: EstimateFlag

        func validate() throws {
            if from != nil, v != nil || w != nil { throw ValidationError("give --from FILE or --v/--w, not both") }
            try checkingInput { try EvalLossRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), covariance: covariance.choice).validate() }
        }

        func run() throws {
            func parse(_ text: String?, _ name: String) throws -> Rational? {
                guard let text else { return nil }
                guard let r = Rational.parse(text) else { throw ValidationError("\(name) must be a decimal or a rational (got '\(text)')") }
                return r
            }
            var (vv, ww, uu) = (try parse(v, "--v"), try parse(w, "--w") ?? .one, try parse(u, "--u") ?? Rational(-1))
            if let from { (vv, ww, uu) = try EvalLossRun.endPoint(InputFile(from), d: task.d, u: try parse(u, "--u")) }
            let loss = EvalLossRun(d: task.d, n: task.n, k: task.k, eta: try task.stepSize(), v: vv, w: ww, u: uu, covariance: covariance.choice)
            if estimate.print(loss.estimate(), what: "exact eval-loss", json: json) { return }
            try ExactCommand.emit(try loss.solve(), json: json)
        }
    }

    struct NoCoTOptimum: CotflowCommand {
        static let configuration = CommandConfiguration(
            commandName: "nocot-optimum",
            abstract: "Best evaluation loss without CoT, min_c E tr (I - c S)^2 = d(d+1)/(n+d+1) (Theorem 3.1).")

        @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of x and w*.") var d: Int = 10
        @Option(name: .customLong("n"), parsing: .unconditional, help: "Context length n (examples per prompt).") var n: Int = 40
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var estimate: EstimateFlag

        func validate() throws { try checkingInput { try NoCoTOptimumRun(d: d, n: n).validate() } }
        func run() throws {
            if estimate.print(NoCoTOptimumRun(d: d, n: n).estimate(), what: "exact nocot-optimum", json: json) { return }
            try ExactCommand.emit(try NoCoTOptimumRun(d: d, n: n).solve(), json: json)
        }
    }
}

/// The covariance of x for exact out-of-distribution quantities (MODEL.md sections 7 and 9).
struct CovarianceSpectrumOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Eigenvalues of the covariance of x: d comma-separated positive numbers, decimals or rationals (taken exactly).")
    var spectrum: String?

    @Option(name: .customLong("condition-number"), parsing: .unconditional,
            help: "Geometric spectrum from K^(-1/2) to K^(1/2), the doubles `cotflow eval --condition-number K` samples from (exact for those; the bound to the real K^(...) is printed).")
    var conditionNumber: Double?

    func validate() throws {
        guard spectrum == nil || conditionNumber == nil else { throw ValidationError("give at most one of --spectrum and --condition-number") }
    }

    /// The covariance given, nil for the identity.
    var choice: ExactCovariance? { spectrum.map { .spectrum($0) } ?? conditionNumber.map { .conditionNumber($0) } }
}

/// `--estimate` of the exact commands (the others have it in `OutputOptions`).
struct EstimateFlag: ParsableArguments {
    @Flag(help: "Print the estimated work and time on this machine (from a short measurement of its rates) and exit without computing; with --json as one JSON object.")
    var estimate = false

    /// With --estimate: prints the estimate and returns true.
    func print(_ work: @autoclosure () throws -> WorkEstimate, what: String, json: Bool) rethrows -> Bool {
        guard estimate else { return false }
        Swift.print(try work().printed(what: what, json: json))
        return true
    }
}
