import CotflowCore
import Foundation

// The exact quantities of `cotflow exact` as values: each run holds its settings, `validate()`
// checks them against `ExactLimits` before any work, and `solve()` gives an `ExactValue` (the
// rational, the settings beside it and its report).

/// The covariance of x for exact out-of-distribution quantities (MODEL.md sections 7 and 9).
public enum ExactCovariance: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Eigenvalues as given: d comma-separated positive numbers, decimals or rationals (taken exactly).
    case spectrum(String)
    /// The geometric spectrum from K^(-1/2) to K^(1/2) in the doubles `cotflow eval --condition-number K` samples.
    case conditionNumber(Double)

    /// The spectrum at dimension d.
    public func spectrum(d: Int) throws -> CovarianceSpectrum {
        switch self {
        case .spectrum(let text):
            let values = try Rational.parseList(text, name: "--spectrum")
            guard values.count == d else {
                throw CotflowError.input("--spectrum needs d = \(d) eigenvalues (got \(values.count)); pass --d \(values.count) or list \(d) values")
            }
            guard values.allSatisfy({ $0 > .zero }) else { throw CotflowError.input("--spectrum entries must be positive (got '\(text)')") }
            return try CovarianceSpectrum(values)
        case .conditionNumber(let kappa):
            guard kappa.isFinite, kappa >= 1 else { throw CotflowError.input("--condition-number must be at least 1 (got \(kappa))") }
            return try CovarianceSpectrum.geometric(d: d, kappa: kappa)
        }
    }

    public var description: String {
        switch self {
        case .spectrum(let text): return "diag(\(text))"
        case .conditionNumber(let kappa): return "geometric spectrum, condition number \(fmt(kappa))"
        }
    }
}

extension Rational {
    /// A comma-separated list of exact numbers ("-20/31,0.5,1"); `name` names the option in errors.
    public static func parseList(_ text: String, name: String) throws -> [Rational] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard let r = Rational.parse(String(item)) else {
                throw CotflowError.input("\(name) must be a comma-separated list of numbers (bad entry '\(item)')")
            }
            return r
        }
    }
}

/// An exact quantity with the settings it was computed at: `--json` of `cotflow exact` is its
/// encoding (absent settings left out), `text` its report.
public struct ExactValue: Encodable, Sendable {
    public var quantity: String
    public var value: Rational
    public var powers: [Int]?
    public var d, n: Int
    public var k: Int?
    public var eta, optimalStep, v, w, u: Rational?
    public var covariance: String?
    public var growsWithK: Bool?
    public var errorBound: Double?
    public var symbolic: String?
    /// The report for people.
    public var text = ""

    public init(_ quantity: String, value: Rational, d: Int, n: Int) throws {
        guard value.doubleValue.isFinite else {
            let s = value.description
            throw CotflowError("the \(quantity) is exact but beyond the range of a double (|value| > 1.8e308): \(s.prefix(80))\(s.count > 80 ? "..." : ""); use smaller inputs")
        }
        (self.quantity, self.value, self.d, self.n) = (quantity, value, d, n)
    }

    private enum CodingKeys: String, CodingKey {
        case cotflowVersion = "cotflow_version", quantity, value, exact, powers, d, n, k, eta, etaExact = "eta_exact"
        case optimalStep = "optimal_step", v, w, u, covariance, growsWithK = "grows_with_k", errorBound = "error_bound", symbolic
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cotflowVersion, forKey: .cotflowVersion); try c.encode(quantity, forKey: .quantity)
        try c.encode(value.doubleValue, forKey: .value); try c.encode(value.description, forKey: .exact)
        if let powers { try c.encode(powers, forKey: .powers) }
        try c.encode(d, forKey: .d); try c.encode(n, forKey: .n)
        if let k { try c.encode(k, forKey: .k) }
        if let eta { try c.encode(eta.doubleValue, forKey: .eta); try c.encode(eta.description, forKey: .etaExact) }
        for (key, r) in [(CodingKeys.optimalStep, optimalStep), (.v, v), (.w, w), (.u, u)] { if let r { try c.encode(r.description, forKey: key) } }
        if let covariance { try c.encode(covariance, forKey: .covariance) }
        if let growsWithK { try c.encode(growsWithK, forKey: .growsWithK) }
        if let errorBound { try c.encode(errorBound, forKey: .errorBound) }
        if let symbolic { try c.encode(symbolic, forKey: .symbolic) }
    }
}

extension BoundedValue {
    /// The value and, when the spectrum's doubles stand for real eigenvalues, its bound, as reported.
    public var reportText: String {
        if isExact {
            let exact = value.description
            return "\(fmt(value.doubleValue))\n  exact: \(exact.count > 400 ? "a rational of \(exact.count) characters, see --json" : exact)"
        }
        return "\(fmt(value.doubleValue)) (exact for the spectrum's double eigenvalues; within \(String(format: "%.2g", errorBound.doubleValue)) of the value at the real geometric spectrum)"
    }
}

