import Foundation

/// Hill's estimate of the upper tail index of a sample (notes/statistics.md): from the k largest
/// values `X_(1) >= ... >= X_(k)` above `X_(k+1) > 0`, `H = (1/k) sum_i ln(X_(i) / X_(k+1))` and
/// `alpha = 1 / H`. A tail `P(X > x) ~ x^(-alpha)` has a mean only for `alpha > 1` and a variance
/// only for `alpha > 2`. `k = floor(sqrt(count))`.
public struct TailIndex: Sendable, Equatable {
    /// The estimate `1 / H` (+infinity when the top values are all equal; 0 when one of them is not finite).
    public let alpha: Double
    /// Its asymptotic standard error `alpha / sqrt(k)` (exact in distribution for a Pareto tail: `k alpha / alpha^ ~ Gamma(k, 1)`).
    public let standardError: Double
    /// The number k of order statistics used.
    public let orderStatistics: Int

    /// The smallest sample Hill is computed on (k = 10): below it, light tails read as `alpha < 2`
    /// too often for a verdict (notes/statistics.md).
    public static let minimumCount = 100

    /// The estimate from an ascending sorted sample (non-finite values last); nil when the sample has
    /// fewer than `minimumCount` values or `X_(k+1)` is not positive (a sample that is mostly zeros).
    public static func hill(ascending sorted: [Double]) -> TailIndex? {
        guard sorted.count >= minimumCount else { return nil }
        let k = Int(Double(sorted.count).squareRoot())
        let threshold = sorted[sorted.count - k - 1]
        guard threshold > 0, threshold.isFinite else { return nil }
        let top = sorted.suffix(k)
        let h = top.reduce(0) { $0 + log($1 / threshold) } / Double(k)
        let alpha = h.isInfinite ? 0 : 1 / h
        return TailIndex(alpha: alpha, standardError: alpha / Double(k).squareRoot(), orderStatistics: k)
    }
}

/// Summary of a sample of per-prompt losses that cannot hide a heavy tail behind its mean
/// (MODEL.md section 6): quantiles, the share of the sum carried by the largest 1% of values,
/// the fraction of values at or above a divergence threshold, and whether the mean is stable
/// (`meanIsStable`; notes/statistics.md): otherwise reports quote the median, a trimmed mean and
/// the tail index instead.
public struct SampleSummary: Sendable, Equatable {
    public let count: Int
    /// The sample mean; NaN when a value is not finite (the mean of the losses does not exist in doubles).
    public let mean: Double
    /// Standard error of the mean (sample standard deviation / sqrt(count)).
    public let standardError: Double
    public let median: Double
    public let p90: Double
    public let p99: Double
    public let maximum: Double
    /// Share of the sum contributed by the largest ceil(1%) of the values (1 when a value is not finite).
    public let topPercentShare: Double
    /// Fraction of values >= `divergenceThreshold` (or non-finite).
    public let divergedFraction: Double
    public let divergenceThreshold: Double
    /// Values that are not finite: a prompt whose loss overflowed. Quantiles rank them above every finite value.
    public let nonFiniteCount: Int
    /// The mean after dropping `floor(1%)` of the values from each end (`trimmedFraction`).
    public let trimmedMean: Double
    /// Hill's estimate of the upper tail index; nil for fewer than `TailIndex.minimumCount` values.
    public let tailIndex: TailIndex?

    /// The share of the values `trimmedMean` drops from each end.
    public static let trimmedFraction = 0.01

    /// True when a tail carries the sum: some value is not finite, the top 1% of values carry more
    /// than half of the sum, or the mean exceeds ten times the median.
    public var tailDominated: Bool {
        !mean.isFinite || topPercentShare > 0.5 || (median > 0 && mean > 10 * median)
    }

    /// The stability verdict (notes/statistics.md): the mean is worth quoting with its standard error
    /// when no tail carries the sum (`tailDominated`) and Hill's estimate of the tail index, where
    /// there are enough values for it, is at least 2 (below 2 the variance, and so the standard
    /// error, is estimated infinite).
    public var meanIsStable: Bool {
        !tailDominated && !(tailIndex.map { $0.alpha < 2 } ?? false)
    }

