import CotflowCore
import Foundation

/// Least-squares line y = a + b x with its coefficient of determination and the standard error of b.
public struct LineFit: Sendable {
    public let intercept: Double, slope: Double, r2: Double, slopeError: Double, points: Int

    public init(_ x: [Double], _ y: [Double]) {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxx += (a - mx) * (a - mx); sxy += (a - mx) * (b - my); syy += (b - my) * (b - my) }
        let b = sxy / sxx, a = my - b * mx
        slope = b
        intercept = a
        let rss = zip(x, y).reduce(0.0) { $0 + pow($1.1 - (a + b * $1.0), 2) }
        r2 = syy > 0 ? 1 - rss / syy : 1
        slopeError = x.count > 2 ? (rss / (n - 2) / sxx).squareRoot() : .nan
        points = x.count
    }

    /// "b +- se", or, for a line through two points (no residual: no standard error), "b (2 points: no standard error)".
    public var slopeText: String {
        slopeError.isFinite ? "\(fmt(slope)) +- \(fmt(slopeError))" : "\(fmt(slope)) (\(points) points: no standard error)"
    }

    public var json: JSONValue {
        .object([("slope", .number(slope)), ("slope_standard_error", .number(slopeError)), ("intercept", .number(intercept)),
                 ("r2", .number(r2)), ("points", .int(points))])
    }
}

/// Median and spread of replicate values.
public enum Replicates {
    /// The median of the finite values (NaN when there are none).
    public static func median(_ xs: [Double]) -> Double {
        CotflowCore.median(xs.filter(\.isFinite))
    }
}

/// A law y(x) a theorist would try for a time or a boundary against a numeric axis.
public enum ScalingLaw: String, Sendable, CaseIterable {
    /// y = a x^b
    case powerLaw = "power law"
    /// y = a + b ln x
    case logarithm
    /// y = c + a x^p: y tends to c as x -> 0 (p > 0) or as x -> infinity (p < 0).
    case saturation

    public var formula: String {
        switch self {
        case .powerLaw: return "y = a x^b"
        case .logarithm: return "y = a + b ln x"
        case .saturation: return "y = c + a x^p"
        }
    }
}

/// A fitted parameter with its 95% interval.
public struct FitParameter: Sendable {
    public let name: String
    public let value: Double
    public let lower: Double, upper: Double

    public var json: JSONValue {
        .object([("name", .string(name)), ("value", .number(value)), ("interval_95", .numbers([lower, upper]))])
    }
    public var text: String { "\(name) = \(compactNumber(value)) [\(compactNumber(lower)), \(compactNumber(upper))]" }
}

/// One law fitted by weighted least squares with relative residuals (weights 1/y^2, so a time that
/// spans decades is fitted evenly). Exponents are profiled: for each exponent the other parameters are
/// linear; the exponent's interval is where the residual sum stays within the F-test bound
/// RSS <= RSS_min (1 + F(0.95; 1, N - P) / (N - P)); the other parameters get t intervals from the
/// model linearised in every parameter at the optimum.
public struct LawFit: Sendable {
    public let law: ScalingLaw
    public let parameters: [FitParameter]
    /// Weighted residual sum of squares, points and fitted parameters.
    public let rss: Double
    public let points: Int
    public let parameterCount: Int
    /// Small-sample Akaike information criterion, N ln(RSS/N) + 2K + 2K(K+1)/(N-K-1), K = P + 1.
    public let aicc: Double
    /// Lack-of-fit test against the replicate (pure) error: its p-value, nil without replicates.
    public let lackOfFitP: Double?
    /// Weighted R^2.
    public let r2: Double

    /// Supported: every parameter has a finite interval (the data determine it), and the lack-of-fit
    /// test does not reject at 1% (with replicates), else R^2 >= 0.99.
    public var supported: Bool {
        guard parameters.allSatisfy({ $0.value.isFinite && $0.lower.isFinite && $0.upper.isFinite }) else { return false }
        if let p = lackOfFitP { return p >= 0.01 }
        return r2 >= 0.99
    }

