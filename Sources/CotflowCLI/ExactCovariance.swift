import ArgumentParser
import CotflowExact
import CotflowCore
import CotflowModel
import Foundation

/// The covariance of x for exact out-of-distribution quantities (MODEL.md sections 7 and 9).
struct CovarianceSpectrumOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Eigenvalues of the covariance of x: d comma-separated positive numbers, decimals or rationals (taken exactly).")
    var spectrum: String?

    @Option(name: .customLong("condition-number"), parsing: .unconditional,
            help: "Geometric spectrum from K^(-1/2) to K^(1/2), the doubles `cotflow eval --condition-number K` samples from (exact for those; the bound to the real K^(...) is printed).")
    var conditionNumber: Double?

    var given: Bool { spectrum != nil || conditionNumber != nil }

    /// The spectrum, or nil for the identity.
    func spectrum(d: Int) throws -> CovarianceSpectrum? {
        guard spectrum == nil || conditionNumber == nil else {
            throw ValidationError("give at most one of --spectrum and --condition-number")
        }
        if let text = spectrum {
            let values = try parseRationalList(text, name: "--spectrum")
            guard values.count == d else {
                throw ValidationError("--spectrum needs d = \(d) eigenvalues (got \(values.count)); pass --d \(values.count) or list \(d) values")
            }
            guard values.allSatisfy({ $0 > .zero }) else { throw ValidationError("--spectrum entries must be positive (got '\(text)')") }
            return try CovarianceSpectrum(values)
        }
        if let kappa = conditionNumber {
            guard kappa.isFinite, kappa >= 1 else { throw ValidationError("--condition-number must be at least 1 (got \(kappa))") }
            return try CovarianceSpectrum.geometric(d: d, kappa: kappa)
        }
        return nil
    }

    var description: String {
        if let spectrum { return "diag(\(spectrum))" }
        if let conditionNumber { return "geometric spectrum, condition number \(fmt(conditionNumber))" }
        return "identity"
    }
}

/// Text and JSON fields of an exact value that may carry an error bound from the spectrum.
func boundedFields(_ v: BoundedValue) -> (text: String, json: [(String, JSONValue)]) {
    if v.isExact {
        let exact = v.value.description
        return ("\(fmt(v.value.doubleValue))\n  exact: \(exact.count > 400 ? "a rational of \(exact.count) characters, see --json" : exact)",
                [("error_bound", .number(0))])
    }
    let bound = v.errorBound.doubleValue
    return ("\(fmt(v.value.doubleValue)) (exact for the spectrum's double eigenvalues; within \(String(format: "%.2g", bound)) of the value at the real geometric spectrum)",
            [("error_bound", .number(bound))])
}

extension ExactCommand {
    struct EvalLoss: ParsableCommand {
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

        func validate() throws {
            guard 2 * task.k <= ExactLimits.covarianceDegree else {
                throw ValidationError("--k must be at most \(ExactLimits.covarianceDegree / 2) for exact moments with a covariance")
            }
        }

        func run() throws {
            let eta = try task.stepSize()
            func parse(_ text: String, _ name: String) throws -> Rational {
                guard let r = Rational.parse(text) else { throw ValidationError("\(name) must be a decimal or a rational (got '\(text)')") }
                return r
            }
            var vv = try v.map { try parse($0, "--v") } ?? -eta
            var ww = try parse(w ?? "1", "--w"), uu = try parse(u ?? "-1", "--u")
            if let from {
                guard v == nil, w == nil else { throw ValidationError("give --from FILE or --v/--w, not both") }
                (vv, ww, uu) = try endPoint(from, d: task.d, u: u.map { try parse($0, "--u") })
            }
            let spectrum = try covariance.spectrum(d: task.d) ?? CovarianceSpectrum.identity(d: task.d)
            let value = try reportingErrors { try reducedChainLoss(n: task.n, k: task.k, v: vv, w: ww, u: uu, spectrum: spectrum) }
            let fields = boundedFields(value)
            try ExactCommand.emit(value.value, quantity: "eval-loss",
                              extra: [("d", .int(task.d)), ("n", .int(task.n)), ("k", .int(task.k))] + etaFields(eta) + [
                                      ("v", .string(vv.description)), ("w", .string(ww.description)), ("u", .string(uu.description)),
                                      ("covariance", .string(covariance.description))] + fields.json,
                              json: json,
                              text: "E || w^_k - w* ||^2 of (v, w, u) = (\(short(vv)), \(short(ww)), \(short(uu))) at (d, n, k) = (\(task.d), \(task.n), \(task.k)), covariance \(covariance.description): \(fields.text)")
        }
    
        private func short(_ r: Rational) -> String { r.description.count > 24 ? fmt(r.doubleValue) : r.description }

        /// (v, w, u) from a `cotflow ode` summary.json; refuses unequal eigenvalues.
        private func endPoint(_ path: String, d: Int, u given: Rational?) throws -> (Rational, Rational, Rational) {
            guard let object = try JSONInput.object(path, what: "--from summary") as? [String: Any] else {
                throw ValidationError("--from: \(path) is not a JSON object")
            }
            func numbers(_ key: String) throws -> [Double] {
                guard let list = object[key] as? [Any] else { throw ValidationError("--from: \(path) has no array '\(key)' (expected a `cotflow ode` summary.json)") }
                let values = list.compactMap { ($0 as? NSNumber)?.doubleValue }
                guard values.count == list.count, values.allSatisfy(\.isFinite) else { throw ValidationError("--from: '\(key)' in \(path) must hold finite numbers") }
                return values
            }
            let vs = try numbers("v"), ws = try numbers("w")
            let point: ReducedChainPoint
            do { point = try ReducedChainPoint(eigenvalues: vs, ws, d: d, source: path) } catch { throw ValidationError("--from: \(error)") }
            var u = given ?? Rational(-1)
            // `cotflow ode` records W24 as "w24" (the flow's u); "u" is accepted too.
            let key = object["w24"] != nil ? "w24" : "u"
            if given == nil, let recorded = (object[key] as? NSNumber)?.doubleValue {
                guard recorded.isFinite else { throw ValidationError("--from: '\(key)' in \(path) is not finite") }
                u = Rational(exactly: recorded)
            }
            return (point.v, point.w, u)
        }
    }
}
