import CotflowCore

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

/// The stage table of a run's trajectory as `ode` and `train` quote it (notes/stages.md): one line
/// in the report (`cotflow stages DIR/trajectory.csv --json` gives the table in JSON). A trajectory
/// the detectors cannot read (a diverged run, too few records) gets a line saying so; `none` (a
/// run that does not train the CoT objective) adds nothing.
package struct StageLine: Sendable {
    let story: StageStory?
    let problem: String?

    package static let none = StageLine(story: nil, problem: nil)
    private init(story: StageStory?, problem: String?) { (self.story, self.problem) = (story, problem) }

    package init(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double, manifoldDistance: [Double]? = nil) {
        do {
            story = try StageAnalysis(times: times, losses: losses, v: v, w: w, eta: eta, manifoldDistance: manifoldDistance).story
            problem = nil
        } catch {
            (story, problem) = (nil, "\(error)")
        }
    }

    /// The report with the stage line before its closing "wrote ..." line.
    package func adding(to report: String) -> String {
        if story == nil && problem == nil { return report }
        let line = story.map { $0.summaryLine + "; `cotflow stages` for the table and its cross-check" } ?? "stages: none (\(problem ?? ""))"
        var lines = report.components(separatedBy: "\n")
        lines.insert(line, at: lines.last?.hasPrefix("wrote ") == true ? lines.count - 1 : lines.count)
        return lines.joined(separator: "\n")
    }
}