    /// - Parameters:
    ///   - values: the sample (non-finite values count as diverged and are excluded from moments).
    ///   - divergenceThreshold: a value at or above this counts as a diverged prompt.
    public init(_ values: [Double], divergenceThreshold: Double = .infinity) {
        let finite = values.filter { $0.isFinite }.sorted()
        count = values.count
        self.divergenceThreshold = divergenceThreshold
        let nonFinite = values.count - finite.count
        nonFiniteCount = nonFinite
        let above = finite.reduce(0) { $0 + ($1 >= divergenceThreshold ? 1 : 0) }
        divergedFraction = values.isEmpty ? 0 : Double(nonFinite + above) / Double(values.count)
        guard !finite.isEmpty else {
            mean = .nan; standardError = .nan; median = .nan; p90 = .nan; p99 = .nan
            maximum = .nan; topPercentShare = .nan; trimmedMean = .nan; tailIndex = nil
            return
        }
        // Overflowed values rank above every finite one.
        let ranked = finite + [Double](repeating: .infinity, count: nonFinite)
        let m = finite.reduce(0, +) / Double(finite.count)
        // One value has no sample variance, so no standard error (NaN: null in JSON), never 0.
        let variance = finite.count > 1
            ? finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(finite.count - 1) : .nan
        mean = nonFinite > 0 ? .nan : m
        standardError = nonFinite > 0 ? .nan : (variance / Double(finite.count)).squareRoot()
        median = SampleSummary.quantile(ranked, 0.5)
        p90 = SampleSummary.quantile(ranked, 0.9)
        p99 = SampleSummary.quantile(ranked, 0.99)
        maximum = ranked.last!
        let top = max(1, Int((Double(finite.count) * 0.01).rounded(.up)))
        let total = finite.reduce(0) { $0 + abs($1) }
        let topSum = finite.suffix(top).reduce(0) { $0 + abs($1) }
        topPercentShare = nonFinite > 0 ? 1 : total > 0 ? topSum / total : 0
        let trim = Int(Double(ranked.count) * SampleSummary.trimmedFraction)
        let kept = ranked[trim..<(ranked.count - trim)]
        trimmedMean = kept.reduce(0, +) / Double(kept.count)
        tailIndex = TailIndex.hill(ascending: ranked)
    }

    /// Linear-interpolation quantile of an ascending sorted array (type 7).
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        if h == Double(lo) || sorted[hi] == sorted[lo] { return sorted[lo] }
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// Key-value pairs for JSON output, prefixed (e.g. "eval_loss_").
    public func json(prefix: String) -> [(String, JSONValue)] {
        [
            (prefix + "mean", .number(mean)), (prefix + "stderr", .number(standardError)),
            (prefix + "median", .number(median)), (prefix + "p90", .number(p90)),
            (prefix + "p99", .number(p99)), (prefix + "max", .number(maximum)),
            (prefix + "top1pct_share", .number(topPercentShare)),
            // Without a threshold only non-finite values count, so say that instead.
            (prefix + (divergenceThreshold.isFinite ? "diverged_fraction" : "nonfinite_fraction"), .number(divergedFraction)),
            (prefix + "tail_dominated", .bool(tailDominated)),
            (prefix + "mean_stable", .bool(meanIsStable)),
            (prefix + "trimmed_mean", .number(trimmedMean)),
            (prefix + "tail_index", .number(tailIndex?.alpha ?? .nan)),
            (prefix + "tail_index_stderr", .number(tailIndex?.standardError ?? .nan)),
            (prefix + "overflowed", .int(nonFiniteCount)),
        ]
    }

    /// What a report quotes for the centre of the sample: `mean X ± se` when the mean is stable,
    /// else `no stable mean (top 1% carry Y%, tail index a ± s): median M, trimmed mean T`.
    public var centre: String {
        if nonFiniteCount == count { return "no finite value" }
        if meanIsStable {
            let spread = standardError.isNaN ? " (one value: no standard error)" : " ± \(fmt(standardError))"
            return "mean \(fmt(mean))\(spread), median \(fmt(median))"
        }
        let tail = tailIndex.map { "tail index \(String(format: "%.3g", $0.alpha)) ± \(String(format: "%.2g", $0.standardError))" } ?? "tail index not estimated (n < \(TailIndex.minimumCount))"
        return "no stable mean (top 1% carry \(String(format: "%.3g", 100 * topPercentShare))%, \(tail)): median \(fmt(median)), "
            + "trimmed mean \(fmt(trimmedMean))"
    }

    /// A human-readable line: the mean only when it is stable (`centre`), then quantiles, and how
    /// many values overflowed.
    public func report(name: String) -> String {
        var s = "\(name): \(centre), p90 \(fmt(p90)), p99 \(fmt(p99)), max \(fmt(maximum)), n = \(count)"
        if nonFiniteCount > 0 { s += ", overflowed \(nonFiniteCount) of \(count)" }
        if divergenceThreshold.isFinite, divergedFraction > 0 { s += ", diverged \(fmt(100 * divergedFraction))%" }
        return s
    }
}

/// The median of `xs` (the mean of the two middle values for an even count); NaN when empty.
public func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    let n = s.count
    guard n > 0 else { return .nan }
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
