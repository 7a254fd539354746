import CotflowExperiments
import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

/// The first correction in `compare` (MODEL.md section 10): the modified drift's flow on the record
/// times and the noise verdict along the flow.
final class FlowCorrectionTests: XCTestCase {
    private func comparison() throws -> Comparison {
        var config = try ComparisonConfig.defaults(d: 3, n: 20, k: 3, eta: paperStepSize(n: 20, d: 3), seed: 1)
        config.training.steps = 400
        config.training.recordEvery = 20
        config.training.heldOutSize = 2000
        return try Comparator.run(config)
    }

    func testCorrectionIsMeasuredAlongTheFlowAndDecidesTheVerdict() throws {
        let c = try comparison()
        let run = try XCTUnwrap(c.runs.first), flow = try XCTUnwrap(run.flow)
        let correction = try XCTUnwrap(run.correction)
        let lr = c.config.training.learningRate
        XCTAssertEqual(correction.driftCoefficient, lr / 2)
        XCTAssertEqual(correction.modifiedFlow.times, run.times)
        // The drift slows nothing at t = 0 and changes the path later: the curves differ, slightly.
        XCTAssertEqual(correction.modifiedFlow.losses[0], flow.losses[0])
        let gap = zip(correction.modifiedFlow.losses, flow.losses).map { abs($0 - $1) / $1 }.max()!
        XCTAssertGreaterThan(gap, 0)
        XCTAssertLessThan(gap, 0.1)
        XCTAssertNotNil(correction.maxRelativeLossDeviation)
        // The diagnostics: at most 8 points above the floor, the noise bound as defined.
        let points = correction.validity.points
        XCTAssertFalse(points.isEmpty)
        XCTAssertLessThanOrEqual(points.count, 8)
        for p in points {
            XCTAssertGreaterThan(p.flowLoss, c.config.deviationFloor * flow.losses[0])
            XCTAssertEqual(p.noiseExcess, lr * p.noise.covarianceTrace / (4 * 512 * p.flowLoss), accuracy: 1e-12 * p.noiseExcess)
            XCTAssertEqual(p.noise.prompts, FlowCorrection.diagnosticPrompts)
        }
        // The same flow and prompts with a batch of one at 25 times the step: the noise bound is
        // 512 x 25 times larger, over the threshold here, and the verdict is "not expected".
        let start = AssumptionInitialisation(d: 3, seed: 1, vRange: c.config.training.vRange, wRange: c.config.training.wRange)
        let floor = c.config.deviationFloor * flow.losses[0]
        let same = FlowValidity.measure(flow: flow, basis: start.basis(), task: c.config.training.task, trainable: .reduced, batchSize: 512,
                                        step: lr, optimizer: "SGD", driftShift: nil, driftCoefficient: lr / 2,
                                        prompts: FlowCorrection.diagnosticPrompts, seed: 1, floor: floor)
        XCTAssertEqual(same.points.map(\.noiseExcess), points.map(\.noiseExcess))
        let one = FlowValidity.measure(flow: flow, basis: start.basis(), task: c.config.training.task, trainable: .reduced, batchSize: 1,
                                       step: 25 * lr, optimizer: "SGD", driftShift: nil, driftCoefficient: 25 * lr / 2,
                                       prompts: FlowCorrection.diagnosticPrompts, seed: 1, floor: floor)
        for (a, b) in zip(points, one.points) {
            XCTAssertEqual(b.noiseExcess, 512 * 25 * a.noiseExcess, accuracy: 1e-9 * b.noiseExcess)
        }
        XCTAssertGreaterThan(try XCTUnwrap(one.largestNoiseExcess).noiseExcess, FlowValidity.noiseExcessLimit)
        // The verdict is the rules of FlowValidity: a clearly heavy tail first, then the noise bound.
        let tail = try XCTUnwrap(one.smallestTailIndex).index
        let heavy = tail.alpha + 2 * tail.standardError < 2
        XCTAssertLessThan(try XCTUnwrap(correction.validity.largestNoiseExcess).noiseExcess, FlowValidity.noiseExcessLimit)
        XCTAssertEqual(correction.validity.verdict.expected, !heavy, correction.validity.verdict.reason)
        XCTAssertFalse(one.verdict.expected)
        XCTAssertTrue(one.verdict.reason.contains(heavy ? "heavy tail" : "batch noise"), one.verdict.reason)

        // The first correction's own prediction: the modified flow's largest loss shift from the plain
        // flow over the counted records (at most the gap over all records), part of the verdict.
        let shift = try XCTUnwrap(correction.validity.driftShift)
        XCTAssertGreaterThan(shift, 0)
        XCTAssertLessThanOrEqual(shift, gap)
        XCTAssertEqual(correction.validity.driftCoefficient, lr / 2)
        XCTAssertTrue(correction.reportLines[1].contains("to describe SGD here"), correction.reportLines[1])
        // A drift that moves the loss by 20% (momentum at a large effective step) is not followed, and
        // the verdict names the optimizer it is about (it said "SGD" for every optimizer).
        let momentum = OptimizerKind.momentum(beta: 0.9).prose
        XCTAssertEqual(momentum, "SGD with heavy-ball momentum (beta = 0.9)")
        let drifting = FlowValidity.measure(flow: flow, basis: start.basis(), task: c.config.training.task, trainable: .reduced, batchSize: 512,
                                            step: lr, optimizer: momentum, driftShift: 0.2, driftCoefficient: 19 * lr / 2,
                                            prompts: FlowCorrection.diagnosticPrompts, seed: 1, floor: floor)
        XCTAssertFalse(drifting.verdict.expected)
        XCTAssertTrue(drifting.verdict.reason.contains(heavy ? momentum : "first correction") && drifting.verdict.reason.contains(heavy ? "heavy tail" : "20%"),
                      drifting.verdict.reason)
    }
}
