import CotflowExact
import CotflowModel
@testable import CotflowExperiments
import CotflowCore
import Foundation
import XCTest

func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("cotflow-experiments-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func read(_ dir: String, _ name: String) throws -> String {
    try String(contentsOfFile: (dir as NSString).appendingPathComponent(name), encoding: .utf8)
}

/// A small SGD training job on the reduced parameters from Assumption 4.1 (about 0.1 s a point).
func smallTraining() -> ExperimentSettings {
    var s = ExperimentSettings(job: .train, optimizer: .sgd)
    s.d = 3; s.n = 12; s.k = 2
    s.training.trainable = .reduced
    s.training.initialisation = .assumption
    s.training.steps = 300
    s.training.batchSize = 64
    s.training.heldOutSize = 500
    return s
}

func sweep(_ settings: ExperimentSettings, _ specs: [String], jobs: Int, in dir: String) throws -> (SweepOutcome, PhaseReport) {
    let grid = try SweepGrid(specs: specs, allowedNames: settings.job.axisNames, integerNames: SweepJob.integerAxes)
    let outcome = try settings.sweep(grid, directory: dir, jobs: jobs)
    return (outcome, PhaseReport(grid: grid, metricNames: settings.job.metricNames, records: outcome.records, settings: settings))
}

final class FlowStageMediansTests: XCTestCase {
    /// Medians and spreads over the seeds at each value of the first axis, failed runs left out.
    func testMediansAndSpreadOverSeeds() throws {
        let grid = try SweepGrid(specs: ["init_scale=0.1,0.2", "seed=0:2:3"], integerNames: ["seed"])
        let plateau = FlowMetrics.names.firstIndex(of: "plateau_end")!, converged = FlowMetrics.names.firstIndex(of: "converged")!
        let records = grid.points.map { p -> SweepRecord in
            var metrics = [Double](repeating: .nan, count: FlowMetrics.names.count)
            metrics[plateau] = 10 * p.values[0] + p.values[1]
            metrics[converged] = 1
            // The last seed at the second value failed.
            let failed = p.values[0] == 0.2 && p.values[1] == 2
            return SweepRecord(index: p.index, values: p.values, metrics: metrics, status: failed ? "flow failed" : SweepRecord.ok)
        }
        let medians = FlowStageMedians.bySetting(records, grid: grid)
        XCTAssertEqual(medians.map(\.value), [0.1, 0.2])
        XCTAssertEqual(medians.map(\.runs), [3, 2])
        XCTAssertEqual(medians[0][.plateauEnd], 2, accuracy: 1e-12)
        XCTAssertEqual(medians[1][.plateauEnd], 2.5, accuracy: 1e-12)
        XCTAssertEqual(medians[0][.converged], 1)
        XCTAssertTrue(medians[0][.tLossHalf].isNaN)
        XCTAssertEqual(medians[0].values.count, FlowStageMetric.allCases.count)
        let spread = FlowStageMedians.spread(records, grid: grid, .plateauEnd)
        XCTAssertEqual(spread.low[0], 1, accuracy: 1e-12); XCTAssertEqual(spread.high[0], 3, accuracy: 1e-12)
        XCTAssertEqual(spread.low[1], 2, accuracy: 1e-12); XCTAssertEqual(spread.high[1], 3, accuracy: 1e-12)
    }
}

