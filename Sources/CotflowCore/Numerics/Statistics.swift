import Foundation

/// Summary of a sample of per-prompt losses that cannot hide a heavy tail behind its mean
/// (MODEL.md section 6): quantiles, the share of the sum carried by the largest 1% of values,
/// and the fraction of values at or above a divergence threshold.
public struct SampleSummary: Sendable, Equatable {
    public let count: Int
    public let mean: Double
    /// Standard error of the mean (sample standard deviation / sqrt(count)).
    public let standardError: Double
    public let median: Double
    public let p90: Double
    public let p99: Double
    public let maximum: Double
    /// Share of the sum contributed by the largest ceil(1%) of the values.
    public let topPercentShare: Double
    /// Fraction of values >= `divergenceThreshold` (or non-finite).
    public let divergedFraction: Double
    public let divergenceThreshold: Double

    /// True when the mean is not a fair summary: the top 1% of values carry more than half of
    /// the sum, the mean exceeds ten times the median, or some value is not finite.
    public var tailDominated: Bool {
        !mean.isFinite || topPercentShare > 0.5 || (median > 0 && mean > 10 * median)
    }

    /// - Parameters:
    ///   - values: the sample (non-finite values count as diverged and are excluded from moments).
    ///   - divergenceThreshold: a value at or above this counts as a diverged prompt.
    public init(_ values: [Double], divergenceThreshold: Double = .infinity) {
        let finite = values.filter { $0.isFinite }.sorted()
        count = values.count
        self.divergenceThreshold = divergenceThreshold
        let nonFinite = values.count - finite.count
        let above = finite.reduce(0) { $0 + ($1 >= divergenceThreshold ? 1 : 0) }
        divergedFraction = values.isEmpty ? 0 : Double(nonFinite + above) / Double(values.count)
        guard !finite.isEmpty else {
            mean = .nan; standardError = .nan; median = .nan; p90 = .nan; p99 = .nan
            maximum = .nan; topPercentShare = .nan
            return
        }
        let m = finite.reduce(0, +) / Double(finite.count)
        // One value has no sample variance, so no standard error (NaN: null in JSON), never 0.
        let variance = finite.count > 1
            ? finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(finite.count - 1) : .nan
        mean = nonFinite > 0 ? .infinity : m
        standardError = (variance / Double(finite.count)).squareRoot()
        median = SampleSummary.quantile(finite, 0.5)
        p90 = SampleSummary.quantile(finite, 0.9)
        p99 = SampleSummary.quantile(finite, 0.99)
        maximum = finite.last!
        let top = max(1, Int((Double(finite.count) * 0.01).rounded(.up)))
        let total = finite.reduce(0) { $0 + abs($1) }
        let topSum = finite.suffix(top).reduce(0) { $0 + abs($1) }
        topPercentShare = total > 0 ? topSum / total : 0
    }

    /// Linear-interpolation quantile of an ascending sorted array (type 7).
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
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
        ]
    }

    /// A human-readable line; warns when the mean is tail-dominated.
    public func report(name: String) -> String {
        let spread = standardError.isNaN && mean.isFinite ? " (one value: no standard error)" : " ± \(fmt(standardError))"
        var s = "\(name): mean \(fmt(mean))\(spread), median \(fmt(median)), "
            + "p90 \(fmt(p90)), p99 \(fmt(p99)), max \(fmt(maximum)), n = \(count)"
        if divergedFraction > 0 { s += ", diverged \(fmt(100 * divergedFraction))%" }
        if tailDominated {
            s += "\n  warning: the mean is dominated by a tail (top 1% carry \(fmt(100 * topPercentShare))% of the sum);"
                + " read the median and quantiles"
        }
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
