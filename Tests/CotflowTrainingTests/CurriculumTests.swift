@testable import CotflowModel
import XCTest

final class CurriculumTests: XCTestCase {
    /// The schedule: equal stages 1...k-1 over the ramp, then k; deterministic integer arithmetic.
    func testScheduleStagesAndLengths() throws {
        let c = Curriculum(start: 1, rampFraction: 0.5)
        XCTAssertEqual(c.stages(steps: 1000, k: 6).map { [$0.fromStep, $0.length] },
                       [[0, 1], [100, 2], [200, 3], [300, 4], [400, 5], [500, 6]])
        let lengths = (0..<1000).map { c.length(step: $0, steps: 1000, k: 6) }
        XCTAssertEqual(lengths[99], 1); XCTAssertEqual(lengths[100], 2); XCTAssertEqual(lengths[499], 5); XCTAssertEqual(lengths[500], 6)
        XCTAssertEqual(lengths, lengths.sorted(), "the length never decreases")
        // Stages agree with the step-by-step lengths for uneven splits and other starts.
        for (start, f, steps, k) in [(1, 0.3, 37, 4), (2, 0.9, 10, 5), (1, 0.0, 20, 3), (3, 0.5, 100, 3), (1, 0.7, 3, 6), (1, 0.9, 5, 4), (1, 0.5, 1, 3)] {
            let cur = Curriculum(start: start, rampFraction: f)
            var fromSteps: [Curriculum.Stage] = []
            for s in 0..<steps where fromSteps.last?.length != cur.length(step: s, steps: steps, k: k) {
                fromSteps.append(.init(fromStep: s, length: cur.length(step: s, steps: steps, k: k)))
            }
            XCTAssertEqual(cur.stages(steps: steps, k: k), fromSteps, "start \(start), ramp \(f), steps \(steps), k \(k)")
            XCTAssertEqual(cur.length(step: steps - 1, steps: steps, k: k), k, "the last step trains at k")
        }
        XCTAssertThrowsError(try Curriculum(start: 0).validate(k: 3))
        XCTAssertThrowsError(try Curriculum(start: 4).validate(k: 3))
        XCTAssertThrowsError(try Curriculum(rampFraction: 1).validate(k: 3))
        XCTAssertThrowsError(try Curriculum(rampFraction: .nan).validate(k: 3))
    }

    func config(_ objective: TrainingObjective, k: Int, curriculum: Curriculum?) throws -> TrainingConfig {
        let task = try TaskConfig(d: 2, n: 6, k: k, eta: paperStepSize(n: 6, d: 2).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: objective, seed: 4)
        cfg.steps = 10; cfg.recordEvery = 1; cfg.batchSize = 70; cfg.heldOutSize = 20; cfg.curriculum = curriculum
        return cfg
    }

    /// The curriculum is applied: while it trains at length 1, a run at k = 3 takes exactly the
    /// steps of a run at k = 1 (same prompts and initialisation), so their batch losses agree bit for
    /// bit; without the curriculum they differ from the first step. Looped and CoT objectives.
    func testFirstStageTrainsAtLengthOne() throws {
        let curriculum = Curriculum(start: 1, rampFraction: 0.9)  // ramp 9 steps: length 1 on steps 0...4
        for objective in [TrainingObjective.looped, .cot] {
            let stages = curriculum.stages(steps: 10, k: 3)
            XCTAssertEqual(stages.map { $0.length }, [1, 2, 3])
            let firstStage = stages[1].fromStep
            let withCurriculum = try Trainer(config: config(objective, k: 3, curriculum: curriculum)).run()
            let atOne = try Trainer(config: config(objective, k: 1, curriculum: nil)).run()
            let plain = try Trainer(config: config(objective, k: 3, curriculum: nil)).run()
            XCTAssertEqual(withCurriculum.curriculumStages, stages)
            XCTAssertTrue(plain.curriculumStages.isEmpty)
            let curriculumRecords = withCurriculum.trajectory.records, atOneRecords = atOne.trajectory.records
            for step in 0..<firstStage {
                XCTAssertEqual(curriculumRecords[step].batchLoss, atOneRecords[step].batchLoss, "\(objective) step \(step)")
            }
            XCTAssertNotEqual(curriculumRecords[0].batchLoss, plain.trajectory.records[0].batchLoss, "\(objective)")
            // From the second stage on the run trains at length 2, no longer the k = 1 run.
            XCTAssertNotEqual(curriculumRecords[firstStage + 1].batchLoss, atOneRecords[firstStage + 1].batchLoss)
            // Held-out records always use k: at step 0 (same parameters) they equal the plain run's.
            XCTAssertEqual(curriculumRecords[0].evalLossMean, plain.trajectory.records[0].evalLossMean)
            // Deterministic.
            let again = try Trainer(config: config(objective, k: 3, curriculum: curriculum)).run()
            XCTAssertEqual(again.parameters, withCurriculum.parameters)
        }
        XCTAssertThrowsError(try Trainer(config: config(.nocot, k: 3, curriculum: curriculum)))
    }

    /// Clipping scales large batch gradients down: with a tiny clip norm every step is clipped and
    /// SGD moves each step by exactly lr * clip.
    func testClipNormBoundsTheStep() throws {
        var cfg = try config(.looped, k: 2, curriculum: nil)
        cfg.optimizer = .sgd; cfg.learningRate = 0.1; cfg.clipNorm = 1e-3; cfg.steps = 1
        let r = try Trainer(config: cfg).run()
        XCTAssertEqual(r.clippedSteps, 1)
        let moved = zip(r.parameters.V + r.parameters.W, r.initialParameters.V + r.initialParameters.W)
            .reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        XCTAssertEqual(moved, 0.1 * 1e-3, accuracy: 1e-12)
        cfg.clipNorm = 0
        XCTAssertThrowsError(try Trainer(config: cfg))
    }
}
