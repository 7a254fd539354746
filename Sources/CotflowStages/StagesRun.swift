import CotflowCore
import Foundation

/// A stage analysis as a value (`cotflow stages`): a trajectory table, its columns and the
/// detectors' settings, and the step size of the construction (nil: eta from summary.json beside
/// the file, if any). Nothing runs until `solve`.
public struct StagesRun: RecordableRun {
    public static let computation = "stages"

    public var file: InputFile
    public var options: TrajectoryStagesOptions
    /// The step size as given (a decimal or a rational such as 40/51); nil: from summary.json beside the file.
    public var eta: String?

    public init(file: InputFile, options: TrajectoryStagesOptions = TrajectoryStagesOptions(), eta: String? = nil) {
        (self.file, self.options, self.eta) = (file, options, eta)
    }

    /// The detectors' settings and the step size.
    public func validate() throws {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws { if !condition { throw CotflowError.input(message()) } }
        let c = options.changePoint, m = options.mechanistic
        if let penalty = c.penalty { try check(penalty.isFinite && penalty >= 0, "--penalty must be non-negative (got \(penalty))") }
        try check(c.noiseFloor.isFinite && c.noiseFloor >= 0, "--noise-floor must be non-negative (got \(c.noiseFloor))")
        try check((10...20_000).contains(c.gridPoints), "--grid-points must be in 10...20000 (got \(c.gridPoints))")
        try check(c.minimumSegmentFraction > 0 && c.minimumSegmentFraction <= 0.5, "--min-segment must be in (0, 0.5] (got \(c.minimumSegmentFraction))")
        try check(m.plateauProduct > 0 && m.plateauProduct < 1, "--plateau-product must be in (0, 1) (got \(m.plateauProduct))")
        try check(m.productTolerance.isFinite && m.productTolerance > 0, "--product-tolerance must be positive (got \(m.productTolerance))")
        try check(m.exponentialTolerance.isFinite && m.exponentialTolerance > 0, "--exponential-tolerance must be positive (got \(m.exponentialTolerance))")
        try check(m.blockManifoldFraction > 0 && m.blockManifoldFraction < 1, "--manifold-fraction must be in (0, 1) (got \(m.blockManifoldFraction))")
        if let eta { try check(Rational.parse(eta).map { $0 > Rational.zero } ?? false, "--eta must be a positive decimal or rational such as 40/51 (got '\(eta)')") }
    }

    /// Reads the table and runs both detectors; errors name the file.
    public func solve() throws -> StagesOutcome {
        try validate()
        do {
            let data = try CSVData.parse(try file.text(what: "CSV file"), source: file.given)
            var step: StepSizeSource?
            let stages = try TrajectoryStages(data: data, options: options) {
                step = try stepSize()
                return step?.value
            }
            return StagesOutcome(run: self, stages: stages, eta: step)
        } catch let error as ReportableError {
            let message = error.description.contains(file.given) ? error.description : "\(file.given): \(error.description)"
            throw CotflowError.input(message)
        }
    }

    /// summary.json beside the file, as `ode`, `train` and `compare` write it.
    public var summaryBeside: InputFile { file.sibling("summary.json") }

    /// eta from `eta`, else from summary.json beside the file; nil if neither.
    private func stepSize() throws -> StepSizeSource? {
        if let eta, let r = Rational.parse(eta) { return StepSizeSource(value: r.doubleValue, text: eta, source: "--eta") }
        let summary = summaryBeside
        guard FileManager.default.fileExists(atPath: summary.path) else { return nil }
        let parsed = try JSONInput.object(summary.path, what: "summary file")
        guard let object = parsed as? [String: Any] else {
            throw CotflowError.input("summary file \(summary.given) holds \(JSONInput.typeName(parsed)), not a JSON object; give --eta")
        }
        let text: String?
        if let s = object["eta_exact"] as? String { text = s } else if let s = object["eta"] as? String { text = s }
        else if let x = object["eta"] as? NSNumber { text = x.stringValue } else { text = nil }
        guard let text else { return nil }
        guard let r = Rational.parse(text), r > Rational.zero else { throw CotflowError.input("\(summary.given): eta '\(text)' is not a positive number; give --eta") }
        return StepSizeSource(value: r.doubleValue, text: text, source: summary.given)
    }

    /// ", (d, n, k) = (...)" from summary.json beside the file, or "" when it does not say.
    public var taskBeside: String {
        guard let object = (try? JSONInput.object(summaryBeside.path, what: "summary file")) as? [String: Any],
              let d = object["d"] as? Int, let n = object["n"] as? Int, let k = object["k"] as? Int else { return "" }
        return ", (d, n, k) = (\(d), \(n), \(k))"
    }
}

/// The step size of the construction, as read: its value, its text and where it came from.
public struct StepSizeSource: Sendable {
    public var value: Double
    public var text: String
    /// "--eta" or the summary file's path.
    public var source: String
}

/// A solved stage analysis: the stages and the metrics stages.json records.
public struct StagesOutcome: Sendable {
    public let run: StagesRun
    public let stages: TrajectoryStages
    public let eta: StepSizeSource?
    public let metrics: StagesMetrics
    public var status: RunStatus { .completed }

