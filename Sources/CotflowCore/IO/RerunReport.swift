import Foundation

/// What `cotflow rerun` reports: which directories, versions and files it compared, and whether
/// the rerun reproduces the original (its JSON encoding is what `rerun --json` prints).
package struct RerunReport: Encodable {
    package var cotflowVersion = CotflowCore.cotflowVersion
    package var directory, rerun, recordedVersion: String
    package var tolerance: Double
    package var files: [String]
    /// Figure data found in the original directory and not compared (a rerun draws no figures).
    package var figureData: [String]
    package var reproduces: Bool
    package var differences: [String]

    package init(directory: String, rerun: String, recordedVersion: String, comparison: OutputComparison) {
        (self.directory, self.rerun, self.recordedVersion, tolerance) = (directory, rerun, recordedVersion, comparison.tolerance)
        (files, figureData, reproduces, differences) = (comparison.compared, comparison.figureData, comparison.reproduces, comparison.differences)
    }

    private enum CodingKeys: String, CodingKey {
        case cotflowVersion = "cotflow_version", directory, rerun, recordedVersion = "recorded_version", tolerance, files, figureData = "figure_data_not_compared", reproduces, differences
    }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cotflowVersion, forKey: .cotflowVersion); try c.encode(directory, forKey: .directory); try c.encode(rerun, forKey: .rerun)
        try c.encode(recordedVersion, forKey: .recordedVersion); try c.encode(tolerance, forKey: .tolerance); try c.encode(files, forKey: .files)
        try c.encode(figureData, forKey: .figureData)
        try c.encode(reproduces, forKey: .reproduces); try c.encode(Array(differences.prefix(100)), forKey: .differences)
    }

    /// The report for people.
    package var text: String {
        var lines = ["reran \(directory) into \(rerun) (cotflow \(cotflowVersion); recorded by \(recordedVersion))",
                     "compared \(files.joined(separator: ", "))" + (tolerance > 0 ? " within relative tolerance \(tolerance)" : " bit for bit")]
        if !figureData.isEmpty {
            lines.append("not compared: \(figureData.joined(separator: ", ")) (figure data; a rerun draws no figures)")
        }
        if reproduces {
            lines.append("REPRODUCES: every number and field agrees")
        } else {
            lines.append("DOES NOT REPRODUCE: \(differences.count) difference\(differences.count == 1 ? "" : "s")")
            lines += differences.prefix(20).map { "  \($0)" }
            if differences.count > 20 { lines.append("  ... (\(differences.count - 20) more)") }
        }
        return lines.joined(separator: "\n")
    }
}
