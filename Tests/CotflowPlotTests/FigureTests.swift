@testable import CotflowPlot
import CotflowCore
import CotflowExperiments
import CotflowModel
import Foundation
import XCTest

/// Issue 24: the figures of the commands, checked on their panels, gnuplot script and data.
extension PlotTests {
    /// A train sweep over four learning rates with two seeds each: 0.01 stalls, 0.1 and 1 converge,
    /// 10 diverges (no final values). `constantDistance` makes distance_to_construction the same everywhere.
    func trainSweepReport(constantDistance: Bool = false) throws -> PhaseReport {
        let settings = ExperimentSettings(job: .train, optimizer: .sgd)
        let grid = try SweepGrid(specs: ["learning_rate=0.01,0.1,1,10", "seed=0,1"], allowedNames: SweepJob.train.axisNames,
                                 integerNames: SweepJob.integerAxes)
        let names = SweepJob.train.metricNames
        let records = grid.points.map { p -> SweepRecord in
            let lr = p["learning_rate"]!, seed = p["seed"]!
            var m = Dictionary(uniqueKeysWithValues: names.map { ($0, Double.nan) })
            m["initial_cot_loss"] = 2
            if lr < 5 {
                m["final_cot_loss"] = lr == 0.01 ? 1.8 + 0.1 * seed : (lr == 0.1 ? 1e-5 : 1e-4) * (1 + seed)
                (m["eval_loss_mean"], m["eval_loss_median"], m["eval_loss_top1pct_share"], m["w24"]) = (1, 1, 0.05, -1)
                m["distance_to_construction"] = constantDistance ? 0.05 : lr == 0.01 ? 0.9 : 0.01 * (1 + seed)
                m["t_end"] = 1000 * lr
            } else {
                m["diverged_step"] = 7
            }
            return SweepRecord(index: p.index, values: p.values, metrics: names.map { m[$0]! }, status: SweepRecord.ok)
        }
        return PhaseReport(grid: grid, metricNames: names, records: records, settings: settings)
    }

    /// The sweep figure draws the one or two metrics that decide the regimes (not all 17 columns),
    /// the replicate range as a shaded band (not two extra lines), and the regimes as bands, so that a
    /// diverged point, which has no final value, is marked rather than drawn as an ordinary point.
    func testSweepFigureDrawsTheRegimeMetricsWithAShadedSpreadAndTheRegimes() throws {
        let report = try trainSweepReport()
        XCTAssertEqual(report.regimes.values.map(\.regime.rawValue).sorted(),
                       ["converged", "converged", "converged", "converged", "diverged", "diverged", "stalled", "stalled"])
        guard case .lines(let panels, let title) = SweepFigure(report, metric: nil) else { return XCTFail("no line figure") }
        XCTAssertEqual(panels.map(\.yLabel), ["final_cot_loss", "distance_to_construction"])
        let loss = panels[0]
        XCTAssertEqual(loss.series.count, 1)
        XCTAssertEqual(loss.series[0].x, [0.01, 0.1, 1])   // no point at the diverged learning rate
        XCTAssertEqual(loss.series[0].low, [1.8, 1e-5, 1e-4])
        XCTAssertEqual(loss.series[0].high, [1.8 + 0.1, 2e-5, 2e-4])
        XCTAssertEqual(loss.shaded.map(\.label), ["stalled", "converged", "diverged"])
        // Cells end halfway (geometrically) between grid values: the diverged band covers 10.
        XCTAssertEqual(loss.shaded[2].start, 10.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(loss.shaded[2].end, 10 * 10.0.squareRoot(), accuracy: 1e-9)

        let b = base("sweep/figure")
        _ = try Plotter.render(panels: panels, title: title, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("using 1:3:4 with filledcurves"), script)
        XCTAssertTrue(script.contains("title 'range across seed'"), script)
        XCTAssertFalse(script.contains("yerrorlines"), script)
        XCTAssertFalse(script.contains("replicate min") || script.contains("replicate max"), script)
        XCTAssertTrue(script.contains("title '3: diverged'"), script)
        XCTAssertTrue(script.contains("fillcolor rgb \"\(SweepFigure.colour(.diverged))\""), script)
        XCTAssertEqual(script.components(separatedBy: "\nset multiplot layout 2,1").count - 1, 1, script)
        let data = try String(contentsOfFile: b + ".tsv", encoding: .utf8)
        // The first block (the medians) carries the spread as columns low and high.
        let rows = data.split(separator: "\n").filter { !$0.hasPrefix("#") }.prefix(3)
        XCTAssertEqual(rows.map { $0.split(separator: "\t").count }, [4, 4, 4], data)
        XCTAssertTrue(rows[rows.startIndex + 1].hasPrefix("0.1\t") && rows[rows.startIndex + 1].hasSuffix("\t1e-05\t2e-05"), data)
    }

    /// A constant metric says nothing and is left out of the default figure; `--plot-metric` chooses
    /// the metrics of a 1-D figure (a list), and the heatmap of a 2-D one takes one.
    func testSweepFigureDropsConstantMetricsAndTakesThePlotMetric() throws {
        guard case .lines(let defaults, _) = SweepFigure(try trainSweepReport(constantDistance: true), metric: nil) else { return XCTFail() }
        XCTAssertEqual(defaults.map(\.yLabel), ["final_cot_loss"])
        let report = try trainSweepReport()
        guard case .lines(let chosen, _) = SweepFigure(report, metric: "eval_loss_mean,t_end") else { return XCTFail() }
        XCTAssertEqual(chosen.map(\.yLabel), ["eval_loss_mean", "t_end"])
    }

    /// `eval --plot`: after a log axis ("10^{%L}"), gnuplot 5.4 printed a linear axis of format
    /// "% h" as 0.10000, 0.20000, ... and the labels ran together. The linear format is "%h".
    func testLinearTickLabelsAfterALogAxisAreShort() throws {
        let q = (0..<200).map { (Double($0) + 0.5) / 200 }
        let spec = PlotSpec(title: "per-prompt loss", xLabel: "quantile q", yLabel: "loss", logY: true,
                            series: [PlotSeries(name: "losses", x: q, y: q.map { 1e-3 * exp(10 * $0) })])
        let b = base("ticks/quantiles")
        let options = Plotter.gnuplotPath() == nil ? missing() : Plotter.Options()
        let outcome = try Plotter.render(panels: [spec], title: nil, to: b, options: options)
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("set format x \"%h\"\n"), script)
        XCTAssertFalse(script.contains("% h"), script)
        guard Plotter.gnuplotPath() != nil else { return }
        XCTAssertTrue(outcome.rendered, outcome.message)
        let svg = try String(contentsOfFile: b + ".svg", encoding: .utf8)
        XCTAssertTrue(svg.contains(">0.5</tspan>"), svg)
        XCTAssertFalse(svg.contains("0.50000"), svg)
    }

