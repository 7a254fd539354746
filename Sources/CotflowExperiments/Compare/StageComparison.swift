import CotflowCore
import CotflowStages

/// The stages of one curve by both detectors, and the table to quote (`story`: the eigenvalue
/// stages, cross-checked by the change points; notes/stages.md).
public struct StageAnalysis: Sendable {
    public let changePoint: [Stage]
    public let mechanistic: [Stage]
    public let boundaries: MechanisticBoundaries
    public let story: StageStory

    /// `manifoldDistance`: the distance from the block manifold per time, for the landmark of a random start.
    public init(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double, manifoldDistance: [Double]? = nil) throws {
        changePoint = try ChangePointDetector.stages(times: times, losses: losses)
        boundaries = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta, manifoldDistance: manifoldDistance)
        mechanistic = try MechanisticDetector.stages(times: times, losses: losses, boundaries: boundaries)
        story = try StageStory(times: times, losses: losses, changePoints: changePoint, boundaries: boundaries, stages: mechanistic, v: v, w: w, eta: eta)
    }

    /// The table (`stages`, `stages_by`, `plateau_end`), its cross-check and the eigenvalue landmarks.
    public var json: JSONValue { .object(story.json + [("mechanistic_boundaries", boundaries.json)]) }
}

/// Whether two stage tables name the same stages, and how far apart their boundaries are.
public struct StageAgreement: Sendable, Codable {
    /// Same number of stages with the same names, in order.
    public let sameStages: Bool
    /// max over interior boundaries of |t_a - t_b| / t_b (nil when the stages differ or there
    /// is no interior boundary).
    public let maxRelativeBoundaryDifference: Double?

    public init(_ a: [Stage], reference b: [Stage]) {
        sameStages = a.map(\.label) == b.map(\.label)
        guard sameStages, a.count > 1 else { maxRelativeBoundaryDifference = nil; return }
        maxRelativeBoundaryDifference = zip(a.dropLast(), b.dropLast()).map { abs($0.tEnd - $1.tEnd) / $1.tEnd }.max()
    }

    /// Same stages with boundaries within `tolerance` (relative) of the reference.
    public func agrees(within tolerance: Double) -> Bool {
        sameStages && (maxRelativeBoundaryDifference ?? 0) <= tolerance
    }

    /// `same_stages` and `max_rel_boundary_difference`, as summary.json has them.
    public var json: JSONValue { (try? JSONValue.encoding(self)) ?? .null }

    private enum CodingKeys: String, CodingKey { case sameStages = "same_stages", maxRelativeBoundaryDifference = "max_rel_boundary_difference" }
}
