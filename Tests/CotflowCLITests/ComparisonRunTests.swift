import CotflowCore
@testable import CotflowExperiments
import CotflowModel
import Foundation
import XCTest

/// compare's and sweep's summary.json decode into the library's types (and encode back to the same
/// bytes); compare's defaults (the learning rate follows the optimizer) live in `ComparisonRun`, and
/// its refusals are the run's `validate()` messages.
extension CLITests {
    private func summary(_ dir: String, _ name: String = "summary.json") throws -> JSONValue {
        try JSONReader.parse(String(contentsOfFile: dir + "/" + name, encoding: .utf8))
    }

    private var smallCompare: [String] {
        ["compare", "--d", "2", "--n", "8", "--k", "2", "--steps", "40", "--record-every", "10", "--batch-size", "16", "--held-out", "64", "--quiet"]
    }

    func testCompareSummaryDecodesIntoComparisonRunAndMetrics() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try cotflow(smallCompare + ["--params", "both", "--out", dir]).status, 0)
        let json = try summary(dir)
        let decoded = try RunSummary<ComparisonRun, ComparisonMetrics>(json: json)
        XCTAssertEqual(decoded.run.config.trainable, [.reduced, .full])
        XCTAssertEqual(decoded.run.config.training.batchSize, 16)
        XCTAssertEqual(decoded.run.config.training.optimizer, .sgd)
        XCTAssertEqual(decoded.run.config.eta.description, "8/11")
        XCTAssertEqual(decoded.result.status, .completed)
        let findings = try XCTUnwrap(decoded.result.findings)
        XCTAssertEqual(findings.runs.map(\.trainable), [.reduced, .full])
        XCTAssertEqual(findings.runs.map(\.flow), ["w24_fixed", "w24_free"])
        XCTAssertEqual(findings.maxRelLossDeviation, findings.runs[0].maxRelLossDeviation)
        XCTAssertNil(findings.runs[0].conservedQuantityInitial, "reduced training does not train W24")
        XCTAssertNotNil(findings.runs[1].conservedQuantityDrift)
        XCTAssertNotNil(findings.odeFreeFinalLoss, "full training is compared with the flow with W24 free")
        XCTAssertEqual(try decoded.json().rendered(), json.rendered())

        // The decoded run solves again to the same files (`rerun`).
        let rerun = try cotflow(["rerun", dir, "--json"])
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertEqual(rerun.json["reproduces"] as? Bool, true)

        // A diverged training run: the status, the set that stopped and the runs so far.
        let stopped = temporaryDirectory()
        XCTAssertEqual(try cotflow(smallCompare + ["--learning-rate", "1e200", "--out", stopped]).status, 1)
        let stoppedJSON = try summary(stopped)
        let diverged = try RunSummary<ComparisonRun, ComparisonMetrics>(json: stoppedJSON)
        guard case .diverged = diverged.result.status else { return XCTFail("status \(diverged.result.status)") }
        XCTAssertNil(diverged.result.findings)
        XCTAssertEqual(diverged.result.stoppedRun, .reduced)
        XCTAssertEqual(diverged.result.stoppedRuns?.map(\.status), [diverged.result.status])
        XCTAssertEqual(try diverged.json().rendered(), stoppedJSON.rendered())
    }

    func testCompareLearningRateFollowsTheOptimizerUnlessGiven() throws {
        let train = TrainingConfig.defaults(task: TrainingConfig.defaultTask()).learningRate
        func rate(_ optimizer: OptimizerKind?, given: Double? = nil) throws -> Double {
            try ComparisonRun(d: 3, n: 12, k: 2, seed: 0, optimizer: optimizer, learningRate: given).config.training.learningRate
        }
        let sgd = try rate(nil)
        XCTAssertEqual(try rate(.sgd), sgd)
        // Adam has no time map: train's learning rate.
        XCTAssertEqual(try rate(.adam), train)
        // Momentum: the same flow time per step as SGD, lr / (1 - beta) = SGD's.
        XCTAssertEqual(try rate(.momentum(beta: 0.9)) / (1 - 0.9), sgd, accuracy: 1e-15)
        XCTAssertEqual(try rate(.adam, given: 0.05), 0.05)
        // A sweep's compare job takes the same rule.
        XCTAssertEqual(ExperimentSettings.defaultTraining(job: .compare, optimizer: .adam).learningRate, train)
        XCTAssertEqual(try ExperimentSettings.training(job: .compare, optimizer: .adam, learningRate: 0.05).learningRate, 0.05)

        // The command records the resolved rate.
        let adam = try cotflow(smallCompare + ["--optimizer", "adam", "--json"])
        XCTAssertEqual(adam.status, 0, adam.stderr)
        XCTAssertEqual(adam.json["learning_rate"] as? Double, train)
    }

    func testCompareRefusalsAreTheRunsValidationMessages() throws {
        func refusal(_ run: () throws -> ComparisonRun) -> String {
            do { try run().validate() } catch { return "\(error)" }
            return "accepted"
        }
        let cases: [([String], String)] = [
            (["--init", "random", "--full-flow"], refusal { try ComparisonRun(d: 2, n: 8, k: 2, seed: 0, initialisation: .random, fullFlowPrompts: 64) }),
            (["--init", "random", "--params", "full"], refusal { try ComparisonRun(d: 2, n: 8, k: 2, seed: 0, trainable: [.full], initialisation: .random) }),
            (["--full-flow", "--optimizer", "adam"], refusal { try ComparisonRun(d: 2, n: 8, k: 2, seed: 0, optimizer: .adam, fullFlowPrompts: 64) }),
            (["--steps", "10"], refusal { try ComparisonRun(d: 2, n: 8, k: 2, seed: 0, steps: 10) }),
        ]
        for (arguments, message) in cases {
            XCTAssertTrue(message.hasPrefix("compare: "), message)
            let run = try cotflow(["compare", "--d", "2", "--n", "8", "--k", "2", "--quiet"] + arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr) lacks \(message)")
        }
        XCTAssertThrowsError(try ExperimentSettings.training(job: .flow, learningRate: 0.1)) {
            XCTAssertEqual("\($0)", "--learning-rate applies to --job train and compare, not flow")
        }
        XCTAssertThrowsError(try ExperimentSettings.training(job: .train, steps: 10, axes: ["steps"])) {
            XCTAssertEqual("\($0)", "--steps is fixed but steps is also an axis; give one")
        }
    }

    func testSweepAndMergeSummariesDecodeIntoTheLibraryTypes() throws {
        let dir = temporaryDirectory()
        let run = try cotflow(["sweep", "--job", "exact", "--vary", "k=1:3:3", "--quiet", "--out", dir])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try summary(dir)
        let recorded = try RunSummary<SweepShardRun, SweepSummary>(json: json)
        XCTAssertEqual(recorded.run.plan.settings.job, .exact)
        XCTAssertEqual(recorded.run.plan.axes, ["k=1:3:3"])
        XCTAssertEqual(recorded.run.shard, .whole)
        let decoded = recorded.result
        XCTAssertEqual(decoded.status, "completed")
        XCTAssertEqual(decoded.job, .exact)
        XCTAssertEqual([decoded.gridPoints, decoded.records, decoded.failed], [3, 3, 0])
        XCTAssertEqual(decoded.complete, true)
        XCTAssertEqual(decoded.shard.count, 1)
        XCTAssertEqual(decoded.files?.contains("sweep.tsv"), true)
        XCTAssertNil(decoded.finishedPoints)
        XCTAssertEqual(try recorded.json().rendered(), json.rendered())

        let merged = try cotflow(["merge", dir, "--json"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let mergeJSON = try JSONReader.parse(merged.stdout)
        let merge: MergeSummary = try mergeJSON.decoded()
        XCTAssertEqual([merge.gridPoints, merge.shards, merge.records], [3, 1, 3])
        XCTAssertTrue(merge.complete)
        XCTAssertEqual(try JSONValue.encoding(merge).rendered(), mergeJSON.rendered())
    }
}