    /// `train --plot` draws against flow time t, as the README says (it drew against the step).
    func testTrainingFigureIsAgainstFlowTime() throws {
        let task = try TaskConfig(d: 2, n: 6, k: 1, eta: 0.5)
        let config = TrainingConfig(task: task, objective: .cot, trainable: .reduced, initialisation: .assumption, optimizer: .sgd,
                                    learningRate: 0.05, batchSize: 16, steps: 20, recordEvery: 10, heldOutSize: 50, seed: 1)
        let result = try Trainer(config: config).run()
        let panels = Figures.training(result.trajectory, eta: 0.5, optimizer: .sgd)
        for panel in panels {
            XCTAssertEqual(panel.xLabel, "flow time t (t = learning_rate x step)")
            for series in panel.series { XCTAssertEqual(series.x, [0, 0.5, 1.0], series.name) }
        }
        XCTAssertEqual(Figures.training(result.trajectory, eta: 0.5, optimizer: .adam)[0].xLabel, "t = learning rate x step (adam has no time map)")
        // A diverged run is marked where it diverged.
        let marked = Figures.training(result.trajectory, eta: 0.5, optimizer: .sgd, diverged: (step: 13, time: 0.65))
        XCTAssertEqual(marked[0].verticalLines.map(\.label), ["diverged at step 13"])
        XCTAssertEqual(marked[0].verticalLines.map(\.x), [0.65])
    }

    /// `compare --plot` has a panel of the relative loss deviation of training from the flow against t.
    func testComparisonFigureHasADeviationPanel() throws {
        var config = try ComparisonConfig.defaults(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3), seed: 0)
        (config.training.steps, config.training.recordEvery, config.training.heldOutSize, config.training.batchSize) = (200, 50, 1000, 64)
        let comparison = try Comparator.run(config)
        let run = try XCTUnwrap(comparison.runs.first)
        let panels = Figures.comparison(comparison)
        XCTAssertEqual(panels.count, 4)
        let deviation = panels[1]
        XCTAssertTrue(deviation.title.hasPrefix("relative loss deviation"), deviation.title)
        XCTAssertTrue(deviation.logY)
        XCTAssertEqual(deviation.series.map(\.name), ["reduced training vs the reduced flow"])
        XCTAssertEqual(deviation.series[0].x, run.times)
        XCTAssertEqual(deviation.series[0].y, try XCTUnwrap(run.relativeLossDeviation))
        // The diagnostics panel plots the validity points of the run's first correction.
        let points = try XCTUnwrap(run.correction?.validity.points)
        let noise = panels[3]
        XCTAssertTrue(noise.title.hasPrefix("along the flow: batch-noise bound"), noise.title)
        XCTAssertEqual(noise.series[0].name, "reduced: noise bound h tr(Sigma)/(4BL)")
        XCTAssertEqual(noise.series[0].x, points.map(\.time))
        XCTAssertEqual(noise.series[0].y, points.map(\.noiseExcess))
        XCTAssertEqual(noise.series[1].y, points.map(\.noise.losses.topPercentShare))
        XCTAssertEqual(noise.horizontalLines.map(\.y), [2])
    }
}
