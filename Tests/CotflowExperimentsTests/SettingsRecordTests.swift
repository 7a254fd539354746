import CotflowCore
import CotflowModel
@testable import CotflowExperiments
import Foundation
import XCTest

/// The one record of a run's task at the head of every metrics type (`TaskRecord`), and the fixed
/// settings of a sweep derived from the one table of its settings (`ExperimentSettings.settings`).
final class SettingsRecordTests: XCTestCase {
    private func keys(_ value: some Encodable) throws -> [String] {
        guard case .object(let pairs) = try JSONValue.encoding(value) else { XCTFail("not an object"); return [] }
        return pairs.map(\.0)
    }

    /// The value of `key` in `value`'s encoding, rendered.
    private func value(_ value: some Encodable, _ key: String) throws -> String? {
        guard case .object(let pairs) = try JSONValue.encoding(value) else { return nil }
        return pairs.first { $0.0 == key }?.1.rendered()
    }

    /// Every summary's metrics start with the task, in the order readers of summary.json have had it:
    /// (d, n, k), eta as a number and exactly, the seed (the evaluation writes its prompts before the
    /// seed, the Hessian eta exactly only, the full-matrix flow `params` first); the values are the run's.
    func testEveryMetricsTypeLeadsWithTheTaskOfItsRun() throws {
        let header = ["d", "n", "k", "eta", "eta_exact", "seed"]
        var flowOptions = FlowOptions()
        flowOptions.ode.endTime = 1
        let flow = try ReducedFlowRun(d: 2, n: 8, k: 2, seed: 3, options: flowOptions).solve().metrics
        let training = try TrainingRun(d: 2, n: 8, k: 2, seed: 3, batchSize: 16, steps: 4, heldOut: 32).solve().metrics
        let full = try FullFlowRun(d: 2, n: 8, k: 2, seed: 3, prompts: 16, solver: FlowSolverSettings(endTime: 0.1)).solve().metrics
        let evaluation = try EvaluationRun(d: 2, n: 8, k: 2, seed: 3, prompts: 16).solve().metrics
        let comparison = try ComparisonRun(d: 2, n: 8, k: 2, seed: 3, learningRate: 0.01, batchSize: 16, steps: 8, recordEvery: 2, heldOut: 32).solve().metrics

        XCTAssertEqual(Array(try keys(flow).prefix(7)), header + ["stepper"])
        XCTAssertEqual(Array(try keys(training).prefix(7)), header + ["objective"])
        XCTAssertEqual(Array(try keys(comparison).prefix(7)), header + ["optimizer"])
        XCTAssertEqual(Array(try keys(full).prefix(8)), ["params"] + header + ["prompts"])
        XCTAssertEqual(Array(try keys(evaluation).prefix(8)), ["d", "n", "k", "eta", "eta_exact", "prompts", "seed", "source"])
        for metrics in [flow, training, full, evaluation, comparison] as [any Encodable] {
            XCTAssertEqual(try value(metrics, "d"), JSONValue.int(2).rendered())
            XCTAssertEqual(try value(metrics, "k"), JSONValue.int(2).rendered())
            XCTAssertEqual(try value(metrics, "eta"), JSONValue.number(8.0 / 11).rendered())
            XCTAssertEqual(try value(metrics, "eta_exact"), JSONValue.string("8/11").rendered())
            XCTAssertEqual(try value(metrics, "seed"), JSONValue.int(3).rendered())
        }

        // The Hessian's header: eta exactly only; decoding it and encoding it again gives the same keys.
        let task = TaskRecord(d: 2, n: 8, k: 2, eta: paperStepSize(n: 8, d: 2), seed: 3)
        let noise = #"{"batches": 2, "batch_size": 8, "batch_gradient_norm_median": 1.5, "batch_gradient_norm_max": 2.5, "mean_gradient_norm": 0.5, "adam_ratio": 0.125, "clipped_adam_ratio": 0.25}"#
        let hessianJSON = #"{"d": 2, "n": 8, "k": 2, "eta": "8/11", "seed": 3, "load": "p.json", "objective": "looped", "params": "full", "prompts": 32, "#
            + #""difference_step": 0.25, "loss": 1.5, "gradient_norm": 0.75, "relative_asymmetry": 0.125, "resolution": 0.5, "negative_eigenvalues": 0, "#
            + #""near_zero_eigenvalues": 0, "eigenvalues": [1.5], "gradient_components": [0.5], "block_norms": {"V11": 1.5}, "#
            + #""lowest_eigenvector_blocks": {"V11": 0.5}, "highest_eigenvector_blocks": {"V11": 0.25}, "gradient_noise": "# + noise + "}"
        let hessian = try JSONReader.parse(hessianJSON).decoded(as: HessianMetrics.self)
        XCTAssertEqual(hessian.task, task)
        XCTAssertEqual(Array(try keys(hessian).prefix(6)), ["d", "n", "k", "eta", "seed", "load"])
        XCTAssertEqual(try JSONValue.encoding(hessian).rendered(), try JSONReader.parse(hessianJSON).rendered())
        // Either layout decodes to the same task.
        XCTAssertEqual(try JSONValue.encoding(task).decoded(as: TaskRecord.self), task)
    }

