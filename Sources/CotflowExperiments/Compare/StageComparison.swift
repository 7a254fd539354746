import CotflowCore
import CotflowStages

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
