import CotflowModel
import XCTest

final class OptimizerTests: XCTestCase {
    /// v <- beta v + g, theta <- theta - lr v from v = 0: with a constant gradient g = 1, lr = 1/2 and
    /// beta = 1/2 the velocity is 1, 3/2, 7/4 and theta -1/2, -5/4, -17/8 (exact in binary).
    func testMomentumUpdateForm() {
        let d = 1, size = (2 * d + 2) * (2 * d + 2)
        var p = TransformerParameters.zeros(d: d)
        var optimizer = MomentumSGD(size: 2 * size, learningRate: 0.5, beta: 0.5)
        let g = [Double](repeating: 1, count: size)
        var thetas: [Double] = []
        for _ in 0..<3 {
            optimizer.update(&p, gradV: g, gradW: g)
            thetas.append(p.V[0])
        }
        XCTAssertEqual(thetas, [-0.5, -1.25, -2.125])
        XCTAssertEqual(p.W, [Double](repeating: -2.125, count: size))
        // Time map: the distance moved at a constant gradient in units of h = lr / (1 - beta) = 1 here,
        // t = h (s - beta (1 - beta^s) / (1 - beta)); SGD's is lr x step; Adam has none.
        XCTAssertEqual((1...3).map { optimizer.flowTime(step: $0)! }, thetas.map { -$0 })
        XCTAssertEqual(optimizer.flowTime(step: 0), 0)
        XCTAssertEqual(SGD(learningRate: 0.5).flowTime(step: 4), 2)
        XCTAssertNil(Adam(size: 2, learningRate: 0.5).flowTime(step: 4))
        XCTAssertEqual(OptimizerKind.momentum(beta: 0.75).timeScale, 4)
        XCTAssertFalse(OptimizerKind.adam.hasTimeMap)
    }

    /// With beta = 0 heavy-ball momentum is SGD: v = g exactly, so the runs agree bit for bit.
    func testMomentumWithZeroBetaIsSGD() throws {
        let task = try TaskConfig(d: 3, n: 12, k: 2, eta: paperStepSize(n: 12, d: 3).doubleValue)
        var cfg = TrainingConfig.defaults(task: task, objective: .cot, seed: 3)
        cfg.trainable = .reduced; cfg.initialisation = .assumption
        cfg.steps = 20; cfg.recordEvery = 5; cfg.batchSize = 64; cfg.heldOutSize = 64
        cfg.optimizer = .sgd; cfg.learningRate = 0.01
        let sgd = try Trainer(config: cfg).run()
        cfg.optimizer = .momentum(beta: 0)
        let momentum = try Trainer(config: cfg).run()
        XCTAssertEqual(sgd.trajectory, momentum.trajectory)
        XCTAssertEqual(sgd.parameters, momentum.parameters)
        // With beta = 0.5 the run differs and its record times are h (s - beta (1 - beta^s) / (1 - beta)), h = lr / (1 - beta).
        cfg.optimizer = .momentum(beta: 0.5)
        let heavy = try Trainer(config: cfg).run()
        XCTAssertNotEqual(heavy.parameters, sgd.parameters)
        XCTAssertEqual(heavy.trajectory.times, [0, 5, 10, 15, 20].map { 0.01 / 0.5 * (Double($0) - 0.5 * (1 - pow(0.5, Double($0))) / 0.5) })
    }

    func testMomentumIsValidated() throws {
        for beta in [1, -0.1, 1.5, .nan, .infinity] {
            XCTAssertThrowsError(try OptimizerKind.momentum(beta: beta).validate()) {
                guard case .momentum(let got)? = $0 as? OptimizerError else { return XCTFail("\(beta): \($0)") }
                XCTAssertTrue(got == beta || (got.isNaN && beta.isNaN), "\(beta): \(got)")
            }
        }
        XCTAssertNoThrow(try OptimizerKind.momentum(beta: 0).validate())
        XCTAssertNoThrow(try OptimizerKind.momentum(beta: 0.99).validate())
        var cfg = TrainingConfig.defaults(task: TrainingConfig.defaultTask())
        cfg.optimizer = .momentum(beta: 1)
        XCTAssertThrowsError(try Trainer(config: cfg)) { XCTAssertTrue("\($0)".contains("momentum"), "\($0)") }
        // A momentum belongs to the momentum optimizer only.
        XCTAssertThrowsError(try OptimizerKind.sgd.with(momentum: 0.5)) {
            XCTAssertEqual($0 as? OptimizerError, .momentumWithoutMomentumOptimizer("sgd"))
        }
        XCTAssertEqual(try OptimizerKind.momentum(beta: 0.9).with(momentum: 0.5), .momentum(beta: 0.5))
        XCTAssertEqual(try OptimizerKind.adam.with(momentum: nil), .adam)
        XCTAssertEqual(OptimizerKind(name: "momentum"), .momentum(beta: OptimizerKind.defaultMomentum))
        XCTAssertNil(OptimizerKind(name: "nesterov"))
    }
}