    public init(run: StagesRun, stages a: TrajectoryStages, eta: StepSizeSource?) {
        (self.run, stages, self.eta) = (run, a, eta)
        metrics = StagesMetrics(file: run.file.given, timeColumn: run.options.timeColumn, lossColumn: a.lossColumn, eta: eta?.value,
                                etaExact: eta?.text, story: a.story, notes: a.notes)
    }

    /// The report `cotflow stages` prints; `out` the directory written, if any.
    public func report(out: String?) -> String {
        let a = stages, story = a.story, timeColumn = run.options.timeColumn
        let basis = story.boundaries != nil ? "read off the eigenvalues, eta = \(eta?.text ?? "") from \(eta?.source ?? "")" : "change points of ln(\(a.lossColumn)): no eigenvalues to read"
        var lines = [StageTable.text(story.stages, title: "stages of \(run.file.given), ln(\(a.lossColumn)) against \(timeColumn) (\(basis); notes/stages.md):")]
        if let b = story.boundaries, var landmarks = story.landmarkLine {
            if a.hasManifoldColumn {
                landmarks += "; on the block manifold (\(TrajectoryStages.manifoldColumn) <= \(fmt(run.options.mechanistic.blockManifoldFraction)) x its start) from \(b.blockManifoldReached.map(fmt) ?? "no time: on it throughout, or above the band at the end")"
            }
            lines.append("  " + landmarks)
            lines.append("")
            if let check = story.crossCheckLine { lines.append(check) }
            lines.append(StageTable.text(story.changePoints, title: "change-point stages (the cross-check):"))
        }
        for note in a.notes { lines.append("note: \(note)") }
        if let out { lines.append("wrote \(out)/stages.csv" + (story.boundaries != nil ? ", \(out)/change_point_stages.csv" : "") + " and \(out)/stages.json") }
        return lines.joined(separator: "\n")
    }
}

/// What stages.json records besides the run: the columns read, the step size, the stage table
/// (`stages`, what it is read off: `stages_by`), its plateau end, the change-point cross-check,
/// the eigenvalue landmarks and the notes.
public struct StagesMetrics: Codable, Sendable {
    public var file, timeColumn, lossColumn: String
    public var eta: Double?
    public var etaExact: String?
    public var stagesBy: StageStory.Basis
    public var stages: [Stage]
    public var plateauEnd: Double?
    /// The change-point stages when `stages` is read off the eigenvalues (nil: `stages` are they).
    public var changePointStages: [Stage]?
    public var stageCrossCheck: StageCrossCheck?
    public var mechanisticBoundaries: MechanisticBoundaries?
    public var notes: [String]

    public init(file: String, timeColumn: String, lossColumn: String, eta: Double?, etaExact: String?, story: StageStory, notes: [String]) {
        (self.file, self.timeColumn, self.lossColumn, self.eta, self.etaExact, self.notes) = (file, timeColumn, lossColumn, eta, etaExact, notes)
        (stagesBy, stages, plateauEnd) = (story.basis, story.stages, story.plateauEnd)
        (changePointStages, stageCrossCheck, mechanisticBoundaries) = (story.boundaries == nil ? nil : story.changePoints, story.crossCheck, story.boundaries)
    }

    private enum CodingKeys: String, CodingKey {
        case file, timeColumn = "time_column", lossColumn = "loss_column", eta, etaExact = "eta_exact", stagesBy = "stages_by", stages
        case plateauEnd = "plateau_end", changePointStages = "change_point_stages", stageCrossCheck = "stage_cross_check"
        case mechanisticBoundaries = "mechanistic_boundaries", notes
    }
}

extension Stage: Codable {
    private enum CodingKeys: String, CodingKey {
        case index, name, tStart = "t_start", tEnd = "t_end", lossStart = "loss_start", lossEnd = "loss_end"
        case meanLogSlope = "mean_log_slope", rate, duration
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index); try c.encode(label, forKey: .name)
        try c.encode(tStart, forKey: .tStart); try c.encode(tEnd, forKey: .tEnd); try c.encode(lossStart, forKey: .lossStart)
        try c.encode(lossEnd, forKey: .lossEnd); try c.encode(meanLogSlope, forKey: .meanLogSlope); try c.encode(rate, forKey: .rate)
        try c.encode(duration, forKey: .duration)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        guard let parsed = Stage.parse(label: name) else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "unknown stage name '\(name)'")
        }
        self.init(index: try c.decode(Int.self, forKey: .index), name: parsed.name, ordinal: parsed.ordinal, tStart: try c.decode(Double.self, forKey: .tStart),
                  tEnd: try c.decode(Double.self, forKey: .tEnd), lossStart: try c.decode(Double.self, forKey: .lossStart),
                  lossEnd: try c.decode(Double.self, forKey: .lossEnd), meanLogSlope: try c.decode(Double.self, forKey: .meanLogSlope),
                  rate: try c.decode(Double.self, forKey: .rate))
    }
}