/// d and n of the exact commands that do not take the whole task.
private func checkSizes(d: Int, n: Int) throws { try TaskLimits.check(d: d, n: n) }

/// `exact moment`: E[prod_r tr W^{m_r}] for W = X X^T ~ W_d(n, I), or with a covariance E[prod_r tr (Sigma W)^{m_r}].
public struct MomentRun: Codable, Sendable {
    public var d, n: Int
    public var powers: [Int]
    public var covariance: ExactCovariance?
    /// Also the moment as a polynomial in n and d (with a covariance: in n and p_r = tr Sigma^r).
    public var symbolic: Bool

    public init(d: Int = 10, n: Int = 40, powers: [Int], covariance: ExactCovariance? = nil, symbolic: Bool = false) {
        (self.d, self.n, self.powers, self.covariance, self.symbolic) = (d, n, powers, covariance, symbolic)
    }

    public func validate() throws {
        try checkSizes(d: d, n: n)
        // Each power is bounded before any sum, which then cannot overflow.
        guard !powers.isEmpty, powers.allSatisfy({ (0...ExactLimits.degree).contains($0) }) else {
            throw CotflowError.input("--powers: each power must be at most the supported total degree \(ExactLimits.degree) (got '\(powers.map(String.init).joined(separator: ","))')")
        }
        let degree = powers.reduce(0, +), nonzero = powers.filter { $0 > 0 }.count
        guard let covariance else {
            guard degree <= ExactLimits.degree else { throw CotflowError.input("total degree \(degree) is above the supported \(ExactLimits.degree)") }
            return
        }
        _ = try covariance.spectrum(d: d)
        let limit = nonzero <= 1 ? ExactLimits.covarianceDegree : ExactLimits.jointCovarianceDegree
        guard degree <= limit else {
            throw CotflowError.input("total degree \(degree) is above the supported \(limit) for \(nonzero <= 1 ? "a single trace" : "a product of traces") with a covariance")
        }
        if symbolic && degree > ExactLimits.symbolicCovarianceDegree {
            throw CotflowError.input("--symbolic with a covariance supports total degree up to \(ExactLimits.symbolicCovarianceDegree) (got \(degree))")
        }
    }

    public func solve() throws -> ExactValue {
        try validate()
        guard let covariance else {
            let value = Rational(WishartMoments.shared(n: n, d: d).expectation(powers: powers))
            let name = "E[" + powers.map { "tr W^\($0)" }.joined(separator: " ") + "]"
            var result = try ExactValue("moment", value: value, d: d, n: n)
            result.powers = powers
            result.text = "\(name) at (d, n) = (\(d), \(n)): \(value)"
            if symbolic {
                let polynomial = WishartMoments.symbolicExpectation(powers: powers)
                result.symbolic = polynomial
                result.text += "\n\(name) = \(polynomial)"
            }
            return result
        }
        let spectrum = try covariance.spectrum(d: d)
        let degree = powers.reduce(0, +), nonzero = powers.filter { $0 > 0 }
        // tr (Sigma W)^0 = d; one trace of positive degree goes the zonal route, products the word recursion.
        var value = Rational(d).power(powers.count - nonzero.count)
        if nonzero.count == 1 {
            value *= singleTraceCovarianceMoments(n: n, spectrum: spectrum, maxPower: nonzero[0])[nonzero[0]]
        } else if nonzero.count > 1 {
            value = covarianceMoment(powers: powers, n: n, spectrum: spectrum)
        }
        let name = "E[" + powers.map { "tr (Sigma W)^\($0)" }.joined(separator: " ") + "]"
        var result = try ExactValue("moment", value: value, d: d, n: n)
        (result.powers, result.covariance) = (powers, covariance.description)
        let exact = value.description
        result.text = "\(name) at (d, n) = (\(d), \(n)), covariance \(covariance): \(fmt(value.doubleValue))\n  exact: \(exact.count > 400 ? "a rational of \(exact.count) characters, see --json" : exact)"
        if !spectrum.relativeError.isZero {
            // Each moment is a polynomial with non-negative coefficients, homogeneous of the total degree.
            let bound = (value * ((Rational.one + spectrum.relativeError).power(degree) - .one)).doubleValue
            result.text += "\n  exact for the double eigenvalues eval samples; within \(String(format: "%.2g", bound)) of the value at the real geometric spectrum"
            result.errorBound = bound
        }
        if symbolic {
            let polynomial = symbolicCovarianceMoment(powers: powers).description
            result.symbolic = polynomial
            result.text += "\n\(name) = \(polynomial)   (p_r = tr Sigma^r, d = p_0)"
        }
        return result
    }
}

