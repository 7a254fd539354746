import CotflowCore
import CotflowExact
import CotflowExperiments
import CotflowModel
import XCTest

/// The estimate's operation counts scale as the runs' work does (ratios, never times), composite
/// runs sum their parts, and the progress display's time left covers every phase.
final class EstimateScalingTests: XCTestCase {
    private let rates = MachineRates(flopsPerCore: 1e9, limbProducts: 1e8, cores: 2, source: "test")

    func testEvaluationIsLinearInPromptsAndQuadraticInK() throws {
        func ops(k: Int, prompts: Int) throws -> Double { try EvaluationRun(d: 10, n: 40, k: k, prompts: prompts).estimate().operations(.kernel) }
        XCTAssertEqual(try ops(k: 5, prompts: 20000) / ops(k: 5, prompts: 10000), 2, accuracy: 1e-12)
        // At large k the chain's m + 1 tokens per step dominate: doubling k quadruples the work.
        let ratio = try ops(k: 20000, prompts: 100) / ops(k: 10000, prompts: 100)
        XCTAssertEqual(ratio, 4, accuracy: 0.05)
        XCTAssertGreaterThan(try ops(k: 1_000_000, prompts: 10000), ResourceLimit.workOperations)
    }

    func testTrainingScalesWithStepsAndBatch() throws {
        func ops(steps: Int, batch: Int, heldOut: Int = 1) throws -> Double {
            try TrainingRun(d: 10, n: 40, k: 5, seed: 0, batchSize: batch, steps: steps, recordEvery: steps, heldOut: heldOut).estimate().operations
        }
        XCTAssertEqual(try ops(steps: 2000, batch: 256) / ops(steps: 1000, batch: 256), 2, accuracy: 0.01)
        XCTAssertEqual(try ops(steps: 1000, batch: 512) / ops(steps: 1000, batch: 256), 2, accuracy: 0.01)
        // The CoT gradient grows with d about as d^2 k per prompt (direct kernel) or d^3 (folded).
        let d20 = try TrainingRun(d: 20, n: 40, k: 5, seed: 0, steps: 100).estimate().operations
        let d10 = try TrainingRun(d: 10, n: 40, k: 5, seed: 0, steps: 100).estimate().operations
        XCTAssertGreaterThan(d20 / d10, 3)
        XCTAssertLessThan(d20 / d10, 9)
    }

    func testFullFlowScalesWithPromptsAndTimeUpToMaxSteps() {
        func estimate(prompts: Int, tEnd: Double, maxSteps: Int? = nil) -> WorkEstimate {
            var settings = FlowSolverSettings()
            settings.endTime = tEnd
            if let maxSteps { settings.maximumSteps = maxSteps }
            return FullFlowRun(d: 4, n: 20, k: 3, seed: 0, prompts: prompts, solver: settings).estimate()
        }
        let base = estimate(prompts: 1024, tEnd: 10)
        XCTAssertEqual(estimate(prompts: 2048, tEnd: 10).operations / base.operations, 2, accuracy: 1e-9)
        // Held by stability, steps grow linearly in t_end; --max-steps caps them.
        let long = estimate(prompts: 1024, tEnd: 1e3).phases[0].steps!, longer = estimate(prompts: 1024, tEnd: 1e4).phases[0].steps!
        XCTAssertEqual(longer / long, 10, accuracy: 0.2)
        XCTAssertEqual(estimate(prompts: 1024, tEnd: 1e9).phases[0].steps, 1_000_000)
        XCTAssertEqual(estimate(prompts: 1024, tEnd: 1e9, maxSteps: 1000).phases[0].steps, 1000)
        XCTAssertThrowsError(try FullFlowRun(d: 10, n: 40, k: 5, seed: 0, solver: { var s = FlowSolverSettings(); s.endTime = 1e9; return s }()).validate()) { error in
            XCTAssertTrue(error is WorkLimitExceeded, "\(error)")
        }
    }