final class PhaseReportTests: XCTestCase {
    /// Done-when: from stable to divergent learning rates, exactly one transition, between the last
    /// converging and the first diverging value.
    func testLearningRateSweepReportsOneTransitionAtTheDivergence() throws {
        let dir = try temporaryDirectory(self)
        let (outcome, report) = try sweep(smallTraining(), ["learning_rate=0.03:30:7:log"], jobs: 2, in: dir)
        let regimes = outcome.records.map { report.regimes[$0.index]!.regime }
        XCTAssertEqual(regimes.first, .converged)
        XCTAssertEqual(regimes.last, .diverged)
        let lastConverged = regimes.lastIndex(of: .converged)!, firstDiverged = regimes.firstIndex(of: .diverged)!
        XCTAssertEqual(firstDiverged, lastConverged + 1, "regimes \(regimes)")
        XCTAssertEqual(report.transitions.count, 1, report.text)
        let t = try XCTUnwrap(report.transitions.first)
        XCTAssertEqual(t.kind, .regime)
        XCTAssertEqual(t.axis, "learning_rate")
        XCTAssertEqual(t.from, "converged")
        XCTAssertEqual(t.to, "diverged")
        let lrs = report.grid.axes[0].values
        XCTAssertEqual(t.between.0, lrs[lastConverged])
        XCTAssertEqual(t.between.1, lrs[firstDiverged])
        // Diverged runs name their step; report.json carries the same transition.
        XCTAssertNotNil(report.regimes[outcome.records[firstDiverged].index]!.divergedStep)
        // Issue 24: a diverged run has no final values (empty cells), never its step-0 values as "final".
        let names = report.metricNames
        func metric(_ record: Int, _ name: String) -> Double { outcome.records[record].metrics[names.firstIndex(of: name)!] }
        for i in regimes.indices {
            XCTAssertTrue(metric(i, "initial_cot_loss").isFinite)
            for name in ["final_cot_loss", "eval_loss_mean", "eval_loss_median", "distance_to_construction", "w24"] {
                XCTAssertEqual(metric(i, name).isNaN, regimes[i] == .diverged, "\(name) of point \(i) (\(regimes[i]))")
            }
        }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try read(dir, "report.json").utf8)) as? [String: Any])
        let transitions = try XCTUnwrap(json["transitions"] as? [[String: Any]])
        XCTAssertEqual(transitions.count, 1)
        XCTAssertEqual(transitions[0]["axis"] as? String, "learning_rate")
        XCTAssertEqual(transitions[0]["from"] as? String, "converged")
        XCTAssertEqual(transitions[0]["to"] as? String, "diverged")
        XCTAssertEqual(transitions[0]["between"] as? [Double], [lrs[lastConverged], lrs[firstDiverged]])
        XCTAssertEqual((json["regimes"] as? [Any])?.count, 7)
        XCTAssertEqual(try read(dir, "report.txt"), report.text)
    }

    /// Issue 24: a training sweep at a fixed flow time runs each point the fewest steps whose flow
    /// time, through its optimizer's time map, reaches it (SGD: T / lr; momentum: its slower start
    /// counted); an optimizer without a time map, a steps axis and a job without training are refused.
    func testFlowTimeSetsEachPointsStepsThroughTheTimeMap() throws {
        var s = smallTraining()
        s.flowTime = 3
        let grid = try SweepGrid(specs: ["learning_rate=0.01,0.1"], allowedNames: SweepJob.train.axisNames, integerNames: SweepJob.integerAxes)
        try s.check(grid)
        XCTAssertEqual(try grid.points.map { try s.resolved(at: $0).trainingConfig().steps }, [300, 30])
        XCTAssertTrue(try s.fixedSettings(axes: ["learning_rate"]).contains { $0.0 == "flow_time" && $0.1.rendered() == "3.0" })
        XCTAssertFalse(try s.fixedSettings(axes: ["learning_rate"]).contains { $0.0 == "steps" })
        s.training.optimizer = .momentum(beta: 0.9)
        for point in grid.points {
            let c = try s.resolved(at: point).trainingConfig()
            XCTAssertGreaterThanOrEqual(c.optimizer.flowTime(step: c.steps, learningRate: c.learningRate)!, 3 * (1 - 1e-12))
            XCTAssertLessThan(c.optimizer.flowTime(step: c.steps - 1, learningRate: c.learningRate)!, 3)
            // Momentum covers lr / (1 - beta) of flow time per step once its velocity has built up.
            XCTAssertGreaterThan(c.steps, Int(3 * (1 - 0.9) / c.learningRate))
        }
        s.training.optimizer = .adam
        XCTAssertThrowsError(try s.check(grid)) { XCTAssertTrue("\($0)".contains("time map"), "\($0)") }
        s.training.optimizer = .sgd
        let stepsAxis = try SweepGrid(specs: ["steps=10,20"], allowedNames: SweepJob.train.axisNames, integerNames: SweepJob.integerAxes)
        XCTAssertThrowsError(try s.check(stepsAxis))
        var flow = ExperimentSettings(job: .flow)
        flow.flowTime = 3
        XCTAssertThrowsError(try flow.validate())
        XCTAssertThrowsError(try OptimizerKind.adam.steps(toFlowTime: 1, learningRate: 0.1))
        XCTAssertEqual(try OptimizerKind.sgd.steps(toFlowTime: 1, learningRate: 0.01), 100)
        XCTAssertEqual(try OptimizerKind.sgd.steps(toFlowTime: 1, learningRate: 0.03), 34)
    }

    /// Issue 24: with fixed steps a small learning rate ends at a small flow time; a run that
    /// stalled before the reduced flow's plateau end is still on the plateau, and the report says so.
    /// At a fixed flow time every point ends at that t.
    func testStalledRunBeforeTheFlowsPlateauEndIsReported() throws {
        let dir = try temporaryDirectory(self)
        let (outcome, report) = try sweep(smallTraining(), ["learning_rate=0.0001,0.1"], jobs: 2, in: dir)
        let names = report.metricNames
        func metric(_ i: Int, _ name: String) -> Double { outcome.records[i].metrics[names.firstIndex(of: name)!] }
        XCTAssertEqual(outcome.records.map { report.regimes[$0.index]!.regime }, [.stalled, .converged], report.text)
        XCTAssertEqual(metric(0, "t_end"), 0.03, accuracy: 1e-12)
        XCTAssertGreaterThan(metric(0, "flow_plateau_end"), 0.03)
        XCTAssertTrue(metric(1, "flow_plateau_end").isNaN, "the flow is integrated for stalled runs only")
        XCTAssertTrue(report.regimes[outcome.records[0].index]!.detail.contains("before the flow's plateau end"), report.text)
        XCTAssertTrue(report.text.contains("1 of the stalled runs ended before the reduced flow's plateau end"), report.text)

        var fixed = smallTraining()
        fixed.flowTime = 3
        let (timed, timedReport) = try sweep(fixed, ["learning_rate=0.01,0.1"], jobs: 2, in: try temporaryDirectory(self))
        let t = timedReport.metricNames.firstIndex(of: "t_end")!
        for record in timed.records { XCTAssertEqual(record.metrics[t], 3, accuracy: 1e-9) }
    }

    /// Done-when: a flow sweep over k at the default settings, with seeds as replicates, reports no
    /// metric change that lies within the spread across seeds (the old report listed final_loss and
    /// stage_count wiggles). The one finding is the regime change at k = 1, where the flow reaches
    /// a zero-loss point away from the construction (at k = 1 the loss does not pin w to 1).
    func testFlowSweepOverKReportsNoChangeWithinTheReplicateSpread() throws {
        let dir = try temporaryDirectory(self)
        let (_, report) = try sweep(ExperimentSettings(job: .flow), ["k=1:8:8", "seed=0:3:4"], jobs: 2, in: dir)
        XCTAssertEqual(report.replicateAxes, ["seed"])
        for t in report.transitions where t.kind == .metric {
            XCTFail("metric transition reported: \(t.text)")
        }
        XCTAssertEqual(report.transitions.map(\.text), ["converged-elsewhere -> converged between k = 1 and 2 (4/4 converged-elsewhere, 4/4 converged); every replicate changes within k in [1, 2]"])
        XCTAssertFalse(report.text.contains("final_loss"))
        XCTAssertFalse(report.text.contains("stage_count"))
    }

    /// The initial W24 as an axis of the flow job. Held (fixed) at -2 or -0.5 the flow converges to
    /// the construction in W24's gauge (v = eta/W24, w = -W24), so the regime is converged, not
    /// converged-elsewhere; trained (free) it ends on the zero-loss family member that the
    /// conserved quantity sum w_j^2 + u^2 - sum v_j^2 of its start predicts.
    func testW24InitialAxisOfTheFlowJob() throws {
        var s = ExperimentSettings(job: .flow)
        s.d = 3; s.n = 12; s.k = 2
        let w24 = FlowMetrics.names.firstIndex(of: "w24")!, distance = FlowMetrics.names.firstIndex(of: "distance_to_construction")!
        let (fixedOutcome, fixedReport) = try sweep(s, ["w24_initial=-2,-1,-0.5"], jobs: 2, in: try temporaryDirectory(self))
        for r in fixedOutcome.records {
            XCTAssertEqual(r.metrics[w24], r.values[0], "held W24")
            XCTAssertEqual(fixedReport.regimes[r.index]?.regime, .converged, fixedReport.text)
            XCTAssertLessThan(r.metrics[distance], 1e-3)
        }
        s.w24 = .free(initial: -1)
        let dir = try temporaryDirectory(self)
        let (freeOutcome, freeReport) = try sweep(s, ["w24_initial=-2,-1,-0.5"], jobs: 2, in: dir)
        let e = s.stepSize.doubleValue
        for r in freeOutcome.records {
            XCTAssertEqual(freeReport.regimes[r.index]?.regime, .converged, freeReport.text)
            let u0 = r.values[0], start = s.start
            let c = FlowTrajectory.conservedQuantity(v: start.v, w: start.w, u: u0)
            let predicted = FlowTrajectory.familyMember(conserved: c, d: s.d, eta: e, sign: u0)
            XCTAssertEqual(r.metrics[w24], predicted, accuracy: 1e-4 * abs(predicted), "W24 from \(u0)")
        }
        // Free W24 ends elsewhere than it started: the axis changes the run.
        XCTAssertNotEqual(freeOutcome.records[0].metrics[w24], -2)
        XCTAssertTrue(freeReport.text.contains("up to W24's gauge"), freeReport.text)
        // Shards merged by `cotflow merge` (the report rebuilt from the recorded settings) give the same bytes.
        let sharded = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["w24_initial=-2,-1,-0.5"], allowedNames: s.job.axisNames, integerNames: SweepJob.integerAxes)
        for i in 0..<2 {
            try runSweep(grid: grid, shard: try Shard(index: i, count: 2), directory: sharded, metricNames: s.job.metricNames,
                         integerMetrics: s.job.integerMetrics, settings: try s.fixedSettings(axes: Set(grid.names)), run: { [s] p in try s.run(p) })
        }
        try mergeShards(directory: sharded, reporter: PhaseReport.reporter())
        for name in ["sweep.tsv", "sweep.json", "report.txt", "report.json"] {
            XCTAssertEqual(try read(sharded, name), try read(dir, name), name)
        }
        let json = try read(dir, "sweep.json")
        XCTAssertTrue(json.contains("\"w24\": \"free\""), json)
        XCTAssertTrue(json.contains("\"type\": \"float\",\n      \"values\": [-2.0, -1.0, -0.5]"), json)
        // Not an axis of the jobs without a W24 option.
        for job in [SweepJob.train, .compare, .exact] {
            XCTAssertFalse(job.axisNames.contains("w24_initial"))
            XCTAssertNotNil(job.refusal(axis: "w24_initial"))
        }
        XCTAssertNotNil(SweepJob.flow.refusal(axis: "w24"))
    }

    /// sweep.json keeps every value's type: integer settings, axes and metrics as JSON integers,
    /// numbers as floats, eta as a float with its exact value; a file of the old format (settings
    /// as strings) is refused by merge and resume, saying so.
    func testSweepFilesAreTyped() throws {
        let dir = try temporaryDirectory(self)
        var s = ExperimentSettings(job: .flow)
        s.d = 3; s.n = 12
        _ = try sweep(s, ["k=1,2", "seed=0,1"], jobs: 1, in: dir)
        let text = try read(dir, "sweep.json")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let settings = try XCTUnwrap(object["settings"] as? [String: Any])
        // The JSON type of `"key": value` as written (the first occurrence): int (digits only) or float.
        func written(_ key: String, in text: String) -> String? {
            guard let r = text.range(of: "\"\(key)\": ") else { return nil }
            let value = text[r.upperBound...].prefix { $0 != "," && $0 != "\n" && $0 != "}" }
            if value.range(of: "^-?[0-9]+$", options: .regularExpression) != nil { return "int" }
            if Double(value) != nil { return "float" }
            return String(value)
        }
        for key in ["d", "n", "max_steps", "points", "exact_eval_loss_max_k"] { XCTAssertEqual(written(key, in: text), "int", key) }
        for key in ["eta", "init_scale", "t_end", "abs_tol", "stall_fraction"] { XCTAssertEqual(written(key, in: text), "float", key) }
        XCTAssertEqual(settings["eta_exact"] as? String, "3/4")
        XCTAssertEqual(settings["eta_rule"] as? String, "n/(n+d+1)")
        XCTAssertNil(settings["k"])  // an axis, not a setting
        let recordsStart: Range<String.Index>? = text.range(of: "\"records\": [")
        let firstRecord = String(text[try XCTUnwrap(recordsStart).upperBound...])
        for key in ["k", "seed", "steps", "converged", "stage_count"] { XCTAssertEqual(written(key, in: firstRecord), "int", key) }
        for key in ["final_loss", "t_end", "w24"] { XCTAssertEqual(written(key, in: firstRecord), "float", key) }
        // eta varies with an n axis: no single eta is recorded, only its rule.
        let nDir = try temporaryDirectory(self)
        _ = try sweep(s, ["n=12,16"], jobs: 1, in: nDir)
        let nSettings = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(try read(nDir, "sweep.json").utf8)) as? [String: Any])?["settings"] as? [String: Any])
        XCTAssertNil(nSettings["eta"])
        XCTAssertEqual(nSettings["eta_rule"] as? String, "n/(n+d+1)")
        // The merge reads the typed files back (the merged bytes are those of the run), and recovers the report's settings.
        let merged = try mergeShards(directory: dir, reporter: PhaseReport.reporter())
        XCTAssertEqual(merged.records.count, 4)
        XCTAssertEqual(try ExperimentSettings(recorded: merged.description.settings).job, .flow)
        // A shard file of the old format (settings as strings).
        let shard = (dir as NSString).appendingPathComponent("shard-0-of-1.json")
        let old = try String(contentsOfFile: shard, encoding: .utf8).replacingOccurrences(of: "cotflow-sweep-shard 2", with: "cotflow-sweep-shard 1")
        try old.write(toFile: shard, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try mergeShards(directory: dir)) { XCTAssertTrue("\($0)".contains("older format"), "\($0)") }
        let grid = try SweepGrid(specs: ["k=1,2", "seed=0,1"], allowedNames: s.job.axisNames, integerNames: SweepJob.integerAxes)
        XCTAssertThrowsError(try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: s.job.metricNames, integerMetrics: s.job.integerMetrics,
                                          settings: try s.fixedSettings(axes: Set(grid.names)), resume: true, run: { try s.run($0) })) {
            XCTAssertTrue("\($0)".contains("older format"), "\($0)")
        }
    }

    /// The transition rules on synthetic records: a jump beyond the replicate spread is found (and
    /// bracketed), the same jump within the spread is not, and a smooth trend is not a jump.
    func testMetricJumpsNeedToLeaveTheReplicateSpread() throws {
        let grid = try SweepGrid(specs: ["x=1:6:6", "seed=0,1,2"])
        func records(_ f: (Double, Double) -> Double) -> [SweepRecord] {
            grid.points.map { p in
                let y = f(p["x"]!, p["seed"]!)
                // A converged flow (so every run is in one regime), with `t_loss_half` = y.
                var row = FlowMetrics.names.map { _ in 1.0 }
                row[FlowMetrics.names.firstIndex(of: "final_loss")!] = 1e-12
                row[FlowMetrics.names.firstIndex(of: "distance_to_construction")!] = 0
                row[FlowMetrics.names.firstIndex(of: "t_loss_half")!] = y
                return SweepRecord(index: p.index, values: p.values, metrics: row, status: SweepRecord.ok)
            }
        }
        let settings = ExperimentSettings(job: .flow)
        func metricTransitions(_ f: (Double, Double) -> Double) -> [Transition] {
            PhaseReport(grid: grid, metricNames: FlowMetrics.names, records: records(f), settings: settings)
                .transitions.filter { $0.kind == .metric && $0.metric == "t_loss_half" }
        }
        // Jump of 1 between x = 3 and 4, seed noise 0.01.
        let jump = metricTransitions { x, s in 2 + (x >= 4 ? 1 : 0) + 0.01 * s }
        XCTAssertEqual(jump.count, 1)
        XCTAssertEqual(jump.first?.between.0, 3)
        XCTAssertEqual(jump.first?.between.1, 4)
        // The same jump with seed noise 1.5: within the spread.
        XCTAssertEqual(metricTransitions { x, s in 5 + (x >= 4 ? 1 : 0) + 1.5 * s }.count, 0)
        // A steady trend well outside the spread is a trend, not a jump.
        XCTAssertEqual(metricTransitions { x, s in 2 + x + 0.01 * s }.count, 0)
    }

    /// The compare job: a converging run carries the flow comparison; a diverging one is the
    /// diverged regime with its step (the comparison itself refuses diverged training).
    func testCompareJobRecordsDivergedTraining() throws {
        let dir = try temporaryDirectory(self)
        var s = ExperimentSettings(job: .compare)
        s.d = 3; s.n = 12; s.k = 2
        s.training.steps = 300; s.training.batchSize = 128; s.training.heldOutSize = 2000
        let (outcome, report) = try sweep(s, ["learning_rate=0.03,3"], jobs: 2, in: dir)
        XCTAssertEqual(outcome.failed, 0)
        XCTAssertEqual(report.regimes[1]?.regime, .diverged, report.text)
        XCTAssertNotNil(report.regimes[1]?.divergedStep)
        let deviation = CompareMetrics.names.firstIndex(of: "max_rel_loss_deviation")!
        XCTAssertTrue(outcome.records[0].metrics[deviation].isFinite)
        // The converging run follows the flow or not by its deviation (the compare job's regime).
        XCTAssertEqual(report.regimes[0]?.regime, outcome.records[0].metrics[deviation] <= CompareMetrics.followTolerance ? .follows : .doesNotFollow, report.text)
        XCTAssertTrue(outcome.records[1].metrics[deviation].isNaN)
    }

    /// Points run in parallel give the same bytes as a serial run.
    func testParallelPointsWriteTheSameBytesAsSerial() throws {
        let serial = try temporaryDirectory(self), parallel = try temporaryDirectory(self)
        var settings = ExperimentSettings(job: .flow)
        settings.d = 4; settings.n = 16; settings.k = 3
        _ = try sweep(settings, ["init_scale=0.01:0.2:4:log", "seed=0,1"], jobs: 1, in: serial)
        _ = try sweep(settings, ["init_scale=0.01:0.2:4:log", "seed=0,1"], jobs: 3, in: parallel)
        for name in ["sweep.tsv", "sweep.json", "report.txt", "report.json", "shard-0-of-1.json"] {
            XCTAssertEqual(try read(serial, name), try read(parallel, name), name)
        }
    }

    /// The same for training points (each of which splits its batch over threads itself) and a
    /// free-W24 flow on threads (a library caller's closure): jobs changes nothing in the files.
    func testParallelTrainingAndW24PointsWriteTheSameBytesAsSerial() throws {
        var flow = ExperimentSettings(job: .flow)
        flow.d = 3; flow.n = 12; flow.k = 2; flow.w24 = .free(initial: -1)
        for (settings, specs) in [(smallTraining(), ["learning_rate=0.03:30:4:log", "seed=0,1"]), (flow, ["w24_initial=-2,-1,-0.5", "seed=0,1"])] {
            let serial = try temporaryDirectory(self), parallel = try temporaryDirectory(self)
            _ = try sweep(settings, specs, jobs: 1, in: serial)
            _ = try sweep(settings, specs, jobs: 3, in: parallel)
            for name in ["sweep.tsv", "sweep.json", "report.txt", "report.json"] {
                XCTAssertEqual(try read(serial, name), try read(parallel, name), "\(settings.job) \(name)")
            }
        }
    }

    /// A 2-D grid gets a regime diagram with one row per value of the first axis; an exact sweep
    /// finds where the mean of the GD chain starts to grow with k.
    func testExactSweepDiagramAndDivergence() throws {
        let dir = try temporaryDirectory(self)
        var s = ExperimentSettings(job: .exact)
        s.d = 10
        let (_, report) = try sweep(s, ["n=20,40", "k=2:12:6"], jobs: 2, in: dir)
        let diagram = report.diagram
        XCTAssertEqual(diagram.count, 1 + 1 + 2) // legend, column header, two rows
        // At n = 2d the exact mean grows with k from k = 6 on (MODEL.md section 6): a diverged regime.
        let row20 = try XCTUnwrap(diagram.first { $0.hasPrefix("  20 ") })
        XCTAssertTrue(row20.hasSuffix("D"), row20)
        XCTAssertTrue(report.transitions.contains { $0.axis == "k" && $0.to == "diverged" && $0.context.first?.1 == 20 }, report.text)
    }
}