/// `exact gd-loss`: E || w_k - w* ||^2 = E tr (I - eta S)^{2k}, the evaluation loss of k exact GD steps.
public struct GDLossRun: Codable, Sendable {
    public var d, n, k: Int
    public var eta: Rational
    public var covariance: ExactCovariance?

    public init(d: Int, n: Int, k: Int, eta: Rational, covariance: ExactCovariance? = nil) {
        (self.d, self.n, self.k, self.eta, self.covariance) = (d, n, k, eta, covariance)
    }

    public func validate() throws {
        try TaskLimits.check(d: d, n: n, k: k)
        guard let covariance else {
            guard 2 * k <= ExactLimits.degree else { throw CotflowError.input("--k must be at most \(ExactLimits.degree / 2) for exact moments") }
            return
        }
        _ = try covariance.spectrum(d: d)
        guard 2 * k <= ExactLimits.covarianceDegree else {
            throw CotflowError.input("--k must be at most \(ExactLimits.covarianceDegree / 2) for exact moments with a covariance")
        }
    }

    public func solve() throws -> ExactValue {
        try validate()
        let header = "E || w_k - w* ||^2 at (d, n, k) = (\(d), \(n), \(k)), eta = \(eta)"
        // MODEL.md section 6: the mean of a GD chain grows with k once rare diverging prompts dominate.
        let warning = { (previous: Rational, tail: String) in
            "\n  warning: this mean is larger than at k - 1 (\(fmt(previous.doubleValue))): it is carried by the rare prompts with"
                + " eta * lambda_max(S) > 2 whose chains diverge; see `cotflow eval --construction`\(tail) for the median and tail"
        }
        guard let covariance else {
            let value = gdChainLoss(n: n, d: d, k: k, eta: eta), previous = gdChainLoss(n: n, d: d, k: k - 1, eta: eta)
            var result = try ExactValue("gd-loss", value: value, d: d, n: n)
            (result.k, result.eta, result.growsWithK) = (k, eta, k > 1 && value > previous)
            result.text = "\(header): \(fmt(value.doubleValue))\n  exact: \(value)" + (result.growsWithK! ? warning(previous, "") : "")
            return result
        }
        // Out of distribution: x ~ N(0, Sigma), w* ~ N(0, I), eta at its training value.
        let moments = CovarianceTraceMoments(n: n, spectrum: try covariance.spectrum(d: d), maxPower: 2 * k)
        let value = moments.expectedTrace(polynomial: gdChainErrorPolynomial(k: k, eta: eta))
        let previous = moments.expectedTrace(polynomial: gdChainErrorPolynomial(k: k - 1, eta: eta))
        var result = try ExactValue("gd-loss", value: value.value, d: d, n: n)
        // Growing with k (beyond both error bounds): the mean is carried by prompts whose chain diverges.
        let growing = k > 1 && value.value - value.errorBound > previous.value + previous.errorBound
        (result.k, result.eta, result.covariance, result.growsWithK, result.errorBound) = (k, eta, covariance.description, growing, value.errorBound.doubleValue)
        result.text = "\(header), covariance \(covariance): \(value.reportText)" + (growing ? warning(previous.value, " with the same covariance") : "")
        return result
    }
}

/// `exact cot-loss`: the reduced population CoT loss L(v, w) with V31 = diag(v), W13 = diag(w), W24 = -1.
public struct CoTLossRun: Codable, Sendable {
    public var d, n, k: Int
    public var eta: Rational
    /// d eigenvalues each, or one for all.
    public var v, w: [Rational]

    public init(d: Int, n: Int, k: Int, eta: Rational, v: [Rational], w: [Rational]) {
        (self.d, self.n, self.k, self.eta, self.v, self.w) = (d, n, k, eta, v, w)
    }

    public func validate() throws {
        try TaskLimits.check(d: d, n: n, k: k)
        try ReducedLoss.checkSize(k: k)
        for (name, values) in [("--v", v), ("--w", w)] where values.count != d && values.count != 1 {
            throw CotflowError.input("\(name) needs \(d) values (one per dimension) or a single value (got \(values.count))")
        }
    }

    /// `progress`: told as the exact reduced loss is built (`ReducedLoss.init`).
    public func solve(progress: ((ProgressReport) -> Void)? = nil) throws -> ExactValue {
        try validate()
        func all(_ values: [Rational]) -> [Rational] { values.count == d ? values : Array(repeating: values[0], count: d) }
        let value = try ReducedLoss(n: n, d: d, k: k, eta: eta, progress: progress).exactLoss(v: all(v), w: all(w))
        var result = try ExactValue("cot-loss", value: value, d: d, n: n)
        (result.k, result.eta) = (k, eta)
        result.text = "L_CoT(v, w) at (d, n, k) = (\(d), \(n), \(k)), eta = \(eta): \(fmt(value.doubleValue))\n  exact: \(value)"
        return result
    }
}

