import CotflowCore
@testable import CotflowModel
import CotflowCore
import Foundation
import XCTest

final class TrainingTests: XCTestCase {
    /// Theorem 3.1: no one-layer linear transformer beats one GD step with eta = n/(n+d+1) on the
    /// no-CoT loss, whose value is d(d+1)/(n+d+1). Default options from a random initialisation
    /// must get within 3% of it on a held-out set whose standard error is well below 3%.
    func testNoCoTTrainingReachesTheorem31Optimum() throws {
        let d = 10, n = 20
        let task = try TaskConfig(d: d, n: n, k: 1, eta: paperStepSize(n: n, d: d).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: .nocot, seed: 1)
        cfg.heldOutSize = 20000
        cfg.recordEvery = cfg.steps
        let res = try Trainer(config: cfg).run()
        XCTAssertEqual(res.status, .completed)
        let optimum = Double(d * (d + 1)) / Double(n + d + 1)
        let s = try XCTUnwrap(res.heldOutEval)
        XCTAssertLessThan(s.standardError / optimum, 0.006, "held-out set too small for a 3% check")
        XCTAssertLessThan(abs(s.mean - optimum) / optimum, 0.03, "held-out no-CoT loss \(s.mean) vs optimum \(optimum)")
        // The trajectory holds step 0 and the last step.
        XCTAssertEqual(res.trajectory.steps, [0, cfg.steps])
    }

    /// CoT training of the reduced model (V31, W13; W24 = -1) from Assumption 4.1 at (5, 40, 5) and the
    /// paper's eta converges to the construction V31 = -eta I, W13 = I.
    ///
    /// Tolerance 1e-6 (max entry): the CoT loss is zero at the construction for EVERY prompt, so the
    /// stochastic gradient vanishes there and there is no noise floor; what remains is optimisation
    /// error, which Adam drives to about 1e-10 in these 1000 steps.
    func testCoTTrainingFromAssumptionReachesConstruction() throws {
        let d = 5, n = 40
        let task = try TaskConfig(d: d, n: n, k: 5, eta: paperStepSize(n: n, d: d).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: .cot, seed: 2)
        cfg.trainable = .reduced
        cfg.initialisation = .assumption
        cfg.heldOutSize = 256
        cfg.recordEvery = 250
        let res = try Trainer(config: cfg).run()
        XCTAssertEqual(res.status, .completed)
        let target = TransformerParameters.construction(d: d, eta: task.eta)
        let vDev = zip(res.parameters.V31, target.V31).map { abs($0 - $1) }.max()!
        let wDev = zip(res.parameters.W13, target.W13).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(vDev, 1e-6)
        XCTAssertLessThan(wDev, 1e-6)
        XCTAssertEqual(res.parameters.W24, -1)
        XCTAssertEqual(res.parameters.offBlockNorm, 0)
        // Trajectory: eigenvalues at the end are -eta and 1.
        let last = res.trajectory.records.last!.parameters
        // The table view: the header and one row of values per record, in the same order.
        let table = res.trajectory.table
        XCTAssertEqual(table.header.count, 9 + 4 * d + 7)
        XCTAssertEqual(table.header, TrainingTrajectory.header(d: d))
        XCTAssertEqual(table.rows, res.trajectory.records.map(\.values))
        XCTAssertEqual(table.rows.last![table.header.firstIndex(of: "v_eig_1")!], last.vEigenvalues[0])
        XCTAssertEqual(table.rows.last![table.header.firstIndex(of: "w2_minus_v2")!], last.w2MinusV2)
        // V31 and W13 start with a shared eigenbasis and end at the construction: on the
        // invariant manifold at both ends.
        for p in [res.trajectory.records.first!.parameters, last] {
            XCTAssertLessThan(p.offDiagonalNorm, 1e-6)
            XCTAssertLessThan(p.commutatorNorm, 1e-6)
        }
        for j in 0..<d {
            XCTAssertEqual(last.vEigenvalues[j], -task.eta, accuracy: 1e-6)
            XCTAssertEqual(last.wDiagonal[j], 1, accuracy: 1e-6)
        }
        // At step 0 the diagonals in the initial eigenbasis are the drawn eigenvalues.
        let a = AssumptionInitialisation(d: d, seed: 2, vRange: cfg.vRange, wRange: cfg.wRange)
        let first = res.trajectory.records[0].parameters
        for j in 0..<d {
            XCTAssertEqual(first.vDiagonal[j], a.v[j], accuracy: 1e-12)
            XCTAssertEqual(first.wDiagonal[j], a.w[j], accuracy: 1e-12)
        }
    }

    func smallConfig(seed: UInt64, objective: TrainingObjective = .cot) throws -> TrainingConfig {
        let task = try TaskConfig(d: 3, n: 8, k: 3, eta: paperStepSize(n: 8, d: 3).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: objective, seed: seed)
        cfg.steps = 30; cfg.recordEvery = 10; cfg.batchSize = 200; cfg.heldOutSize = 150
        return cfg
    }