final class ScalingFitTests: XCTestCase {
    /// Deterministic noise: replicate r of point i gets relative noise from a fixed stream.
    func noisy(_ f: (Double) -> Double, x: [Double], replicates: Int, level: Double) -> ([Double], [Double]) {
        let random = Random(seed: 7)
        var xs: [Double] = [], ys: [Double] = []
        for v in x { for _ in 0..<replicates { xs.append(v); ys.append(f(v) * (1 + level * random.gaussian())) } }
        return (xs, ys)
    }

    func widened(_ p: FitParameter) -> ClosedRange<Double> {
        let f = 3.29 / 1.96
        return (p.value - f * (p.value - p.lower))...(p.value + f * (p.upper - p.value))
    }

    func testPowerLawIsChosenWithItsExponentInTheInterval() throws {
        let x = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]
        let (xs, ys) = noisy({ 3 * pow($0, -0.7) }, x: x, replicates: 4, level: 0.01)
        let a = try XCTUnwrap(ScalingAnalysis(x: xs, y: ys))
        let power = try XCTUnwrap(a.fits.first { $0.law == .powerLaw })
        XCTAssertTrue(power.supported)
        // The true value within the 95% interval widened to 99.9% (x 3.29 / 1.96): one fixed noise draw.
        XCTAssertTrue(widened(power.parameters[1]).contains(-0.7), a.verdict)
        XCTAssertFalse(a.fits.first { $0.law == .logarithm }!.supported)
        // Saturation contains the power law (c = 0); it may tie but must not be chosen by a wide margin.
        XCTAssertTrue(a.best?.law == .powerLaw || a.best?.law == .saturation)
    }

    func testSaturationIsChosenForATimeThatLevelsOff() throws {
        let x = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
        let (xs, ys) = noisy({ 4 + 5 * pow($0, 0.8) }, x: x, replicates: 4, level: 0.002)
        let a = try XCTUnwrap(ScalingAnalysis(x: xs, y: ys))
        XCTAssertEqual(a.best?.law, .saturation, a.verdict)
        XCTAssertTrue(widened(a.best!.parameters[0]).contains(4), a.verdict)
        XCTAssertTrue(widened(a.best!.parameters[2]).contains(0.8), a.verdict)
        XCTAssertFalse(a.fits.first { $0.law == .powerLaw }!.supported, a.verdict)
    }

    func testNoLawIsSupportedForAnOscillation() throws {
        let x = (1...10).map(Double.init)
        let (xs, ys) = noisy({ 3 + sin(2 * $0) }, x: x, replicates: 3, level: 0.001)
        let a = try XCTUnwrap(ScalingAnalysis(x: xs, y: ys))
        XCTAssertNil(a.best, a.verdict)
        XCTAssertTrue(a.verdict.hasPrefix("no law is supported"))
    }

    func testTooFewValuesGiveNoFit() {
        XCTAssertNil(ScalingAnalysis(x: [1, 2, 3], y: [1, 2, 3]))
    }
}

