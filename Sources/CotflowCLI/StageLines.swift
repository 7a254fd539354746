import CotflowCore
import CotflowExperiments
import CotflowStages

/// The stage table of a run's trajectory as `ode` and `train` quote it (notes/stages.md): one line
/// in the report (`cotflow stages DIR/trajectory.csv --json` gives the table in JSON). A trajectory
/// the detectors cannot read (a diverged run, too few records) gets a line saying so; `none` (a
/// run that does not train the CoT objective) adds nothing.
struct StageLines {
    let story: StageStory?
    let problem: String?

    static let none = StageLines(story: nil, problem: nil)
    private init(story: StageStory?, problem: String?) { (self.story, self.problem) = (story, problem) }

    init(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double, manifoldDistance: [Double]? = nil) {
        do {
            story = try StageAnalysis(times: times, losses: losses, v: v, w: w, eta: eta, manifoldDistance: manifoldDistance).story
            problem = nil
        } catch {
            (story, problem) = (nil, "\(error)")
        }
    }

    /// The report with the stage line before its closing "wrote ..." line.
    func adding(to report: String) -> String {
        if story == nil && problem == nil { return report }
        let line = story.map { $0.summaryLine + "; `cotflow stages` for the table and its cross-check" } ?? "stages: none (\(problem ?? ""))"
        var lines = report.components(separatedBy: "\n")
        lines.insert(line, at: lines.last?.hasPrefix("wrote ") == true ? lines.count - 1 : lines.count)
        return lines.joined(separator: "\n")
    }

}