    func testExactWorkGrowsWithTheDegree() {
        let k20 = ReducedLoss.workPhase(n: 40, d: 10, k: 20).operations, k40 = ReducedLoss.workPhase(n: 40, d: 10, k: 40).operations
        // The degree doubles: D^3 products of integers of up to D log D limbs, squared (schoolbook),
        // summed over the degrees: between D^4 and D^6 times the logarithms' growth, 16 to 100 times.
        XCTAssertGreaterThan(k40 / k20, 16)
        XCTAssertLessThan(k40 / k20, 100)
    }

    func testComparisonSumsItsPartsAndASweepItsShards() throws {
        let compare = try ComparisonRun(d: 3, n: 10, k: 2, seed: 0, trainable: [.reduced, .full], steps: 100, fullFlowPrompts: 64)
        let estimate = compare.estimate()
        XCTAssertEqual(estimate.phases.map(\.name), ["training (reduced)", "training (full)", "exact reduced loss", "reduced flow", "full-matrix flow",
                                                     "full-matrix flow on the held-out set", "first correction"])
        var training = compare.config.training
        training.trainable = .full
        XCTAssertEqual(estimate.phases[1].operations, training.workEstimate.operations)
        XCTAssertEqual(estimate.shares(rates).reduce(0, +), 1, accuracy: 1e-12)

        var settings = ExperimentSettings(job: .train)
        (settings.d, settings.n, settings.k) = (3, 10, 2)
        settings.training.steps = 50
        let grid = try SweepGrid(specs: ["seed=0,1,2,3,4"], allowedNames: SweepJob.train.axisNames, integerNames: SweepJob.integerAxes)
        let plan = SweepPlan(settings: settings, axes: ["seed=0,1,2,3,4"], directory: "", shards: 2)
        let whole = try SweepPlan(settings: settings, axes: ["seed=0,1,2,3,4"], directory: "", shards: 1).estimate(shard: .whole)
        let shards = try plan.shardEstimates()
        XCTAssertEqual(shards.map(\.operations).reduce(0, +), whole.operations, accuracy: 1e-9 * whole.operations)
        XCTAssertEqual(shards[0].operations / shards[1].operations, 3.0 / 2, accuracy: 1e-9)
        XCTAssertEqual(grid.count, 5)
    }

    /// The time left covers every phase: half-way through the first of two equal phases is a
    /// quarter of the run, so the time left is three times the time elapsed.
    func testProgressTimeLeftCoversEveryPhase() {
        let line = Progress.line(label: "compare", done: 50, total: 100, elapsed: 10, loss: nil, bar: false, fraction: 0.25, phase: "reduced flow (phase 1 of 2)")
        XCTAssertTrue(line.hasPrefix("compare reduced flow (phase 1 of 2): 50/100 5.0 steps/s"), line)
        XCTAssertTrue(line.hasSuffix("~30s left"), line)
        // Nothing done yet: the time left is unknown, never "~0s".
        XCTAssertTrue(Progress.line(label: "flow", done: 0, total: 1000, elapsed: 5, loss: nil, bar: false).hasSuffix("~? left"))

        let lines = LineSink()
        let phases = WorkEstimate([.init("a", .kernel, operations: 1e9, basis: ""), .init("b", .kernel, operations: 3e9, basis: "")])
        let progress = Progress(total: 10, label: "run", delay: 0, phases: phases, rates: rates, sink: { lines.append($0) })
        progress.phase("a", total: 10)
        progress.phase("b", total: 10)
        progress.finish()
        let text = lines.text
        XCTAssertTrue(text.contains("run a (phase 1 of 2): 0/10"), text)
        XCTAssertTrue(text.contains("run b (phase 2 of 2): 0/10"), text)
        XCTAssertTrue(text.contains("run done: 2 phases"), text)
    }
}

private final class LineSink: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return lines.joined() }
}
