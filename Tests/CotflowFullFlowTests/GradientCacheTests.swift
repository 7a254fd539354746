import CotflowModel
import CotflowODE
import CotflowSupport
import CotflowTraining
import XCTest
@testable import CotflowFullFlow

/// The stopping rule's gradient, handed to the next right-hand side at the same state, is the
/// right-hand side that would have been computed there; any other state is computed afresh.
final class GradientCacheTests: XCTestCase {
    func testCachedRightHandSideEqualsAFreshOneAndIsUsedOnlyAtItsState() throws {
        let task = try TaskConfig(d: 3, n: 12, k: 3, eta: 12.0 / 16.0)
        let flow = try FullMatrixFlow(task: task, promptCount: 100, seed: 2)
        let config = TrainingConfig(task: task, objective: .cot, trainable: .full, initialisation: .random, initScale: 0.3,
                                    optimizer: .sgd, learningRate: 1, batchSize: 100, steps: 1, recordEvery: 1, heldOutSize: 64, seed: 2)
        let (p0, _) = try Trainer(config: config).initialParameters()
        let y0 = p0.V + p0.W
        var y1 = y0
        y1[task.tokenSize * task.tokenSize + 5] += 1e-3
        func rhs(_ system: ODESystem, _ y: [Double]) throws -> [Double] {
            var out = [Double](repeating: 0, count: flow.dimension)
            try y.withUnsafeBufferPointer { yb in try out.withUnsafeMutableBufferPointer { try system.rightHandSide(0, yb, $0) } }
            return out
        }
        let fresh0 = try rhs(flow.system, y0), fresh1 = try rhs(flow.system, y1)
        XCTAssertNotEqual(fresh0, fresh1)
        let cache = GradientCache()
        let cached = flow.system(cache: cache)
        cache.store(flow.objective(flow.parameters(y0), gradient: true), at: y0)
        // A different state misses (and leaves the entry); the stored state hits once.
        XCTAssertEqual(try rhs(cached, y1).map(\.bitPattern), fresh1.map(\.bitPattern))
        XCTAssertEqual(try rhs(cached, y0).map(\.bitPattern), fresh0.map(\.bitPattern))
        XCTAssertNil(y0.withUnsafeBufferPointer { cache.take(at: $0) })
        // Poisoned entry: a hit would return it, so a second call at y0 must not.
        cache.store(flow.objective(flow.parameters(y1), gradient: true), at: y0)
        XCTAssertEqual(try rhs(cached, y0).map(\.bitPattern), fresh1.map(\.bitPattern), "the entry is used at its state")
        XCTAssertEqual(try rhs(cached, y0).map(\.bitPattern), fresh0.map(\.bitPattern), "and only once")
    }
}