    /// Training gives the same bits whichever kernel runs the small products (Swift SSE2, C AVX2,
    /// C AVX-512F): every objective, and the CoT objective at (10, 20, 20) too, where the folded
    /// CoT kernel runs (the small config runs the direct one).
    func testTrainingIsBitIdenticalWithEveryProductKernel() throws {
        var configs = try TrainingObjective.allCases.map { try smallConfig(seed: 3, objective: $0) }
        let task = try TaskConfig(d: 10, n: 20, k: 20, eta: paperStepSize(n: 20, d: 10).doubleValue / 2)
        var folded = TrainingConfig.defaults(task: task, objective: .cot, seed: 3)
        folded.steps = 4; folded.recordEvery = 2; folded.batchSize = 130; folded.heldOutSize = 70
        configs.append(folded)
        let costs = cotKernelCosts(d: 10, k: 20)
        XCTAssertLessThan(costs.folded, costs.direct)
        for cfg in configs {
            let reference = try SmallProductKernel.with(.swift) { try Trainer(config: cfg).run() }
            for kernel in SmallProductKernel.allCases where kernel != .swift && kernel.isSupported {
                let other = try SmallProductKernel.with(kernel) { try Trainer(config: cfg).run() }
                let label = "\(cfg.objective) (\(cfg.task.d), \(cfg.task.n), \(cfg.task.k)), \(kernel.name)"
                XCTAssertEqual(other.trajectory, reference.trajectory, label)
                XCTAssertEqual(other.parameters.V.map(\.bitPattern), reference.parameters.V.map(\.bitPattern), label)
                XCTAssertEqual(other.parameters.W.map(\.bitPattern), reference.parameters.W.map(\.bitPattern), label)
            }
        }
    }

    func testSameSeedIsBitIdenticalDifferentSeedDiffers() throws {
        for objective in TrainingObjective.allCases {
            let a = try Trainer(config: smallConfig(seed: 5, objective: objective)).run()
            let b = try Trainer(config: smallConfig(seed: 5, objective: objective)).run()
            let c = try Trainer(config: smallConfig(seed: 6, objective: objective)).run()
            XCTAssertEqual(a.trajectory, b.trajectory, "\(objective)")
            XCTAssertEqual(a.parameters, b.parameters, "\(objective)")
            XCTAssertNotEqual(a.trajectory, c.trajectory, "\(objective)")
            XCTAssertNotEqual(a.parameters, c.parameters, "\(objective)")
            XCTAssertEqual(a.trajectory.steps, [0, 10, 20, 30])
            XCTAssertEqual(a.stepsDone, 30)
            XCTAssertEqual(a.trajectory.records[1].time, 10 * (try smallConfig(seed: 5)).learningRate)
        }
        // Progress callback sees every step.
        var seen: [Int] = []
        _ = try Trainer(config: smallConfig(seed: 5)).run { step, total in seen.append(step); XCTAssertEqual(total, 30) }
        XCTAssertEqual(seen, Array(1...30))
    }

    func testDivergingRunStopsAndKeepsTrajectory() throws {
        var cfg = try smallConfig(seed: 3)
        cfg.optimizer = .sgd
        cfg.learningRate = 1e6
        cfg.steps = 200
        cfg.recordEvery = 1
        let res = try Trainer(config: cfg).run()
        guard case .diverged(let step, let reason) = res.status else { return XCTFail("expected divergence, got \(res.status)") }
        print("diverging run: step \(step), \(reason), \(res.trajectory.records.count) records")
        XCTAssertGreaterThan(step, 0)
        XCTAssertLessThan(step, 200)
        XCTAssertFalse(reason.isEmpty)
        XCTAssertGreaterThanOrEqual(res.trajectory.records.count, 1)
        XCTAssertEqual(res.trajectory.records[0].step, 0)
        XCTAssertLessThanOrEqual(res.trajectory.records.last!.step, step)
        XCTAssertEqual(res.stepsDone, step)
    }

    /// Issue 24: a diverged run has no final values. Recorded every 50 steps, a run that diverges
    /// before step 50 has only its step-0 record; those values were reported as "final" (held-out
    /// losses, `final_cot_loss`). Now the final values are nil (JSON null), the last finite record
    /// is named with its step, and the report says so.
    func testDivergedRunHasNoFinalValues() throws {
        let run = try TrainingRun(d: 3, n: 12, k: 2, seed: 0, trainable: .reduced, initialisation: .assumption, optimizer: .sgd,
                                  learningRate: 30, batchSize: 64, steps: 300, recordEvery: 50, heldOut: 500)
        let outcome = try run.solve()
        let r = outcome.result
        guard case .diverged(let step, _) = r.status else { return XCTFail("expected divergence, got \(r.status)") }
        XCTAssertLessThan(step, 50, "the run must diverge before its second record")
        XCTAssertNil(r.heldOutCoT)
        XCTAssertNil(r.heldOutEval)
        XCTAssertEqual(r.lastRecord?.step, 0)
        XCTAssertNil(outcome.metrics.finalCoTLoss)
        XCTAssertNil(outcome.metrics.cotLoss)
        let json = try JSONValue.encoding(outcome.metrics).rendered()
        XCTAssertTrue(json.contains("\"final_cot_loss\": null"), json)
        XCTAssertTrue(json.contains("\"last_record_step\": 0"), json)
        XCTAssertFalse(json.contains("cot_loss_mean"), json)
        // The summary reads back.
        let back = try JSONDecoder().decode(TrainingMetrics.self, from: Data(json.utf8))
        XCTAssertNil(back.finalCoTLoss)
        XCTAssertEqual(back.lastRecordStep, 0)
        let report = outcome.report(run: run, out: nil, plotted: false)
        XCTAssertFalse(report.contains("held-out CoT loss:"), report)
        XCTAssertTrue(report.contains("held-out losses: none at the end (the run diverged); its last finite record, step 0 (t = 0)"), report)
    }

