import CotflowCore

extension SampleSummary {
    /// True when these per-prompt losses are below `level` by their median, and by their mean (its
    /// upper 3-standard-error bound) where the mean is stable (`meanIsStable`); elsewhere the median
    /// alone decides: how the examples judge "beats the no-CoT optimum".
    public func isBelow(_ level: Double) -> Bool {
        median < level && (!meanIsStable || mean + 3 * standardError < level)
    }
}