    public var json: JSONValue {
        .object([("law", .string(law.rawValue)), ("formula", .string(law.formula)), ("parameters", .array(parameters.map(\.json))),
                 ("weighted_rss", .number(rss)), ("points", .int(points)), ("aicc", .number(aicc)), ("r2", .number(r2)),
                 ("lack_of_fit_p", lackOfFitP.map { .number($0) } ?? .null), ("supported", .bool(supported))])
    }
}

/// The fits of every law to (x, y) data, with the model choice.
public struct ScalingAnalysis: Sendable {
    public let fits: [LawFit]
    /// The supported law with the smallest AICc, nil when no law is supported.
    public let best: LawFit?
    public let distinctX: Int

    /// Needs at least 4 distinct positive x and positive y.
    public init?(x: [Double], y: [Double]) {
        let pairs = zip(x, y).filter { $0.0 > 0 && $0.1 > 0 && $0.0.isFinite && $0.1.isFinite }
        let xs = pairs.map(\.0), ys = pairs.map(\.1)
        distinctX = Set(xs).count
        guard distinctX >= 4 else { return nil }
        let pure = pureError(xs, ys)
        fits = ScalingLaw.allCases.compactMap { fitLaw($0, xs, ys, pure: pure) }
        // A law fitted to N <= K + 1 points has no AICc (its correction term is infinite): it cannot be compared.
        best = fits.filter { $0.supported && $0.aicc.isFinite }.min { $0.aicc < $1.aicc }
    }

    public var verdict: String {
        guard let best else {
            guard fits.contains(where: \.supported) else {
                return "no law is supported (" + fits.map { "\($0.law.rawValue): " + fitQuality($0) }.joined(separator: "; ") + ")"
            }
            return "no law is chosen: AICc needs more points than parameters + 2 (" + fits.map {
                "\($0.law.rawValue): " + fitQuality($0) + ($0.aicc.isFinite ? "" : ", \($0.points) points for \($0.parameterCount) parameters")
            }.joined(separator: "; ") + ")"
        }
        let others = fits.filter { $0.law != best.law }.map {
            "\($0.law.rawValue) " + ($0.aicc.isFinite ? "dAICc = \(compactNumber($0.aicc - best.aicc))" : "no AICc (\($0.points) points for \($0.parameterCount) parameters)")
                + ($0.supported ? "" : ", not supported")
        }
        return "best: \(best.law.rawValue) \(best.law.formula), " + best.parameters.map(\.text).joined(separator: ", ")
            + " (\(fitQuality(best)); " + others.joined(separator: "; ") + ")"
    }

    public var json: JSONValue {
        .object([("fits", .array(fits.map(\.json))), ("best", best.map { .string($0.law.rawValue) } ?? .null),
                 ("supported", .array(fits.filter(\.supported).map { .string($0.law.rawValue) })), ("verdict", .string(verdict))])
    }
}

private func fitQuality(_ f: LawFit) -> String {
    if let p = f.lackOfFitP { return "lack-of-fit p = \(compactNumber(p))" }
    return "R^2 = \(compactNumber(f.r2)), no replicates"
}