/// `exact eval-loss`: the exact evaluation loss of reduced parameters V31 = v I, W13 = w I, W24 = u
/// run autoregressively, in or out of distribution.
public struct EvalLossRun: Codable, Sendable {
    public var d, n, k: Int
    public var eta: Rational
    public var v, w, u: Rational
    public var covariance: ExactCovariance?

    /// `v` nil is the construction's -eta.
    public init(d: Int, n: Int, k: Int, eta: Rational, v: Rational? = nil, w: Rational = .one, u: Rational = Rational(-1), covariance: ExactCovariance? = nil) {
        (self.d, self.n, self.k, self.eta, self.v, self.w, self.u, self.covariance) = (d, n, k, eta, v ?? -eta, w, u, covariance)
    }

    public func validate() throws {
        try TaskLimits.check(d: d, n: n, k: k)
        guard 2 * k <= ExactLimits.covarianceDegree else {
            throw CotflowError.input("--k must be at most \(ExactLimits.covarianceDegree / 2) for exact moments with a covariance")
        }
        _ = try covariance?.spectrum(d: d)
    }

    public func solve() throws -> ExactValue {
        try validate()
        let value = try reducedChainLoss(n: n, k: k, v: v, w: w, u: u, spectrum: try covariance?.spectrum(d: d) ?? CovarianceSpectrum.identity(d: d))
        var result = try ExactValue("eval-loss", value: value.value, d: d, n: n)
        let covariance = self.covariance?.description ?? "identity"
        (result.k, result.eta, result.v, result.w, result.u, result.covariance, result.errorBound) = (k, eta, v, w, u, covariance, value.errorBound.doubleValue)
        func short(_ r: Rational) -> String { r.description.count > 24 ? fmt(r.doubleValue) : r.description }
        result.text = "E || w^_k - w* ||^2 of (v, w, u) = (\(short(v)), \(short(w)), \(short(u))) at (d, n, k) = (\(d), \(n), \(k)), covariance \(covariance): \(value.reportText)"
        return result
    }

    /// (v, w, u) of the end point a `cotflow ode` summary.json records; refuses unequal eigenvalues.
    /// `u` given wins over the recorded W24.
    public static func endPoint(_ file: InputFile, d: Int, u given: Rational?) throws -> (v: Rational, w: Rational, u: Rational) {
        guard let object = try JSONInput.object(file.path, what: "--from summary") as? [String: Any] else {
            throw CotflowError.input("--from: \(file.given) is not a JSON object")
        }
        func numbers(_ key: String) throws -> [Double] {
            guard let list = object[key] as? [Any] else { throw CotflowError.input("--from: \(file.given) has no array '\(key)' (expected a `cotflow ode` summary.json)") }
            let values = list.compactMap { ($0 as? NSNumber)?.doubleValue }
            guard values.count == list.count, values.allSatisfy(\.isFinite) else { throw CotflowError.input("--from: '\(key)' in \(file.given) must hold finite numbers") }
            return values
        }
        let point: ReducedChainPoint
        do { point = try ReducedChainPoint(eigenvalues: try numbers("v"), try numbers("w"), d: d, source: file.given) } catch let error as ReducedChainPointError {
            throw CotflowError.input("--from: \(error)")
        }
        var u = given ?? Rational(-1)
        // `cotflow ode` records W24 as "w24" (the flow's u); "u" is accepted too.
        let key = object["w24"] != nil ? "w24" : "u"
        if given == nil, let recorded = (object[key] as? NSNumber)?.doubleValue {
            guard recorded.isFinite else { throw CotflowError.input("--from: '\(key)' in \(file.given) is not finite") }
            u = Rational(exactly: recorded)
        }
        return (point.v, point.w, u)
    }
}

/// `exact nocot-optimum`: min_c E tr (I - c S)^2 = d(d+1)/(n+d+1) (Theorem 3.1) and its step.
public struct NoCoTOptimumRun: Codable, Sendable {
    public var d, n: Int
    public init(d: Int = 10, n: Int = 40) { (self.d, self.n) = (d, n) }

    public func validate() throws { try checkSizes(d: d, n: n) }

    public func solve() throws -> ExactValue {
        try validate()
        let value = noCoTOptimum(n: n, d: d), step = noCoTOptimalStep(n: n, d: d)
        var result = try ExactValue("nocot-optimum", value: value, d: d, n: n)
        result.optimalStep = step
        result.text = "no-CoT optimum at (d, n) = (\(d), \(n)): \(fmt(value.doubleValue)) = \(value), at step \(step)"
        return result
    }
}
