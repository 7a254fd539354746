@testable import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

/// The fused double tier of `ReducedLoss.evaluate` (and the flow's in-place `velocity`/`lossValue`)
/// performs the operations of the generic `evaluatePolynomial` on `BoundedDouble` in the same order:
/// every value and bound must agree bit for bit, and so must the decision to escalate.
final class DoubleTierTests: XCTestCase {
    func testFusedDoubleTierEqualsTheGenericEvaluationBitForBit() throws {
        GSL.initialize()
        var tiers: [EvaluationTier: Int] = [:]
        // d below, at and above block sizes (blocks of ceil(sqrt d): 1, 2, 3, 4, 10, 32 terms).
        for (d, n, k) in [(1, 4, 3), (3, 12, 5), (7, 28, 5), (16, 64, 4), (100, 400, 5), (1000, 4000, 5)] {
            let loss = try ReducedLoss(n: n, d: d, k: k, eta: paperStepSize(n: n, d: d))
            let random = Random(seed: 5, stream: [UInt64(d)])
            for trial in 0..<4 {
                // From far off the family (every tier-1 result accepted) to close to it (cancellation).
                let scale = [1.0, 1e-3, 1e-7, 1e-12][trial]
                let pi = (0..<d).map { _ in scale * random.gaussian() }, z = (0..<d).map { _ in scale * random.gaussian() }
                let u = -1 + 0.3 * random.gaussian()
                // A demanding velocity accuracy makes the double tier hand over to double-double.
                // (The higher tiers are slow in debug builds at large d: small d only.)
                for (freeU, accuracy) in [(false, 1e-10), (true, 1e-10)] + (d <= 16 ? [(true, 1e-17)] : []) {
                    let depth = 2 * summationDepth(d) + 64
                    let generic = evaluatePolynomial(loss.boundedDouble, eta: BoundedDouble(loss.etaDouble, loss.etaDouble),
                                                     pi: pi, z: z, u: u, freeU: freeU, gradient: true)
                    let velocityBound = generic.velocity.map { $0.errorBound(depth: depth) }.reduce(0, max)
                    let scaleV = generic.velocity.map { abs($0.x) }.reduce(0, max)
                    let lossBound = generic.loss.errorBound(depth: depth)
                    let genericAccepts = lossBound <= ReducedLoss.requiredRelativeAccuracy * abs(generic.loss.x)
                        && velocityBound <= accuracy * scaleV
                    let r = loss.evaluate(pi: pi, z: z, u: u, freeU: freeU, velocityAccuracy: accuracy)
                    let label = "d = \(d), scale \(scale), freeU \(freeU), accuracy \(accuracy)"
                    XCTAssertEqual(r.tier == .double, genericAccepts, label)
                    tiers[r.tier, default: 0] += 1
                    var out = [Double](repeating: .nan, count: r.velocity.count)
                    let tier = pi.withUnsafeBufferPointer { p in
                        z.withUnsafeBufferPointer { q in
                            out.withUnsafeMutableBufferPointer {
                                loss.velocity(pi: p.baseAddress!, z: q.baseAddress!, u: u, freeU: freeU, velocityAccuracy: accuracy, into: $0.baseAddress!)
                            }
                        }
                    }
                    XCTAssertEqual(tier, r.tier, label)
                    XCTAssertEqual(out.map(\.bitPattern), r.velocity.map(\.bitPattern), label)
                    let lossOnly = pi.withUnsafeBufferPointer { p in z.withUnsafeBufferPointer { loss.lossValue(pi: p.baseAddress!, z: $0.baseAddress!, u: u) } }
                    XCTAssertEqual(lossOnly.bitPattern, loss.evaluate(pi: pi, z: z, u: u, freeU: false, gradient: false).loss.bitPattern, label)
                    guard r.tier == .double else { continue }
                    XCTAssertEqual(r.loss.bitPattern, max(generic.loss.x, 0).bitPattern, label)
                    XCTAssertEqual(r.lossErrorBound.bitPattern, lossBound.bitPattern, label)
                    XCTAssertEqual(r.velocityErrorBound.bitPattern, velocityBound.bitPattern, label)
                    XCTAssertEqual(r.gradientV.map(\.bitPattern), generic.gv.map { $0.x.bitPattern }, label)
                    XCTAssertEqual(r.gradientW.map(\.bitPattern), generic.gw.map { $0.x.bitPattern }, label)
                    XCTAssertEqual(r.gradientU.bitPattern, generic.gu.x.bitPattern, label)
                    XCTAssertEqual(r.velocity.map(\.bitPattern), generic.velocity.map { $0.x.bitPattern }, label)
                }
            }
        }
        // Both outcomes of the acceptance test occur.
        XCTAssertGreaterThan(tiers[.double, default: 0], 0)
        XCTAssertGreaterThan(tiers[.doubleDouble, default: 0] + tiers[.exact, default: 0], 0, "\(tiers)")
    }
}