final class PromptLossAlongFlowTests: XCTestCase {
    /// At the start the flow's loss is the exact loss at the Assumption 4.1 point, the sampled
    /// per-prompt losses average to it, and later states have smaller losses.
    func testSampledLossesAverageToTheFlowsLoss() throws {
        let (d, n, k) = (3, 12, 2)
        let along = try PromptLossAlongFlow.measure(d: d, n: n, k: k, sigma: 0.05, seed: 1, prompts: 4000, fractions: [0.0, 0.5])
        let eta = paperStepSize(n: n, d: d)
        let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
        let start = AssumptionInitialisation(d: d, seed: 1, vRange: ranges.v, wRange: ranges.w)
        let exact = try ReducedLoss(n: n, d: d, k: k, eta: eta).loss(p: start.v.map { $0 + eta.doubleValue }, q: start.w.map { $0 - 1 })
        XCTAssertEqual(along.exact[0], exact, accuracy: 1e-9 * exact)
        XCTAssertLessThanOrEqual(along.exact[1], 0.5 * along.exact[0])
        for (s, e) in zip(along.sampled, along.exact) {
            XCTAssertEqual(s.count, 4000)
            XCTAssertLessThan(abs(s.mean - e), 5 * s.standardError, "sampled \(s.mean) +- \(s.standardError), exact \(e)")
        }
    }
}

