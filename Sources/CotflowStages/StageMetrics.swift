import Foundation

/// The stage landmarks of one trajectory, as a sweep records them per grid point: the mechanistic
/// boundaries (nil where the detector finds no such boundary or cannot read the trajectory) and the
/// number of change-point stages (nil where that detector cannot read it).
public struct StageLandmarks: Sendable, Equatable {
    public var plateauEnd: Double?
    public var productReached: Double?
    public var exponentialStart: Double?
    public var stageCount: Int?
}

/// Scalar stage metrics of one trajectory, as a sweep records them per grid point.
public enum StageMetrics {
    /// The mechanistic boundaries and the number of change-point stages.
    public static func stages(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double) -> StageLandmarks {
        var landmarks = StageLandmarks()
        if let b = try? MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta) {
            landmarks.plateauEnd = b.plateauEnd
            landmarks.productReached = b.productReached
            landmarks.exponentialStart = b.exponentialStart
        }
        if let stages = try? ChangePointDetector.stages(times: times, losses: losses) {
            landmarks.stageCount = stages.count
        }
        return landmarks
    }

    /// The first time the loss is below `fraction` of its start: the first record below, refined
    /// by linear interpolation of log(loss) in t from the record before it. NaN if never.
    public static func timeBelow(_ fraction: Double, times: [Double], losses: [Double]) -> Double {
        let initial = losses.first ?? .nan
        let target = fraction * initial
        guard initial.isFinite, initial > 0, let i = losses.firstIndex(where: { $0 < target }) else { return .nan }
        guard i > 0 else { return times[i] }
        let (t0, t1) = (times[i - 1], times[i])
        let (l0, l1) = (losses[i - 1], losses[i])
        guard l0 > 0, l1 > 0, l0 > l1 else { return t1 }
        let s = (log(l0) - log(target)) / (log(l0) - log(l1))
        return t0 + min(max(s, 0), 1) * (t1 - t0)
    }
}
