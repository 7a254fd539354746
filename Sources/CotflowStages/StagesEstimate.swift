import CotflowCore
import Foundation

extension StagesRun {
    /// The work of this analysis, before it runs: parsing the file (its size in bytes, if it can
    /// be read) and the change-point fit, quadratic in `--grid-points` (every segment start and end).
    public func estimate() -> WorkEstimate {
        let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.doubleValue ?? 0
        let grid = Double(options.changePoint.gridPoints)
        return WorkEstimate([
            .init("stages", .serial, operations: 50 * bytes + 20 * grid * grid,
                  basis: "\(Int(bytes)) bytes of \(file.given) and a change-point fit on \(options.changePoint.gridPoints) grid points"),
        ])
    }
}
