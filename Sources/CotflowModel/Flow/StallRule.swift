import CotflowCore

/// The flows' stall stop: the loss changed by at most `tolerance` (relative) since the record at or
/// before half the current time. One rule for the reduced and the full-matrix flow.
package struct StallRule {
    package let tolerance: Double
    private var history: [(t: Double, loss: Double)] = []

    package init(tolerance: Double) { self.tolerance = tolerance }

    /// Records (t, loss) and says whether the flow has stalled.
    package mutating func check(t: Double, loss l: Double) -> StopDecision? {
        history.append((t, l))
        if let old = history.last(where: { $0.t <= t / 2 }), old.t > 0,
           abs(old.loss - l) <= tolerance * max(abs(l), .leastNormalMagnitude) {
            return StopDecision("stalled: loss changed by less than \(tolerance) (relative) between t = \(old.t) and t = \(t)")
        }
        return nil
    }
}