    /// The fixed settings of every job, key by key, as sweep.json records them.
    func testFixedSettingsOfEveryJobInTheirRecordedOrder() throws {
        let head = ["job", "d", "n", "k", "eta_rule", "eta", "eta_exact"], tail = ["stall_fraction", "converged_fraction", "construction_tolerance"]
        let running = ["seed", "init_scale"]
        let expected: [SweepJob: [String]] = [
            .flow: head + running + ["model", "w24", "w24_initial", "stepper", "fallback_stepper", "abs_tol", "rel_tol", "max_steps", "t_end",
                                     "stop_loss", "points", "exact_eval_loss_max_k"] + tail,
            .train: head + running + ["objective", "params", "init", "optimizer", "learning_rate", "batch_size", "steps", "record_every", "held_out"] + tail,
            .compare: head + running + ["objective", "params", "init", "optimizer", "learning_rate", "batch_size", "steps", "record_every", "held_out",
                                        "stepper", "follow_tolerance"] + tail,
            .exact: head + ["quantity", "exact_max_k"] + tail,
        ]
        for job in SweepJob.allCases {
            XCTAssertEqual(try ExperimentSettings(job: job).fixedSettings(axes: []).map(\.0), expected[job], "\(job)")
        }
        // The ranges when given; with a flow time, the steps follow the learning rate (absent when it is an axis).
        var s = ExperimentSettings(job: .train, optimizer: .sgd)
        (s.vRange, s.flowTime) = (0.1...0.2, 3)
        let fixed = try s.fixedSettings(axes: ["learning_rate"])
        XCTAssertEqual(fixed.map(\.0), head + running + ["v_range", "objective", "params", "init", "optimizer", "batch_size", "flow_time", "record_every", "held_out"] + tail)
        XCTAssertEqual(fixed.first { $0.0 == "v_range" }?.1.rendered(), JSONValue.numbers([0.1, 0.2]).rendered())
        // eta varies with n: no single step size is recorded, only its rule.
        XCTAssertEqual(try ExperimentSettings(job: .exact).fixedSettings(axes: ["n"]).map(\.0), ["job", "d", "k", "eta_rule"] + ["quantity", "exact_max_k"] + tail)
    }

    /// Every axis of every job is recorded from the table: with its value at the settings when it is
    /// fixed, not at all when it is an axis; and a setting added to the table is recorded in its place.
    func testFixedSettingsAreDerivedFromTheTable() throws {
        for job in SweepJob.allCases {
            for axis in job.axes where !["eta", "n_over_d"].contains(axis.name) {
                var s = ExperimentSettings(job: job)
                let x: Double = axis.integer ? 7 : 0.375
                try axis.set(x, in: &s, label: "test")
                let recorded = try s.fixedSettings(axes: []).first { $0.0 == axis.name }?.1
                XCTAssertEqual(recorded?.rendered(), (axis.integer ? JSONValue.int(7) : .number(x)).rendered(), "\(job) \(axis.name)")
                XCTAssertFalse(try s.fixedSettings(axes: [axis.name]).contains { $0.0 == axis.name }, "\(job) \(axis.name)")
            }
        }
        var table = ExperimentSettings.settings
        let added = SweepSetting.value("added_setting", jobs: [.flow]) { s in .int(s.points) }
        table.insert(added, at: table.firstIndex { $0.name == "points" }! + 1)
        var s = ExperimentSettings(job: .flow)
        s.points = 9
        let names = try s.fixedSettings(axes: [], table: table).map(\.0)
        XCTAssertEqual(names.firstIndex(of: "added_setting"), names.firstIndex(of: "points").map { $0 + 1 })
        XCTAssertEqual(try s.fixedSettings(axes: [], table: table).first { $0.0 == "added_setting" }?.1.rendered(), "9")
        XCTAssertFalse(try ExperimentSettings(job: .train).fixedSettings(axes: [], table: table).contains { $0.0 == "added_setting" })
    }
}
