
/// The statistics of a `SampleSummary` that the tool's files record, under prefixed keys
/// (`eval_loss_mean`, `eval_loss_median`, ...), so that a result decodes back from its summary.json.
public struct LossStatistics: Sendable, Equatable {
    public var mean, standardError, median, p90, p99, maximum, topPercentShare: Double
    /// Fraction of diverged (at or above a threshold) or non-finite values.
    public var divergedFraction: Double
    /// True when the sample had a finite divergence threshold (key `diverged_fraction`, else `nonfinite_fraction`).
    public var hasThreshold: Bool
    public var tailDominated: Bool
    /// The stability verdict (`SampleSummary.meanIsStable`).
    public var meanIsStable: Bool
    /// The 1%-trimmed mean, Hill's tail index and its standard error (NaN when not estimated).
    public var trimmedMean, tailIndex, tailIndexStandardError: Double
    /// Values that were not finite (overflowed prompts).
    public var overflowed: Int

    public init(_ s: SampleSummary) {
        (mean, standardError, median, p90, p99, maximum, topPercentShare) = (s.mean, s.standardError, s.median, s.p90, s.p99, s.maximum, s.topPercentShare)
        divergedFraction = s.divergedFraction
        hasThreshold = s.divergenceThreshold.isFinite
        tailDominated = s.tailDominated
        meanIsStable = s.meanIsStable
        (trimmedMean, tailIndex, tailIndexStandardError) = (s.trimmedMean, s.tailIndex?.alpha ?? .nan, s.tailIndex?.standardError ?? .nan)
        overflowed = s.nonFiniteCount
    }

    /// Writes the fields as `SampleSummary.json(prefix:)` does.
    public func encode(to encoder: Encoder, prefix: String) throws {
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for (name, x) in [("mean", mean), ("stderr", standardError), ("median", median), ("p90", p90), ("p99", p99), ("max", maximum),
                          ("top1pct_share", topPercentShare), (hasThreshold ? "diverged_fraction" : "nonfinite_fraction", divergedFraction)] {
            try c.encode(x, forKey: AnyCodingKey(prefix + name))
        }
        try c.encode(tailDominated, forKey: AnyCodingKey(prefix + "tail_dominated"))
        try c.encode(meanIsStable, forKey: AnyCodingKey(prefix + "mean_stable"))
        for (name, x) in [("trimmed_mean", trimmedMean), ("tail_index", tailIndex), ("tail_index_stderr", tailIndexStandardError)] {
            try c.encode(x, forKey: AnyCodingKey(prefix + name))
        }
        try c.encode(overflowed, forKey: AnyCodingKey(prefix + "overflowed"))
    }

    public init(from decoder: Decoder, prefix: String) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        func x(_ name: String) throws -> Double { try c.decode(Double.self, forKey: AnyCodingKey(prefix + name)) }
        (mean, standardError, median, p90, p99, maximum, topPercentShare) = (try x("mean"), try x("stderr"), try x("median"), try x("p90"), try x("p99"), try x("max"), try x("top1pct_share"))
        hasThreshold = c.contains(AnyCodingKey(prefix + "diverged_fraction"))
        divergedFraction = try x(hasThreshold ? "diverged_fraction" : "nonfinite_fraction")
        tailDominated = try c.decode(Bool.self, forKey: AnyCodingKey(prefix + "tail_dominated"))
        meanIsStable = try c.decode(Bool.self, forKey: AnyCodingKey(prefix + "mean_stable"))
        (trimmedMean, tailIndex, tailIndexStandardError) = (try x("trimmed_mean"), try x("tail_index"), try x("tail_index_stderr"))
        overflowed = try c.decode(Int.self, forKey: AnyCodingKey(prefix + "overflowed"))
    }
}
