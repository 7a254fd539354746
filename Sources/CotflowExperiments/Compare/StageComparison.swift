import CotflowCore
import CotflowStages

/// The stages of one curve by both detectors.
public struct StageAnalysis: Sendable {
    public let changePoint: [Stage]
    public let mechanistic: [Stage]
    public let boundaries: MechanisticBoundaries

    /// `manifoldDistance`: the distance from the block manifold per time, for the landmark of a random start.
    public init(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double, manifoldDistance: [Double]? = nil) throws {
        changePoint = try ChangePointDetector.stages(times: times, losses: losses)
        boundaries = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: eta, manifoldDistance: manifoldDistance)
        mechanistic = try MechanisticDetector.stages(times: times, losses: losses, boundaries: boundaries)
    }

    public var json: JSONValue {
        .object([
            ("stages", StageTable.json(changePoint)),
            ("mechanistic_stages", StageTable.json(mechanistic)),
            ("mechanistic_boundaries", boundaries.json),
        ])
    }
}

/// Whether two stage tables name the same stages, and how far apart their boundaries are.
public struct StageAgreement: Sendable, Codable {
    /// Same number of stages with the same names, in order.
    public let sameStages: Bool
    /// max over interior boundaries of |t_a - t_b| / t_b (nil when the stages differ or there
    /// is no interior boundary).
    public let maxRelativeBoundaryDifference: Double?

    public init(_ a: [Stage], reference b: [Stage]) {
        sameStages = a.map(\.name) == b.map(\.name)
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