/// Three significant digits.
func compactNumber(_ x: Double) -> String {
    if !x.isFinite { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    return String(format: "%.3g", x)
}

/// Weighted pure-error sum of squares of replicates at equal x, and its degrees of freedom.
private func pureError(_ x: [Double], _ y: [Double]) -> (ss: Double, df: Int) {
    var groups: [Double: [Double]] = [:]
    for (a, b) in zip(x, y) { groups[a, default: []].append(b) }
    var ss = 0.0, df = 0
    for key in groups.keys.sorted() {
        let ys = groups[key]!
        guard ys.count >= 2 else { continue }
        let m = ys.reduce(0, +) / Double(ys.count)
        for v in ys { ss += (v - m) * (v - m) / (v * v) }
        df += ys.count - 1
    }
    return (ss, df)
}

/// Weighted linear least squares y ~ sum_j beta_j f_j(x): coefficients, covariance (unscaled) and RSS.
private func linearFit(_ columns: [[Double]], _ y: [Double], weights: [Double]) -> (beta: [Double], covariance: [[Double]], rss: Double)? {
    let p = columns.count, n = y.count
    guard n > p else { return nil }
    var a = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
    var b = [Double](repeating: 0, count: p)
    for i in 0..<n {
        for r in 0..<p {
            b[r] += weights[i] * columns[r][i] * y[i]
            for c in 0..<p { a[r][c] += weights[i] * columns[r][i] * columns[c][i] }
        }
    }
    guard let inverse = invert(a) else { return nil }
    let beta = (0..<p).map { r in (0..<p).reduce(0.0) { $0 + inverse[r][$1] * b[$1] } }
    var rss = 0.0
    for i in 0..<n {
        let fit = (0..<p).reduce(0.0) { $0 + beta[$1] * columns[$1][i] }
        rss += weights[i] * (y[i] - fit) * (y[i] - fit)
    }
    guard beta.allSatisfy(\.isFinite), rss.isFinite else { return nil }
    return (beta, inverse, rss)
}

/// Inverse of a small symmetric positive matrix (Gauss-Jordan with pivoting); nil when singular.
private func invert(_ m: [[Double]]) -> [[Double]]? {
    let n = m.count
    var a = m, inv = (0..<n).map { r in (0..<n).map { $0 == r ? 1.0 : 0.0 } }
    for col in 0..<n {
        guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-300 else { return nil }
        a.swapAt(col, pivot); inv.swapAt(col, pivot)
        let scale = a[col][col]
        for j in 0..<n { a[col][j] /= scale; inv[col][j] /= scale }
        for r in 0..<n where r != col {
            let f = a[r][col]
            guard f != 0 else { continue }
            for j in 0..<n { a[r][j] -= f * a[col][j]; inv[r][j] -= f * inv[col][j] }
        }
    }
    // Relative conditioning check: a near-singular design gives meaningless intervals.
    return inv.allSatisfy { $0.allSatisfy(\.isFinite) } ? inv : nil
}

private func fitLaw(_ law: ScalingLaw, _ x: [Double], _ y: [Double], pure: (ss: Double, df: Int)) -> LawFit? {
    let n = x.count
    let weights = y.map { 1 / ($0 * $0) }
    let logs = x.map { Foundation.log($0) }
    // Linear parameters for a fixed exponent.
    func design(_ e: Double) -> [[Double]] {
        switch law {
        case .powerLaw: return [x.map { Foundation.pow($0, e) }]
        case .saturation: return [[Double](repeating: 1, count: n), x.map { Foundation.pow($0, e) }]
        case .logarithm: return [[Double](repeating: 1, count: n), logs]
        }
    }
    let parameterCount = law == .saturation ? 3 : 2
    guard n > parameterCount + 1 else { return nil }
    let dof = Double(n - parameterCount)
    var exponent: Double? = nil
    var exponentInterval: (Double, Double)? = nil
    let fit: (beta: [Double], covariance: [[Double]], rss: Double)
    if law == .logarithm {
        guard let f = linearFit(design(0), y, weights: weights) else { return nil }
        fit = f
    } else {
        // Profile the exponent on a grid over [-6, 6] (0 excluded for saturation, where c + a x^0 is
        // degenerate), then refine by golden section around the best grid point.
        let grid = stride(from: -6.0, through: 6.0, by: 0.01).filter { law == .powerLaw || abs($0) > 0.005 }
        var profile: [(e: Double, rss: Double)] = []
        for e in grid { if let f = linearFit(design(e), y, weights: weights) { profile.append((e, f.rss)) } }
        guard let bestGrid = profile.min(by: { $0.rss < $1.rss }) else { return nil }
        var lo = bestGrid.e - 0.01, hi = bestGrid.e + 0.01
        let g = (5.0.squareRoot() - 1) / 2
        func rss(_ e: Double) -> Double { linearFit(design(e), y, weights: weights)?.rss ?? .infinity }
        for _ in 0..<40 {
            let a = hi - g * (hi - lo), b = lo + g * (hi - lo)
            if rss(a) < rss(b) { hi = b } else { lo = a }
        }
        let e = (lo + hi) / 2
        guard let f = linearFit(design(e), y, weights: weights) else { return nil }
        fit = f
        exponent = e
        let bound = f.rss * (1 + fisherFQuantile(0.95, 1, dof) / dof)
        // Walk out from the optimum on the grid to the first point above the bound, then bisect;
        // an interval that reaches the edge of the profiled range is open there.
        func edge(_ direction: Double) -> Double {
            var inside = e
            var x = e
            while true {
                x += 0.01 * direction
                if abs(x) > 6 { return direction * .infinity }
                if rss(x) > bound { break }
                inside = x
            }
            var (a, b) = (inside, x)
            for _ in 0..<40 {
                let m = (a + b) / 2
                if rss(m) <= bound { a = m } else { b = m }
            }
            return a
        }
        exponentInterval = (edge(-1), edge(1))
    }
    let sigma2 = fit.rss / dof
    let t = studentTQuantile(0.975, dof: dof)
    // Covariance of the linear parameters: with an exponent, from the linearised model in every
    // parameter (the Jacobian includes d/de a x^e = a x^e ln x), so their intervals carry the
    // exponent's uncertainty; without one, the linear fit's own.
    var covariance = fit.covariance
    if let e = exponent {
        var columns = design(e)
        let amplitude = fit.beta[columns.count - 1]
        columns.append(zip(x, logs).map { amplitude * Foundation.pow($0.0, e) * $0.1 })
        let p = columns.count
        var jtj = [[Double]](repeating: [Double](repeating: 0, count: p), count: p)
        for i in 0..<n { for r in 0..<p { for c in 0..<p { jtj[r][c] += weights[i] * columns[r][i] * columns[c][i] } } }
        if let inverse = invert(jtj) { covariance = inverse }
    }
    func linear(_ name: String, _ j: Int) -> FitParameter {
        let se = (sigma2 * covariance[j][j]).squareRoot()
        return FitParameter(name: name, value: fit.beta[j], lower: fit.beta[j] - t * se, upper: fit.beta[j] + t * se)
    }
    var parameters: [FitParameter]
    switch law {
    case .powerLaw:
        parameters = [linear("a", 0), FitParameter(name: "b", value: exponent!, lower: exponentInterval!.0, upper: exponentInterval!.1)]
    case .logarithm:
        parameters = [linear("a", 0), linear("b", 1)]
    case .saturation:
        parameters = [linear("c", 0), linear("a", 1), FitParameter(name: "p", value: exponent!, lower: exponentInterval!.0, upper: exponentInterval!.1)]
    }
    let k = Double(parameterCount + 1), nd = Double(n)
    let aicc = nd * Foundation.log(max(fit.rss, 1e-300) / nd) + 2 * k + (nd - k - 1 > 0 ? 2 * k * (k + 1) / (nd - k - 1) : .infinity)
    let meanW = zip(y, weights).reduce(0.0) { $0 + $1.0 * $1.1 } / weights.reduce(0, +)
    let tss = zip(y, weights).reduce(0.0) { $0 + $1.1 * ($1.0 - meanW) * ($1.0 - meanW) }
    let r2 = tss > 0 ? 1 - fit.rss / tss : 1
    var lackOfFit: Double? = nil
    let distinct = Set(x).count
    if pure.df >= 1, distinct > parameterCount {
        let lofSS = max(fit.rss - pure.ss, 0), lofDF = Double(distinct - parameterCount)
        // Identical replicates (a deterministic run) carry no error to test against: R^2 decides.
        if pure.ss > 0 {
            let f = (lofSS / lofDF) / (pure.ss / Double(pure.df))
            lackOfFit = fisherFUpperTail(f, lofDF, Double(pure.df))
        }
    }
    return LawFit(law: law, parameters: parameters, rss: fit.rss, points: n, parameterCount: parameterCount,
                  aicc: aicc, lackOfFitP: lackOfFit, r2: r2)
}
