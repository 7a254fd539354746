import ArgumentParser
import CotflowExact
import CotflowCore
import CotflowModel
import Foundation

struct ExactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exact",
        abstract: "Exact population quantities (rational arithmetic over Wishart moments).",
        subcommands: [Moment.self, GDLoss.self, CoTLoss.self, EvalLoss.self, NoCoTOptimum.self]
    )

    /// Prints an exact rational result as text or as `{"value", "exact", ...}`.
    static func emit(_ value: Rational, quantity: String, extra: [(String, JSONValue)] = [], json: Bool, text: String) throws {
        guard value.doubleValue.isFinite else {
            throw CotflowError("the \(quantity) is exact but beyond the range of a double (|value| > 1.8e308): \(value.description.prefix(80))\(value.description.count > 80 ? "..." : ""); use smaller inputs")
        }
        if json {
            print(JSONValue.object([("cotflow_version", .string(cotflowVersion)), ("quantity", .string(quantity)), ("value", .number(value.doubleValue)),
                                    ("exact", .string(value.description))] + extra).rendered())
        } else {
            print(text)
        }
    }

    struct Moment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "E[prod_r tr W^{m_r}] for the real Wishart matrix W = X X^T ~ W_d(n, I); with --spectrum or --condition-number, E[prod_r tr (Sigma W)^{m_r}].")

        @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of the Wishart matrix (d x d).") var d: Int = 10
        @Option(name: .customLong("n"), parsing: .unconditional, help: "Degrees of freedom n (the number of columns of X).") var n: Int = 40
        @Option(parsing: .unconditional, help: "Comma-separated powers m_r, e.g. 2,3 for E[tr W^2 tr W^3].") var powers: String
        @OptionGroup var covariance: CovarianceSpectrumOptions
        @Flag(help: "Also print the moment as a polynomial in n and d (with a covariance: in n and p_r = tr Sigma^r).") var symbolic = false
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            try validateSizes(d: d, n: n)
            if covariance.given { return try runWithCovariance() }
            let list = try parsedPowers()
            let degree = list.reduce(0, +)
            guard degree <= ExactLimits.degree else {
                throw ValidationError("total degree \(degree) is above the supported \(ExactLimits.degree)")
            }
            let value = Rational(WishartMoments.shared(n: n, d: d).expectation(powers: list))
            let name = "E[" + list.map { "tr W^\($0)" }.joined(separator: " ") + "]"
            var extra: [(String, JSONValue)] = [("powers", .array(list.map { .int($0) })), ("d", .int(d)), ("n", .int(n))]
            var text = "\(name) at (d, n) = (\(d), \(n)): \(value)"
            if symbolic {
                let polynomial = WishartMoments.symbolicExpectation(powers: list)
                extra.append(("symbolic", .string(polynomial)))
                text += "\n\(name) = \(polynomial)"
            }
            try ExactCommand.emit(value, quantity: "moment", extra: extra, json: json, text: text)
        }

        private func parsedPowers() throws -> [Int] {
            let ms = powers.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !ms.isEmpty, ms.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--powers must be a comma-separated list of non-negative integers (got '\(powers)')")
            }
            // Each power is bounded before any sum, which then cannot overflow.
            guard ms.allSatisfy({ $0! <= ExactLimits.degree }) else {
                throw ValidationError("--powers: each power must be at most the supported total degree \(ExactLimits.degree) (got '\(powers)')")
            }
            return ms.map { $0! }
        }

        private func runWithCovariance() throws {
            guard let spectrum = try covariance.spectrum(d: d) else { return }
            let list = try parsedPowers()
            let degree = list.reduce(0, +)
            let nonzero = list.filter { $0 > 0 }
            let limit = nonzero.count <= 1 ? ExactLimits.covarianceDegree : ExactLimits.jointCovarianceDegree
            guard degree <= limit else {
                throw ValidationError("total degree \(degree) is above the supported \(limit) for \(nonzero.count <= 1 ? "a single trace" : "a product of traces") with a covariance")
            }
            if symbolic && degree > ExactLimits.symbolicCovarianceDegree {
                throw ValidationError("--symbolic with a covariance supports total degree up to \(ExactLimits.symbolicCovarianceDegree) (got \(degree))")
            }
            // tr (Sigma W)^0 = d; one trace of positive degree goes the zonal route, products the word recursion.
            var value = Rational(d).power(list.count - nonzero.count)
            if nonzero.count == 1 {
                value *= singleTraceCovarianceMoments(n: n, spectrum: spectrum, maxPower: nonzero[0])[nonzero[0]]
            } else if nonzero.count > 1 {
                value = covarianceMoment(powers: list, n: n, spectrum: spectrum)
            }
            let name = "E[" + list.map { "tr (Sigma W)^\($0)" }.joined(separator: " ") + "]"
            var extra: [(String, JSONValue)] = [("powers", .array(list.map { .int($0) })), ("d", .int(d)), ("n", .int(n)),
                                                ("covariance", .string(covariance.description))]
            var text = "\(name) at (d, n) = (\(d), \(n)), covariance \(covariance.description): "
            let exact = value.description
            text += "\(fmt(value.doubleValue))\n  exact: \(exact.count > 400 ? "a rational of \(exact.count) characters, see --json" : exact)"
            if !spectrum.relativeError.isZero {
                // Each moment is a polynomial with non-negative coefficients, homogeneous of the total degree.
                let bound = (value * ((Rational.one + spectrum.relativeError).power(degree) - .one)).doubleValue
                text += "\n  exact for the double eigenvalues eval samples; within \(String(format: "%.2g", bound)) of the value at the real geometric spectrum"
                extra.append(("error_bound", .number(bound)))
            }
            if symbolic {
                let polynomial = symbolicCovarianceMoment(powers: list).description
                extra.append(("symbolic", .string(polynomial)))
                text += "\n\(name) = \(polynomial)   (p_r = tr Sigma^r, d = p_0)"
            }
            try ExactCommand.emit(value, quantity: "moment", extra: extra, json: json, text: text)
        }
    }

    struct GDLoss: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gd-loss",
            abstract: "E || w_k - w* ||^2 = E tr (I - eta S)^{2k}: the evaluation loss of k exact GD steps.")

        @OptionGroup var task: ProblemOptions
        @OptionGroup var covariance: CovarianceSpectrumOptions
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            guard covariance.given || 2 * task.k <= ExactLimits.degree else {
                throw ValidationError("--k must be at most \(ExactLimits.degree / 2) for exact moments")
            }
        }

        func run() throws {
            let eta = try task.stepSize()
            if covariance.given { return try runWithCovariance(eta: eta) }
            let value = gdChainLoss(n: task.n, d: task.d, k: task.k, eta: eta)
            var text = "E || w_k - w* ||^2 at (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta): \(fmt(value.doubleValue))\n  exact: \(value)"
            // MODEL.md section 6: the mean of a GD chain grows with k once rare diverging prompts dominate.
            let previous = gdChainLoss(n: task.n, d: task.d, k: task.k - 1, eta: eta)
            let growing = task.k > 1 && value > previous
            if growing {
                text += "\n  warning: this mean is larger than at k - 1 (\(fmt(previous.doubleValue))): it is carried by the rare prompts with"
                    + " eta * lambda_max(S) > 2 whose chains diverge; see `cotflow eval --construction` for the median and tail"
            }
            try ExactCommand.emit(value, quantity: "gd-loss",
                              extra: [("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
                                      ("grows_with_k", .bool(growing))],
                              json: json, text: text)
        }

        /// Out of distribution: x ~ N(0, Sigma), w* ~ N(0, I), eta at its training value.
        private func runWithCovariance(eta: Rational) throws {
            guard let spectrum = try covariance.spectrum(d: task.d) else { return }
            guard 2 * task.k <= ExactLimits.covarianceDegree else {
                throw ValidationError("--k must be at most \(ExactLimits.covarianceDegree / 2) for exact moments with a covariance")
            }
            let moments = CovarianceTraceMoments(n: task.n, spectrum: spectrum, maxPower: 2 * task.k)
            let value = moments.expectedTrace(polynomial: gdChainErrorPolynomial(k: task.k, eta: eta))
            let previous = moments.expectedTrace(polynomial: gdChainErrorPolynomial(k: task.k - 1, eta: eta))
            // Growing with k (beyond both error bounds): the mean is carried by prompts whose chain diverges.
            let growing = task.k > 1 && value.value - value.errorBound > previous.value + previous.errorBound
            let fields = boundedFields(value)
            var text = "E || w_k - w* ||^2 at (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta), covariance \(covariance.description): \(fields.text)"
            if growing {
                text += "\n  warning: this mean is larger than at k - 1 (\(fmt(previous.value.doubleValue))): it is carried by the rare prompts with"
                    + " eta * lambda_max(S) > 2 whose chains diverge; see `cotflow eval --construction` with the same covariance for the median and tail"
            }
            try ExactCommand.emit(value.value, quantity: "gd-loss",
                              extra: [("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
                                      ("covariance", .string(covariance.description)), ("grows_with_k", .bool(growing))] + fields.json,
                              json: json, text: text)
        }
    }

    struct CoTLoss: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cot-loss",
            abstract: "The reduced population CoT loss L(v, w) with V31 = diag(v), W13 = diag(w), W24 = -1.")

        @OptionGroup var task: ProblemOptions
        @Option(parsing: .unconditional, help: "Eigenvalues of V31: d comma-separated numbers (decimals or rationals), or one for all.") var v: String
        @Option(parsing: .unconditional, help: "Eigenvalues of W13: d comma-separated numbers, or one for all.") var w: String
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            try checkingInput { try ReducedLoss.checkSize(k: task.k) }
        }

        func run() throws {
            let eta = try task.stepSize()
            let vs = try broadcast(parseRationalList(v, name: "--v"), name: "--v")
            let ws = try broadcast(parseRationalList(w, name: "--w"), name: "--w")
            let value = try reportingErrors {
                try ReducedLoss(n: task.n, d: task.d, k: task.k, eta: eta).exactLoss(v: vs, w: ws)
            }
            try ExactCommand.emit(value, quantity: "cot-loss",
                              extra: [("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta),
                              json: json,
                              text: "L_CoT(v, w) at (d, n, k) = (\(task.d), \(task.n), \(task.k)), eta = \(eta): \(fmt(value.doubleValue))\n  exact: \(value)")
        }

        private func broadcast(_ values: [Rational], name: String) throws -> [Rational] {
            if values.count == task.d { return values }
            if values.count == 1 { return Array(repeating: values[0], count: task.d) }
            throw ValidationError("\(name) needs \(task.d) values (one per dimension) or a single value (got \(values.count))")
        }
    }

    struct NoCoTOptimum: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nocot-optimum",
            abstract: "Best evaluation loss without CoT, min_c E tr (I - c S)^2 = d(d+1)/(n+d+1) (Theorem 3.1).")

        @Option(name: .customLong("d"), parsing: .unconditional, help: "Dimension d of x and w*.") var d: Int = 10
        @Option(name: .customLong("n"), parsing: .unconditional, help: "Context length n (examples per prompt).") var n: Int = 40
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            try validateSizes(d: d, n: n)
            let value = noCoTOptimum(n: n, d: d), step = noCoTOptimalStep(n: n, d: d)
            try ExactCommand.emit(value, quantity: "nocot-optimum",
                              extra: [("d", .int(d)), ("n", .int(n)), ("optimal_step", .string(step.description))],
                              json: json,
                              text: "no-CoT optimum at (d, n) = (\(d), \(n)): \(fmt(value.doubleValue)) = \(value), at step \(step)")
        }
    }
}

/// --d and --n of the exact commands that do not take the whole task.
private func validateSizes(d: Int, n: Int) throws {
    guard d >= 1, d <= ProblemOptions.maximumD else { throw ValidationError("--d must be from 1 to \(ProblemOptions.maximumD) (got \(d))") }
    guard n >= 1, n <= ProblemOptions.maximumN else { throw ValidationError("--n must be from 1 to \(ProblemOptions.maximumN) (got \(n))") }
}
