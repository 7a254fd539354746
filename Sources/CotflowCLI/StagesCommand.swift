import ArgumentParser
import CotflowPlot
import CotflowCore
import CotflowStages
import Foundation

struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Split a loss curve into stages: penalised change points of ln(loss), and mechanistic boundaries of the reduced model.",
        discussion: "FILE is a CSV with a header row, such as trajectory.csv from `cotflow ode` or `cotflow train`, or one written by pandas (an unnamed index column and text columns are accepted). The data-driven detector fits piecewise-linear segments to ln(loss) against t; the mechanistic one needs the eigenvalue columns and eta (from --eta or summary.json beside FILE). With --out: stages.csv, mechanistic_stages.csv (index, name, then numbers) and stages.json. Details: notes/stages.md."
    )

    @Argument(help: "CSV file with a time column and a loss column.") var file: String
    @OptionGroup var output: OutputOptions

    @Option(name: .customLong("time-column"), help: "Time column (train's trajectory.csv also has step).") var timeColumn = "t"
    @Flag(help: "Render stages.svg/.png (loss on a log axis with the stages shaded; eigenvalue trajectories) into --out.") var plot = false
    @Option(name: .customLong("loss-column"), help: "Loss column. (default: loss if present, else cot_loss_mean)") var lossColumn: String?
    @Option(name: .customLong("v-prefix"), help: "Prefix of the eigenvalue columns of V31. (default: v_ if v_1 exists, else v_diag_)") var vPrefix: String?
    @Option(name: .customLong("w-prefix"), help: "Prefix of the eigenvalue columns of W13. (default: w_ if w_1 exists, else w_diag_)") var wPrefix: String?
    @Option(parsing: .unconditional, help: "GD step size of the construction: a decimal or a rational such as 40/51. (default: eta from summary.json beside FILE)") var eta: String?

    @Option(parsing: .unconditional, help: "Penalty per segment of the change-point fit. (default: 8 sigma^2 ln N, see notes/stages.md)") var penalty: Double?
    @Option(name: .customLong("noise-floor"), parsing: .unconditional, help: "Floor on the noise level of ln(loss).") var noiseFloor = ChangePointOptions().noiseFloor
    @Option(name: .customLong("grid-points"), parsing: .unconditional, help: "Equally spaced times ln(loss) is resampled onto.") var gridPoints = ChangePointOptions().gridPoints
    @Option(name: .customLong("min-segment"), parsing: .unconditional, help: "Minimum stage length of the change-point fit, as a fraction of the time span.") var minSegment = ChangePointOptions().minimumSegmentFraction
    @Option(name: .customLong("plateau-drop"), parsing: .unconditional, help: "The plateau ends when the loss is below (1 - this) x its initial value.") var plateauDrop = MechanisticOptions().plateauDrop
    @Option(name: .customLong("product-tolerance"), parsing: .unconditional, help: "Relative tolerance of max_j |v_j w_j + eta| / eta.") var productTolerance = MechanisticOptions().productTolerance
    @Option(name: .customLong("exponential-tolerance"), parsing: .unconditional, help: "Relative tolerance of the local slope of ln(loss) against the final rate.") var exponentialTolerance = MechanisticOptions().exponentialTolerance
    @Option(name: .customLong("manifold-fraction"), parsing: .unconditional, help: "With a data_off_block_norm column (train, ode --params full): the weights are on the block manifold once the norm of the data path outside the V31/W13/W24 blocks is at most this fraction of its start.") var manifoldFraction = MechanisticOptions().blockManifoldFraction

    func validate() throws {
        if let penalty { guard penalty.isFinite, penalty >= 0 else { throw ValidationError("--penalty must be non-negative (got \(penalty))") } }
        guard noiseFloor.isFinite, noiseFloor >= 0 else { throw ValidationError("--noise-floor must be non-negative (got \(noiseFloor))") }
        guard gridPoints >= 10, gridPoints <= 20_000 else { throw ValidationError("--grid-points must be in 10...20000 (got \(gridPoints))") }
        guard minSegment > 0, minSegment <= 0.5 else { throw ValidationError("--min-segment must be in (0, 0.5] (got \(minSegment))") }
        guard plateauDrop > 0, plateauDrop < 1 else { throw ValidationError("--plateau-drop must be in (0, 1) (got \(plateauDrop))") }
        guard productTolerance.isFinite, productTolerance > 0 else { throw ValidationError("--product-tolerance must be positive (got \(productTolerance))") }
        guard exponentialTolerance.isFinite, exponentialTolerance > 0 else { throw ValidationError("--exponential-tolerance must be positive (got \(exponentialTolerance))") }
        guard manifoldFraction > 0, manifoldFraction < 1 else { throw ValidationError("--manifold-fraction must be in (0, 1) (got \(manifoldFraction))") }
        if let eta {
            guard let value = Rational.parse(eta), value > Rational.zero else {
                throw ValidationError("--eta must be a positive decimal or rational such as 40/51 (got '\(eta)')")
            }
        }
        try output.checkPlot(plot)
    }

    func run() throws {
        do {
            try readingInput { try analyse() }
        } catch let error as CotflowError where !error.description.contains(file) {
            throw CotflowError("\(file): \(error.description)", kind: error.kind)
        }
    }

    private func analyse() throws {
        let data = try CSVData.load(path: file)
        var options = TrajectoryStagesOptions()
        options.timeColumn = timeColumn
        options.lossColumn = lossColumn
        options.vPrefix = vPrefix
        options.wPrefix = wPrefix
        options.changePoint.penalty = penalty
        options.changePoint.noiseFloor = noiseFloor
        options.changePoint.gridPoints = gridPoints
        options.changePoint.minimumSegmentFraction = minSegment
        options.mechanistic.plateauDrop = plateauDrop
        options.mechanistic.productTolerance = productTolerance
        options.mechanistic.exponentialTolerance = exponentialTolerance
        options.mechanistic.blockManifoldFraction = manifoldFraction
        var etaValue: (value: Double, text: String, source: String)?
        let a = try TrajectoryStages(data: data, options: options) {
            etaValue = try stepSize()
            return etaValue?.value
        }
        try output.prepare(files: ["stages.csv", "mechanistic_stages.csv", "stages.json", "stages.svg", "stages.png"])
        try output.write(StageTable.csvText(a.changePoint), "stages.csv")
        if a.boundaries != nil { try output.write(StageTable.csvText(a.mechanistic), "mechanistic_stages.csv") }
        let object = json(a, eta: etaValue)
        try output.write(object.rendered() + "\n", "stages.json")
        output.emit(json: object, report: report(a, eta: etaValue))
        if plot {
            let panels = Figures.stages(times: a.times, losses: a.losses, lossName: a.lossColumn, timeColumn: timeColumn, changePoint: a.changePoint,
                                        mechanistic: a.mechanistic, eigenvalues: (v: a.v, w: a.w, vPrefix: a.vPrefix, wPrefix: a.wPrefix),
                                        eta: etaValue?.value)
            try renderFigure(panels, name: "stages", title: "stages of \((file as NSString).lastPathComponent)" + taskBeside(), output: output)
        }
    }

    /// ", (d, n, k) = (...)" from summary.json beside the file, or "" when it does not say.
    private func taskBeside() -> String {
        let summary = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("summary.json")
        guard let object = (try? JSONInput.object(summary, what: "summary file")) as? [String: Any],
              let d = object["d"] as? Int, let n = object["n"] as? Int, let k = object["k"] as? Int else { return "" }
        return ", (d, n, k) = (\(d), \(n), \(k))"
    }

    /// eta from --eta, else from summary.json beside the file; nil if neither.
    private func stepSize() throws -> (value: Double, text: String, source: String)? {
        if let eta, let r = Rational.parse(eta) { return (r.doubleValue, eta, "--eta") }
        let summary = ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("summary.json")
        guard FileManager.default.fileExists(atPath: summary) else { return nil }
        let parsed = try JSONInput.object(summary, what: "summary file")
        guard let object = parsed as? [String: Any] else {
            throw CotflowError.input("summary file \(summary) holds \(JSONInput.typeName(parsed)), not a JSON object; give --eta")
        }
        let text: String?
        if let s = object["eta_exact"] as? String { text = s } else if let s = object["eta"] as? String { text = s }
        else if let x = object["eta"] as? NSNumber { text = x.stringValue } else { text = nil }
        guard let text else { return nil }
        guard let r = Rational.parse(text), r > Rational.zero else { throw CotflowError.input("\(summary): eta '\(text)' is not a positive number; give --eta") }
        return (r.doubleValue, text, summary)
    }

    private func json(_ a: TrajectoryStages, eta: (value: Double, text: String, source: String)?) -> JSONValue {
        let loss = a.lossColumn, b = a.boundaries
        let settings: [(String, JSONValue)] = [
            ("file", .string(file)), ("time_column", .string(timeColumn)), ("loss_column", .string(loss)),
            ("v_prefix", .string(vPrefix ?? "")), ("w_prefix", .string(wPrefix ?? "")), ("eta", eta.map { .string($0.text) } ?? .null),
            ("penalty", penalty.map { .number($0) } ?? .null), ("noise_floor", .number(noiseFloor)), ("grid_points", .int(gridPoints)),
            ("min_segment", .number(minSegment)), ("plateau_drop", .number(plateauDrop)),
            ("product_tolerance", .number(productTolerance)), ("exponential_tolerance", .number(exponentialTolerance)),
        ]
        var pairs: [(String, JSONValue)] = Provenance(settings: settings).json + [
            ("file", .string(file)), ("time_column", .string(timeColumn)), ("loss_column", .string(loss)),
            ("eta", eta.map { .number($0.value) } ?? .null), ("eta_exact", eta.map { .string($0.text) } ?? .null),
            ("stages", StageTable.json(a.changePoint)),
            ("mechanistic_stages", b == nil ? .null : StageTable.json(a.mechanistic)),
            ("mechanistic_boundaries", b?.json ?? .null),
        ]
        pairs.append(("notes", .array(a.notes.map { .string($0) })))
        return .object(pairs)
    }

    private func report(_ a: TrajectoryStages, eta: (value: Double, text: String, source: String)?) -> String {
        let loss = a.lossColumn, b = a.boundaries
        var lines = [StageTable.text(a.changePoint, title: "change-point stages of ln(\(loss)) against \(timeColumn), \(file):")]
        if let b, let eta {
            func show(_ x: Double?) -> String { x.map(fmt) ?? "not reached" }
            lines.append("")
            lines.append(StageTable.text(a.mechanistic, title: "mechanistic stages (eta = \(eta.text) from \(eta.source)):"))
            lines.append("  plateau end \(show(b.plateauEnd)), products v_j w_j at -eta \(show(b.productReached)), exponential from \(show(b.exponentialStart))"
                + (a.hasManifoldColumn ? ", on the block manifold (\(TrajectoryStages.manifoldColumn) <= \(fmt(manifoldFraction)) x its start) from \(show(b.blockManifoldReached))" : ""))
        }
        for note in a.notes { lines.append("note: \(note)") }
        if let out = output.out {
            lines.append("wrote \(out)/stages.csv" + (b != nil ? ", \(out)/mechanistic_stages.csv" : "") + " and \(out)/stages.json")
        }
        return lines.joined(separator: "\n")
    }
}
