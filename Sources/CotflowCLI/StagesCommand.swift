import ArgumentParser
import CotflowPlot
import CotflowCore
import CotflowExperiments
import CotflowStages
import Foundation

struct StagesCommand: CotflowCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "Split a loss curve into stages: read off the eigenvalues (plateau, transition, convergence), cross-checked by change points of ln(loss).",
        discussion: "FILE is a CSV with a header row, such as trajectory.csv from `cotflow ode` or `cotflow train`, or one written by pandas (an unnamed index column and text columns are accepted). The stage table is read off the eigenvalue columns and eta (from --eta or summary.json beside FILE): the plateau ends when the products v_j w_j reach a tenth of the GD value -eta, convergence begins when they are within 5% of it. Piecewise-linear change points of ln(loss) against t cross-check it (and are the table when there are no eigenvalues). With --out: stages.csv (the table), change_point_stages.csv (the cross-check; index, name, then numbers) and stages.json. Details: notes/stages.md."
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
    @Option(name: .customLong("plateau-product"), parsing: .unconditional, help: "The plateau ends when max_j |v_j w_j| reaches this fraction of eta.") var plateauProduct = MechanisticOptions().plateauProduct
    @Option(name: .customLong("product-tolerance"), parsing: .unconditional, help: "Relative tolerance of max_j |v_j w_j + eta| / eta.") var productTolerance = MechanisticOptions().productTolerance
    @Option(name: .customLong("exponential-tolerance"), parsing: .unconditional, help: "Relative tolerance of the local slope of ln(loss) against the final rate.") var exponentialTolerance = MechanisticOptions().exponentialTolerance
    @Option(name: .customLong("manifold-fraction"), parsing: .unconditional, help: "With a data_off_block_norm column (train, ode --params full): the weights are on the block manifold once the norm of the data path outside the V31/W13/W24 blocks is at most this fraction of its start.") var manifoldFraction = MechanisticOptions().blockManifoldFraction

    /// The analysis the options describe.
    var stagesRun: StagesRun {
        var options = TrajectoryStagesOptions()
        (options.timeColumn, options.lossColumn, options.vPrefix, options.wPrefix) = (timeColumn, lossColumn, vPrefix, wPrefix)
        (options.changePoint.penalty, options.changePoint.noiseFloor, options.changePoint.gridPoints) = (penalty, noiseFloor, gridPoints)
        options.changePoint.minimumSegmentFraction = minSegment
        (options.mechanistic.plateauProduct, options.mechanistic.productTolerance) = (plateauProduct, productTolerance)
        (options.mechanistic.exponentialTolerance, options.mechanistic.blockManifoldFraction) = (exponentialTolerance, manifoldFraction)
        return StagesRun(file: InputFile(file), options: options, eta: eta)
    }

    func validate() throws {
        try checkingInput { try stagesRun.validate() }
        try output.checkPlot(plot)
    }

    func run() throws {
        let run = stagesRun
        try output.solve(run, what: "stages") { outcome in
            guard plot else { return }
            let a = outcome.stages
            let panels = Figures.stages(times: a.times, losses: a.losses, lossName: a.lossColumn, timeColumn: timeColumn, story: a.story, eigenvalues: (v: a.v, w: a.w, vPrefix: a.vPrefix, wPrefix: a.wPrefix),
                                        eta: outcome.eta?.value)
            try renderFigure(panels, name: "stages", title: "stages of \((file as NSString).lastPathComponent)" + run.taskBeside, output: output)
        }
    }
}