final class VerdictTests: XCTestCase {
    /// Below a level by the median and the mean's 3-standard-error bound; a tail-dominated mean is not asked.
    func testBelowByMedianAndMeanUnlessTailDominated() {
        let flat = SampleSummary((0..<100).map { 1 + 0.01 * Double($0 % 3) })
        XCTAssertTrue(flat.isBelow(1.5))
        XCTAssertFalse(flat.isBelow(1.0))
        let heavy = SampleSummary([Double](repeating: 0.1, count: 199) + [1e6])
        XCTAssertTrue(heavy.tailDominated)
        XCTAssertTrue(heavy.isBelow(1))
        XCTAssertFalse(heavy.isBelow(0.05))
        // Median below, mean's bound not: not below.
        let skewed = SampleSummary([Double](repeating: 0.5, count: 60) + [Double](repeating: 2, count: 40))
        XCTAssertFalse(skewed.tailDominated)
        XCTAssertFalse(skewed.isBelow(1))
    }
}

final class ExperimentErrorTests: XCTestCase {
    func testRefusalsAreTyped() throws {
        XCTAssertThrowsError(try ExperimentSettings(recorded: [])) { error in
            XCTAssertEqual(error as? ExperimentError, .noJob)
            XCTAssertEqual("\(error)", "the sweep's settings name no job")
        }
        let point = try SweepGrid(specs: ["d=0,2"]).point(0)
        XCTAssertThrowsError(try ExperimentSettings(job: .flow).resolved(at: point)) { error in
            XCTAssertEqual(error as? ExperimentError, .point(label: point.label, reason: "d must be an integer from 1 to 1000000000"))
            XCTAssertEqual("\(error)", "grid point \(point.label): d must be an integer from 1 to 1000000000")
        }
        XCTAssertEqual(ExperimentSettings.exactMaximumK, 30)
    }

