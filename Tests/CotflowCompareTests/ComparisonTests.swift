import CotflowExperiments
import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

final class ComparisonTests: XCTestCase {
    /// Issue 4's setting: (d, n, k) = (5, 40, 5), the paper's eta, Assumption 4.1 at scale 0.05,
    /// reduced parameters, the default SGD options; records every 100 steps to keep the test short.
    func testReducedTrainingFollowsTheFlow() throws {
        var config = try ComparisonConfig.defaults(d: 5, n: 40, k: 5, eta: paperStepSize(n: 40, d: 5), seed: 0)
        config.training.recordEvery = 100
        let comparison = try Comparator.run(config)
        let run = try XCTUnwrap(comparison.runs.first)
        let flow = try XCTUnwrap(comparison.flow), flowStages = try XCTUnwrap(comparison.flowStages)
        XCTAssertEqual(run.times, flow.times)
        // At t = 0 the parameters are identical: the gap is the held-out set's own sampling error,
        // which must be well under the 5% criterion.
        XCTAssertLessThan(run.relativeLossDeviation![0], 0.01)
        let deviation = try XCTUnwrap(run.maxRelativeLossDeviation)
        XCTAssertLessThan(deviation, 0.05)
        // The run covers the region: the flow's loss falls below 1e-3 of its start by the end.
        XCTAssertLessThan(flow.finalLoss, 1e-3 * flow.losses[0])
        // Reduced training from a shared eigenbasis stays near the invariant manifold.
        XCTAssertLessThan(run.maxEigenvalueDeviation!, 0.05)
        XCTAssertEqual(run.offBlockNorm.max()!, 0)
        // Both detectors find the same stages in both curves, boundaries within 10% in time.
        for agreement in [run.changePointAgreement, run.mechanisticAgreement] {
            let a = try XCTUnwrap(agreement)
            XCTAssertTrue(a.agrees(within: 0.10), "\(a.sameStages) \(String(describing: a.maxRelativeBoundaryDifference))")
        }
        XCTAssertGreaterThan(flowStages.changePoint.count, 1)
        XCTAssertGreaterThan(flowStages.mechanistic.count, 1)
        let table = try XCTUnwrap(comparison.table)
        XCTAssertEqual(table.rows.count, run.times.count)
        XCTAssertTrue(table.header.contains("reduced_rel_loss_dev"))
    }

    func testAdamHasNoTimeMap() throws {
        var config = try ComparisonConfig.defaults(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3), seed: 1)
        config.training.optimizer = .adam
        config.training.learningRate = 0.003
        config.training.steps = 40
        config.training.recordEvery = 8
        config.training.heldOutSize = 256
        config.flow.ode.endTime = 50
        let comparison = try Comparator.run(config)
        XCTAssertNil(comparison.table)
        XCTAssertNil(comparison.runs[0].maxRelativeLossDeviation)
    }

    func testBadConfigurationIsRefused() throws {
        var config = try ComparisonConfig.defaults(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3), seed: 1)
        config.trainable = []
        XCTAssertThrowsError(try Comparator.run(config))
        config.trainable = [.reduced]
        config.training.steps = 0
        XCTAssertThrowsError(try Comparator.run(config))
        config.training.steps = 30
        config.training.recordEvery = 10
        XCTAssertThrowsError(try Comparator.run(config)) { XCTAssertTrue("\($0)".contains("at least 5 records")) }
        // The flows descend the CoT loss at the exact eta: training must match both.
        var other = try ComparisonConfig.defaults(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3), seed: 1)
        other.training.objective = .nocot
        XCTAssertThrowsError(try Comparator.run(other)) { XCTAssertTrue("\($0)".contains("objective must be cot")) }
        other = try ComparisonConfig.defaults(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3), seed: 1)
        other.eta = Rational(1, 2)
        XCTAssertThrowsError(try Comparator.run(other)) { XCTAssertTrue("\($0)".contains("is not eta = 1/2")) }
    }
}

final class MomentumComparisonTests: XCTestCase {
    /// Heavy-ball momentum follows the reduced flow at t = h (s - beta (1 - beta^s) / (1 - beta)),
    /// h = lr / (1 - beta): issue 4's setting as `testReducedTrainingFollowsTheFlow`, beta = 0.5 at the
    /// comparison's default learning rate for it, 0.002 x (1 - beta), so h is SGD's learning rate and
    /// the record times are SGD's less the start-up lag h beta (1 - beta^s) / (1 - beta).
    ///
    /// Tolerance, the SGD test's 5%: at the same h the batch noise of the iterates is SGD's to first
    /// order; the discretisation adds (1 + beta) / (1 - beta) = 3 times SGD's leading term and a
    /// start-up lag of h beta / (1 - beta) = h in flow time, which the time map removes (notes/training.md), and halving SGD's step
    /// changes its deviation little here (notes/compare.md), so discretisation is a small part of it.
    /// (At beta = 0.9 the factor is 19 and the lag 9h: notes/compare.md measures that case.)
    func testMomentumFollowsTheFlow() throws {
        var config = try ComparisonConfig.defaults(d: 5, n: 40, k: 5, eta: paperStepSize(n: 40, d: 5), seed: 0)
        config.training.optimizer = .momentum(beta: 0.5)
        config.training.learningRate = ComparisonRun.defaultLearningRate(optimizer: config.training.optimizer)
        config.training.recordEvery = 100
        XCTAssertEqual(config.training.learningRate, 0.001, accuracy: 1e-15)
        let comparison = try Comparator.run(config)
        let run = try XCTUnwrap(comparison.runs.first)
        let flow = try XCTUnwrap(comparison.flow)
        XCTAssertEqual(run.times, flow.times)
        XCTAssertEqual(run.times.last!, 5 - 0.002, accuracy: 1e-12)
        let deviation = try XCTUnwrap(run.maxRelativeLossDeviation)
        XCTAssertLessThan(deviation, 0.05)
        XCTAssertLessThan(flow.finalLoss, 1e-3 * flow.losses[0])
        XCTAssertLessThan(run.maxEigenvalueDeviation!, 0.05)
    }
}