    /// Issue 23: the held-out set never decides whether training runs. A looped model from a random start
    /// of scale 0.3 at k = 6 loops overflows on some held-out prompts from step 0 (the old rule stopped
    /// such a run there as diverged), while its training batches stay finite: the run completes, each
    /// record counts the overflowed prompts (the same count as scoring the held-out set at the record's
    /// parameters directly), its mean is NaN, and the final report says how many overflowed.
    func testHeldOutPromptsThatOverflowDoNotStopTraining() throws {
        let task = try TaskConfig(d: 3, n: 8, k: 6, eta: paperStepSize(n: 8, d: 3).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: .looped, seed: 0)
        cfg.initScale = 0.3
        cfg.steps = 5; cfg.batchSize = 8; cfg.heldOutSize = 2000; cfg.recordEvery = 5
        let res = try Trainer(config: cfg).run()
        XCTAssertEqual(res.status, .completed)
        XCTAssertEqual(res.trajectory.steps, [0, 5])
        let heldOut = PromptSets.heldOut(cfg)
        for (record, parameters) in zip(res.trajectory.records, [res.initialParameters, res.parameters]) {
            let losses = Objectives.compute(.looped, parameters: parameters, task: task, batch: heldOut, gradient: false).perPrompt
            let overflowed = losses.filter { !$0.isFinite }.count
            XCTAssertGreaterThan(overflowed, 0, "step \(record.step)")
            XCTAssertLessThan(overflowed, heldOut.count / 2, "step \(record.step)")
            XCTAssertEqual(record.evalLossOverflowed, overflowed, "step \(record.step)")
            XCTAssertTrue(record.evalLossMean.isNaN)
            XCTAssertTrue(record.evalLossMedian.isFinite)
            XCTAssertTrue(record.batchLoss.isFinite)
        }
        let overflowed = res.trajectory.records.last!.evalLossOverflowed
        XCTAssertEqual(res.heldOutEval?.nonFiniteCount, overflowed)
        XCTAssertFalse(try XCTUnwrap(res.heldOutEval).meanIsStable)
        XCTAssertTrue(try XCTUnwrap(res.heldOutEval).report(name: "held-out").contains("overflowed \(overflowed) of 2000"))
        let row = res.trajectory.table.rows.last!, header = res.trajectory.table.header
        XCTAssertEqual(row[header.firstIndex(of: "eval_loss_overflowed")!], Double(overflowed))
        XCTAssertTrue(row[header.firstIndex(of: "eval_loss_mean")!].isNaN)
    }

    func testBadOptionsThrow() throws {
        var cfg = try smallConfig(seed: 1)
        cfg.learningRate = 0
        XCTAssertThrowsError(try Trainer(config: cfg)) { XCTAssertTrue("\($0)".contains("learning rate")) }
        cfg = try smallConfig(seed: 1); cfg.batchSize = 0
        XCTAssertThrowsError(try Trainer(config: cfg)) { XCTAssertTrue("\($0)".contains("batch size")) }
        cfg = try smallConfig(seed: 1); cfg.heldOutSize = 0
        XCTAssertThrowsError(try Trainer(config: cfg))
    }

    /// Random init respects the trainable set; the assumption init is Assumption 4.1's matrices.
    func testInitialisations() throws {
        var cfg = try smallConfig(seed: 4)
        cfg.trainable = .reduced
        let p = try Trainer(config: cfg).initialParameters().parameters
        XCTAssertEqual(p.W24, -1)
        XCTAssertEqual(p.offBlockNorm, 0)
        XCTAssertNotEqual(p.V31, [Double](repeating: 0, count: 9))
        cfg.initialisation = .assumption
        let q = try Trainer(config: cfg).initialParameters()
        let a = AssumptionInitialisation(d: 3, seed: 4, vRange: cfg.vRange, wRange: cfg.wRange)
        let basis = a.basis()
        XCTAssertEqual(q.parameters.V31, AssumptionInitialisation.matrix(eigenvalues: a.v, basis: basis))
        XCTAssertEqual(q.parameters.W13, AssumptionInitialisation.matrix(eigenvalues: a.w, basis: basis))
        XCTAssertEqual(q.basis, basis)
        // Reduced training keeps everything outside V31, W13 fixed.
        let res = try Trainer(config: cfg).run()
        XCTAssertEqual(res.parameters.offBlockNorm, 0)
        XCTAssertEqual(res.parameters.W24, -1)
    }
}