    /// Every axis of the table sets exactly its field of the settings (compared on their encoding)
    /// and reads back through its key path.
    func testEachAxisSetsExactlyItsField() throws {
        let values: [String: (Double, String)] = [
            "d": (7, "d"), "n": (33, "n"), "k": (3, "k"), "eta": (0.5, "eta"), "n_over_d": (2.5, "n"), "init_scale": (0.07, "initScale"),
            "w24_initial": (-2, "w24.fixed._0"), "t_end": (77, "flow.ode.endTime"), "stop_loss": (0.25, "flow.stopRelativeLoss"),
            "abs_tol": (1e-7, "flow.ode.absoluteTolerance"), "rel_tol": (1e-5, "flow.ode.relativeTolerance"),
            "max_steps": (1234, "flow.ode.maximumSteps"), "points": (77, "points"), "learning_rate": (0.123, "training.learningRate"),
            "batch_size": (17, "training.batchSize"), "steps": (19, "training.steps"), "record_every": (7, "training.recordEvery"),
            "held_out": (99, "training.heldOutSize"), "seed": (5, "seed"),
        ]
        XCTAssertEqual(Set(values.keys), Set(ExperimentSettings.parameters.map(\.name)), "every axis is tested")
        func leaves(_ s: ExperimentSettings) throws -> [String: String] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            var out: [String: String] = [:]
            func walk(_ x: Any, _ path: String) {
                if let o = x as? [String: Any] {
                    for (k, v) in o { walk(v, path.isEmpty ? k : path + "." + k) }
                } else {
                    out[path] = "\(x)"
                }
            }
            walk(try JSONSerialization.jsonObject(with: try encoder.encode(s)), "")
            return out
        }
        for parameter in ExperimentSettings.parameters {
            let job = parameter.jobs.contains(.train) ? SweepJob.train : .flow
            let base = ExperimentSettings(job: job)
            let (x, field) = values[parameter.name]!
            var changed = base
            try parameter.set(x, in: &changed, label: parameter.name)
            let before = try leaves(base), after = try leaves(changed)
            let differing = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
            XCTAssertEqual(differing, [field], parameter.name)
            switch parameter.field {
            case .integer(let path, _): XCTAssertEqual(Double(changed[keyPath: path]), x, parameter.name)
            case .unsigned(let path): XCTAssertEqual(Double(changed[keyPath: path]), x, parameter.name)
            case .real(let path): XCTAssertEqual(changed[keyPath: path], x, parameter.name)
            case .rational(let path): XCTAssertEqual(changed[keyPath: path]?.doubleValue, x, parameter.name)
            }
            XCTAssertEqual(parameter.integer, SweepJob.integerAxes.contains(parameter.name))
        }
        XCTAssertEqual(SweepJob.integerAxes, ["d", "n", "k", "seed", "batch_size", "steps", "record_every", "held_out", "max_steps", "points"])
    }

    /// The metric columns are the coding keys, in a stable order, with the integer columns typed;
    /// a row read back is the same metrics.
    func testMetricColumnsAreCodingKeys() throws {
        XCTAssertEqual(FlowMetrics.names, ["initial_loss", "final_loss", "t_end", "converged", "steps", "t_loss_half", "t_loss_1e-3",
                                           "exact_eval_loss", "plateau_end", "product_reached", "exponential_start", "stage_count",
                                           "distance_to_construction", "w24"])
        XCTAssertEqual(FlowMetrics.names, FlowMetrics.CodingKeys.allCases.map(\.stringValue))
        XCTAssertEqual(TrainMetrics.names, TrainMetrics.CodingKeys.allCases.map(\.stringValue))
        XCTAssertEqual(CompareMetrics.names, TrainMetrics.names + CompareMetrics.CodingKeys.allCases.map(\.stringValue)
                       + ValidityMetrics.CodingKeys.allCases.map(\.stringValue))
        XCTAssertEqual(ExactMetrics.names, ExactMetrics.CodingKeys.allCases.map(\.stringValue))
        XCTAssertEqual(SweepJob.flow.integerMetrics, ["converged", "steps", "stage_count"])
        XCTAssertEqual(SweepJob.train.integerMetrics, ["diverged_step", "stage_count"])
        XCTAssertEqual(SweepJob.compare.integerMetrics, ["diverged_step", "stage_count", "same_stages", "flow_expected", "held_out_overflowed_records"])
        XCTAssertEqual(SweepJob.exact.integerMetrics, [])
        let trainingRow: [Double] = [2, 0.5, 1, 0.75, 0.1, 40, 0.3, -1, .nan, 3, .nan, 2]
        let training = try XCTUnwrap(TrainMetrics(names: TrainMetrics.names, values: trainingRow))
        XCTAssertEqual(training.divergedStep, 40)
        XCTAssertEqual(training.stageCount, 2)
        XCTAssertEqual(training.evalMedian, 0.75)
        let compare = CompareMetrics(training: training, flowFinalLoss: 0.25, maxRelativeLossDeviation: 0.01, maxEigenvalueDeviation: nil,
                                     sameMechanisticStages: true, maxBoundaryDifference: 0.2)
        let row = compare.row
        XCTAssertEqual(row["diverged_step"], 40)
        XCTAssertEqual(row["same_stages"], 1)
        XCTAssertTrue(row["plateau_end"]!.isNaN)
        let back = try XCTUnwrap(CompareMetrics(names: CompareMetrics.names, values: CompareMetrics.names.map { row[$0]! }))
        XCTAssertEqual(back.training.divergedStep, 40)
        XCTAssertNil(back.training.plateauEnd)
        XCTAssertEqual(back.sameMechanisticStages, true)
        XCTAssertNil(back.maxEigenvalueDeviation)
        XCTAssertEqual(back.regime(ExperimentSettings(job: .compare)).regime, .diverged)
    }
}
