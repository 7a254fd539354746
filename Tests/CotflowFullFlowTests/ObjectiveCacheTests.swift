@testable import CotflowModel
import CotflowCore
import XCTest

/// Shortcuts of the full-matrix flow that must not change a bit: the GD chains of its fixed prompts
/// computed once, and the stopping rule's loss taken from the right-hand side at the same state.
final class ObjectiveCacheTests: XCTestCase {
    let task = try! TaskConfig(d: 3, n: 12, k: 3, eta: 12.0 / 16.0)

    func start(_ flow: FullMatrixFlow) throws -> [Double] {
        let config = TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: .random, initScale: 0.3,
                                    optimizer: .sgd, learningRate: 1, batchSize: 100, steps: 1, recordEvery: 1, heldOutSize: 64, seed: 2)
        let (p0, _) = try Trainer(config: config).initialParameters()
        return p0.V + p0.W
    }

    func testPrecomputedChainsGiveTheSameObjective() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 150, seed: 2)
        let p = flow.parameters(try start(flow))
        let fresh = Objectives.compute(.cot, parameters: p, task: task, batch: flow.prompts, gradient: true)
        let r = flow.objective(p, gradient: true)
        XCTAssertEqual(r.loss.bitPattern, fresh.loss.bitPattern)
        XCTAssertEqual(r.perPrompt.map(\.bitPattern), fresh.perPrompt.map(\.bitPattern))
        XCTAssertEqual(r.gradV!.map(\.bitPattern), fresh.gradV!.map(\.bitPattern))
        XCTAssertEqual(r.gradW!.map(\.bitPattern), fresh.gradW!.map(\.bitPattern))
    }

    func testCachedObjectiveIsTheOneAtItsStateOnly() throws {
        let flow = try FullMatrixFlow(task: task, promptCount: 100, seed: 2)
        let y0 = try start(flow)
        var y1 = y0
        y1[task.tokenSize * task.tokenSize + 5] += 1e-3
        let cache = ObjectiveCache()
        let system = flow.system(cache: cache)
        func rhs(_ y: [Double]) throws -> [Double] {
            var out = [Double](repeating: 0, count: flow.dimension)
            try y.withUnsafeBufferPointer { yb in try out.withUnsafeMutableBufferPointer { try system.rightHandSide(0, yb, $0) } }
            return out
        }
        XCTAssertNil(cache.objective(at: y0))
        let f0 = try rhs(y0)
        XCTAssertEqual(f0.map(\.bitPattern), try { () throws -> [Double] in
            var out = [Double](repeating: 0, count: flow.dimension)
            try y0.withUnsafeBufferPointer { yb in try out.withUnsafeMutableBufferPointer { try flow.system.rightHandSide(0, yb, $0) } }
            return out
        }().map(\.bitPattern), "storing does not change the right-hand side")
        let loss0 = flow.objective(flow.parameters(y0), gradient: false).loss
        XCTAssertEqual(cache.objective(at: y0)?.loss.bitPattern, loss0.bitPattern)
        XCTAssertNil(cache.objective(at: y1))
        _ = try rhs(y1)
        XCTAssertNil(cache.objective(at: y0), "only the latest right-hand side is kept")
        XCTAssertEqual(cache.objective(at: y1)?.loss.bitPattern, flow.objective(flow.parameters(y1), gradient: false).loss.bitPattern)
        XCTAssertNotEqual(loss0, cache.objective(at: y1)?.loss)
    }
}
