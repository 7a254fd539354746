import CotflowCore

/// What `TrajectoryStages` reads from a table: the columns and the detectors' settings.
public struct TrajectoryStagesOptions: Sendable, Codable, Equatable {
    public var timeColumn = "t"
    /// nil: `loss` if present, else `cot_loss_mean`.
    public var lossColumn: String?
    /// nil: `v_` if `v_1` exists, else `v_diag_` (and `w_` / `w_diag_` alike).
    public var vPrefix: String?
    public var wPrefix: String?
    public var changePoint = ChangePointOptions()
    public var mechanistic = MechanisticOptions()
    public init() {}
}

/// The stages of a trajectory table: change points of ln(loss), and the mechanistic stages when
/// the table has eigenvalue columns and a step size is known (else a note says why not).
public struct TrajectoryStages: Sendable {
    /// The column of the block-manifold landmark (`TransformerParameters.dataPathOffBlockNorm`).
    public static let manifoldColumn = "data_off_block_norm"

    public let times: [Double]
    public let losses: [Double]
    public let lossColumn: String
    public let vPrefix: String
    public let wPrefix: String
    /// Eigenvalue rows of V31 and W13 (empty without the columns).
    public let v: [[Double]]
    public let w: [[Double]]
    public let changePoint: [Stage]
    public let mechanistic: [Stage]
    /// The stage table to quote and its cross-check (notes/stages.md).
    public let story: StageStory
    /// nil when the mechanistic stages were skipped.
    public let boundaries: MechanisticBoundaries?
    public let notes: [String]
    /// Whether the table has `manifoldColumn`.
    public let hasManifoldColumn: Bool

    /// The loss column: the option, else `loss`, else `cot_loss_mean`.
    public static func lossColumn(_ data: CSVData, option: String?) throws -> String {
        if let option { return option }
        for name in ["loss", "cot_loss_mean"] where data.hasColumn(name) { return name }
        throw StageError.noLossColumn(source: data.source, columns: data.header)
    }

    /// The eigenvalue-column prefixes of V31 and W13.
    public static func prefixes(_ data: CSVData, v: String?, w: String?) -> (v: String, w: String) {
        (v ?? (data.hasColumn("v_1") ? "v_" : "v_diag_"), w ?? (data.hasColumn("w_1") ? "w_" : "w_diag_"))
    }

    /// Runs both detectors on `data` (named `data.source` in notes and errors). `eta` gives the
    /// step size (nil: none known); it is asked after the change-point fit, once.
    public init(data: CSVData, options: TrajectoryStagesOptions = TrajectoryStagesOptions(), eta: () throws -> Double?) throws {
        let file = data.source
        times = try data.column(options.timeColumn)
        lossColumn = try Self.lossColumn(data, option: options.lossColumn)
        losses = try data.column(lossColumn)
        changePoint = try ChangePointDetector.stages(times: times, losses: losses, options: options.changePoint)
        (vPrefix, wPrefix) = Self.prefixes(data, v: options.vPrefix, w: options.wPrefix)
        v = data.rows(prefix: vPrefix)
        w = data.rows(prefix: wPrefix)
        hasManifoldColumn = data.hasColumn(Self.manifoldColumn)
        let etaValue = try eta()
        var notes: [String] = [], mechanistic: [Stage] = [], boundaries: MechanisticBoundaries?
        if v.isEmpty || w.isEmpty {
            notes.append("no eigenvalue columns \(vPrefix)1.. and \(wPrefix)1.. in \(file): the stage table is the change points of ln(loss), without the eigenvalue landmarks")
        } else if let etaValue {
            let distance = hasManifoldColumn ? try data.column(Self.manifoldColumn) : nil
            let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: v, w: w, eta: etaValue,
                                                       options: options.mechanistic, manifoldDistance: distance)
            boundaries = b
            mechanistic = try MechanisticDetector.stages(times: times, losses: losses, boundaries: b)
        } else {
            notes.append("no --eta and no eta in summary.json beside \(file): the stage table is the change points of ln(loss), without the eigenvalue landmarks")
        }
        self.notes = notes
        self.mechanistic = mechanistic
        self.boundaries = boundaries
        story = try StageStory(times: times, losses: losses, changePoints: changePoint, boundaries: boundaries, stages: mechanistic,
                               v: v, w: w, eta: etaValue, options: options.mechanistic)
        // A stage with a non-finite time, loss or rate is not a result (times near the range of a double).
        for stage in changePoint + mechanistic {
            let fields = [("t_start", stage.tStart), ("t_end", stage.tEnd), ("loss_start", stage.lossStart), ("loss_end", stage.lossEnd),
                          ("mean_log_slope", stage.meanLogSlope), ("rate", stage.rate), ("duration", stage.duration)]
            if let bad = fields.first(where: { !$0.1.isFinite }) {
                throw StageError.stageNotFinite(source: file, index: stage.index, name: stage.name.rawValue, field: bad.0, value: bad.1,
                                                first: times.first ?? .nan, last: times.last ?? .nan, timeColumn: options.timeColumn)
            }
        }
    }
}
