import CotflowModel
import CotflowCore
import XCTest

final class FullMatrixFlowTests: XCTestCase {
    let task = try! TaskConfig(d: 3, n: 12, k: 3, eta: 12.0 / 16.0)

    func trainingConfig(prompts: Int, initialisation: InitialisationKind, learningRate: Double = 1, steps: Int = 1) -> TrainingConfig {
        TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: initialisation, initScale: 0.3,
                       optimizer: .sgd, learningRate: learningRate, batchSize: prompts, steps: steps, recordEvery: 1,
                       heldOutSize: 64, seed: 7)
    }

    /// The flow's right-hand side at the start is minus the gradient of `train`'s first SGD step
    /// with batch size N: same prompts (the first batch), same initial point, same gradient. With a
    /// learning rate of 1 the step is p1 = p0 - g, so (p1 - p0) = -g up to one rounding of p1.
    func testRightHandSideIsMinusTheFullBatchGradientOfTraining() throws {
        let prompts = 150  // three chunks, the last one partial
        for initialisation in [InitialisationKind.random, .assumption] {
            let config = trainingConfig(prompts: prompts, initialisation: initialisation)
            let result = try Trainer(config: config).run()
            let p0 = result.initialParameters, p1 = result.parameters
            let flow = try FullMatrixFlow(task: task, promptCount: prompts, seed: config.seed)
            let y0 = p0.V + p0.W, after = p1.V + p1.W
            var dydt = [Double](repeating: 0, count: flow.dimension)
            try y0.withUnsafeBufferPointer { y in
                try dydt.withUnsafeMutableBufferPointer { try flow.system.rightHandSide(0, y, $0) }
            }
            var largest = 0.0
            for i in y0.indices {
                let step = after[i] - y0[i]
                // p1 = fl(p0 - g): |error of (p1 - p0)| <= eps (|p0| + |g|), with a factor 2 of slack.
                XCTAssertEqual(dydt[i], step, accuracy: 2 * Double.ulpOfOne * (abs(y0[i]) + abs(dydt[i])) + Double.leastNormalMagnitude,
                               "entry \(i), \(initialisation)")
                largest = max(largest, abs(dydt[i]))
            }
            XCTAssertGreaterThan(largest, 1e-3, "the gradient must not vanish at the start (\(initialisation))")
        }
    }

    func testImplicitSteppersAreRefusedWithAWorkingAlternative() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 64, seed: 1)
        let (p0, basis) = try Trainer(config: trainingConfig(prompts: 64, initialisation: .random)).initialParameters()
        for stepper in Stepper.allCases {
            var options = FullMatrixFlow.defaultOptions
            options.ode.stepper = stepper
            options.ode.endTime = 0.01
            options.ode.grid = .linear(points: 3)
            if stepper.requiresJacobian {
                XCTAssertThrowsError(try flow.integrate(from: p0, basis: basis, options: options)) { error in
                    XCTAssertEqual(error as? FullFlowConfigurationError, .implicitStepper(stepper, dimension: flow.dimension))
                    XCTAssertTrue("\(error)".contains("rkf45"), "\(error)")
                }
            } else {
                XCTAssertNoThrow(try flow.integrate(from: p0, basis: basis, options: options), stepper.rawValue)
            }
        }
    }

    /// Along a gradient flow dL/dt = -|grad L|^2 <= 0: the recorded loss on the flow's prompts never rises
    /// (up to the integration error), and from a random start it falls. The trajectory has train's columns.
    func testLossFallsAlongTheFlowAndTheTableHasTrainingColumns() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 128, seed: 3)
        let (p0, basis) = try Trainer(config: trainingConfig(prompts: 128, initialisation: .random)).initialParameters()
        var options = FullMatrixFlow.defaultOptions
        options.ode.endTime = 3
        options.ode.grid = .linear(points: 31)
        let t = try flow.integrate(from: p0, basis: basis, options: options)
        XCTAssertEqual(t.times.count, 31)
        for i in 1..<t.losses.count { XCTAssertLessThanOrEqual(t.losses[i], t.losses[i - 1] * (1 + 1e-6), "record \(i)") }
        XCTAssertLessThan(t.finalLoss, 0.5 * t.losses[0])
        XCTAssertFalse(t.converged)
        let table = try t.table()
        for name in ParameterColumns.names(d: task.d) { XCTAssertTrue(table.header.contains(name), name) }
        XCTAssertEqual(Array(TrainingTrajectory.header(d: task.d).suffix(ParameterColumns.names(d: task.d).count)), ParameterColumns.names(d: task.d))
    }

    /// The default stepper (auto: tsit5 here, the flow has no Jacobian) integrates freely and takes the
    /// output times from its continuous extension: the losses there agree with rkf45 landing on each
    /// output time, within the tolerances, for fewer right-hand sides.
    func testDenseOutputAgreesWithSteppingOntoTheOutputTimes() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 128, seed: 3)
        let (p0, basis) = try Trainer(config: trainingConfig(prompts: 128, initialisation: .random)).initialParameters()
        var options = FullMatrixFlow.defaultOptions
        options.ode.endTime = 3
        options.ode.grid = .linear(points: 61)
        let dense = try flow.integrate(from: p0, basis: basis, options: options)
        XCTAssertEqual(dense.phases, [StepperPhase(name: "tsit5", start: 0)])
        options.ode.stepper = .rkf45
        let hits = try flow.integrate(from: p0, basis: basis, options: options)
        XCTAssertEqual(dense.times, hits.times)
        XCTAssertLessThan(dense.statistics.rhsEvaluations, hits.statistics.rhsEvaluations)
        // Both runs are within a few hundred local tolerances (1e-6 relative) of the flow.
        for i in dense.times.indices { XCTAssertEqual(dense.losses[i], hits.losses[i], accuracy: 1e-4 * hits.losses[i], "t = \(dense.times[i])") }
    }

    /// The construction has CoT loss 0 on every prompt: started there the flow stays and says so.
    func testConvergedIsCheckedAtTheEndPoint() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 64, seed: 3)
        let start = TransformerParameters.construction(d: task.d, eta: task.eta)
        var options = FullMatrixFlow.defaultOptions
        options.ode.endTime = 1
        let t = try flow.integrate(from: start, basis: identity(task.d), options: options)
        XCTAssertEqual(t.losses[0], 0, accuracy: 1e-20)
        XCTAssertEqual(start.dataPathOffBlockNorm, 0)
    }

    func testDataPathAndChainPathNorms() {
        let d = 2, dim = 2 * d + 2
        var p = TransformerParameters.construction(d: d, eta: 0.5)
        XCTAssertEqual(p.dataPathOffBlockNorm, 0)
        XCTAssertEqual(p.chainPathNormProduct, 0)
        p.V[(d + 1) * dim + d] = 3                          // V32
        p.W[d * dim + (d + 1)] = 4                          // W23
        XCTAssertEqual(p.dataPathOffBlockNorm, 5, accuracy: 1e-15)
        p.V[(d + 1) * dim + (d + 1)] = 2                    // V33 (chain path), W_c still zero
        XCTAssertEqual(p.chainPathNormProduct, 0)
        p.W[(2 * d + 1) * dim + (2 * d + 1)] = 3            // W44 (chain path)
        XCTAssertEqual(p.chainPathNormProduct, 6, accuracy: 1e-14)
        XCTAssertEqual(p.dataPathOffBlockNorm, 5, accuracy: 1e-15)
        p.V[0] = 100                                         // V11: not read by the chain objectives
        p.W[0] = 100                                         // W11: neither
        XCTAssertEqual(p.dataPathOffBlockNorm, 5, accuracy: 1e-15)
        XCTAssertEqual(p.chainPathNormProduct, 6, accuracy: 1e-14)
    }
}
