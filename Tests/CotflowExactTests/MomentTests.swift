import BigInt
@testable import CotflowExact
import CotflowCore
import XCTest

final class MomentTests: XCTestCase {
    func testPublishedFormulas() {
        for (n, d) in [(1, 1), (5, 3), (20, 10), (7, 12), (40, 10)] {
            let m = WishartMoments(n: n, d: d)
            let N = BigInt(n), D = BigInt(d)
            XCTAssertEqual(m.expectation(powers: [1]), N * D)
            XCTAssertEqual(m.expectation(powers: [2]), N * D * (N + D + 1))
            XCTAssertEqual(m.expectation(powers: [3]), N * D * (N * N + D * D + 3 * N * D + 3 * N + 3 * D + 4))
            XCTAssertEqual(m.expectation(powers: [4]),
                           N * D * (N * N * N + D * D * D + 6 * N * N * D + 6 * N * D * D + 6 * N * N + 6 * D * D
                                    + 17 * N * D + 21 * N + 21 * D + 20))
            XCTAssertEqual(m.expectation(powers: [1, 1]), N * D * (N * D + 2))
            XCTAssertEqual(m.expectation(powers: [1, 2]), N * D * (N * D + 4) * (N + D + 1))
            XCTAssertEqual(m.expectation(powers: [2, 1]), N * D * (N * D + 4) * (N + D + 1))
            XCTAssertEqual(m.expectation(powers: [0]), D)
            XCTAssertEqual(m.expectation(powers: []), 1)
            XCTAssertEqual(m.expectation(powers: [0, 2]), D * m.expectation(powers: [2]))
        }
        let m = WishartMoments(n: 5, d: 3)
        XCTAssertEqual((1...4).map { m.expectation(powers: [$0]) }, [15, 135, 1605, 22785])
    }

    func testSymbolic() {
        XCTAssertEqual(WishartMoments.symbolicExpectation(powers: [2]), "n^2 d + n d^2 + n d")
        XCTAssertEqual(WishartMoments.symbolicExpectation(powers: [1]), "n d")
        XCTAssertEqual(WishartMoments.symbolicExpectation(powers: [0]), "d")
        let n = NDPolynomial.n, d = NDPolynomial.d
        func c(_ x: Int) -> NDPolynomial { NDPolynomial(integer: x) }
        XCTAssertEqual(WishartMoments.symbolicPolynomial(powers: [3]),
                       n * d * (n * n + d * d + c(3) * n * d + c(3) * n + c(3) * d + c(4)))
        XCTAssertEqual(WishartMoments.symbolicPolynomial(powers: [4]),
                       n * d * (n * n * n + d * d * d + c(6) * n * n * d + c(6) * n * d * d + c(6) * n * n + c(6) * d * d
                                + c(17) * n * d + c(21) * n + c(21) * d + c(20)))
        XCTAssertEqual(WishartMoments.symbolicPolynomial(powers: [1, 2]), n * d * (n * d + c(4)) * (n + d + c(1)))
        // Symbolic polynomial evaluated at integers agrees with the integer engine.
        for powers in [[5], [2, 3], [1, 1, 4], [2, 2, 2], [7]] {
            let poly = WishartMoments.symbolicPolynomial(powers: powers)
            for (nn, dd) in [(20, 10), (3, 7)] {
                XCTAssertEqual(poly.evaluate(n: nn, d: dd), WishartMoments.shared(n: nn, d: dd).expectation(powers: powers))
            }
        }
    }

    func testBruteForceWick() {
        let cases: [[Int]] = [[1], [2], [3], [1, 2], [1, 1, 1], [1, 1], [2, 2], [4], [1, 3], [0, 2]]
        for (d, n) in [(2, 2), (2, 3), (3, 2), (1, 4)] {
            let m = WishartMoments(n: n, d: d)
            for powers in cases where powers.reduce(0, +) <= 4 {
                XCTAssertEqual(m.expectation(powers: powers), bruteForceMoment(d: d, n: n, powers: powers),
                               "powers \(powers) at d=\(d), n=\(n)")
            }
        }
    }

    /// The opposite reduction order (largest part first), in modular arithmetic, agrees with the
    /// big-integer values: a check of the recursion's implementation, not just its arithmetic.
    func testOtherReductionOrderModPrime() {
        let m = WishartMoments.shared(n: 20, d: 10)
        let single = wishartSingleTraceModPrime(n: 20, d: 10, maxPower: 42)
        for j in 0...42 { XCTAssertEqual(ModPrime(m.expectation(powers: [j])).value, single[j], "E tr W^\(j)") }
        for powers in [[2, 17], [2, 30], [1, 1, 20], [3, 4, 5], [2, 2, 9]] {
            XCTAssertEqual(ModPrime(m.expectation(powers: powers)).value, wishartMomentModPrime(n: 20, d: 10, powers: powers))
        }
    }

    func testMonteCarlo() {
        let rng = Random(seed: 20250301, stream: [1])
        let (d, n) = (3, 5)
        let list: [[Int]] = [[3], [4], [1, 2], [2, 2], [1, 1, 1]]
        var acc = [Accumulator](repeating: Accumulator(), count: list.count)
        for _ in 0..<20000 {
            let w = sampleWishart(d: d, n: n, rng: rng)
            let traces = (0...4).map { w.power($0).trace }
            for (idx, powers) in list.enumerated() { acc[idx].add(powers.reduce(1.0) { $0 * traces[$1] }) }
        }
        let m = WishartMoments(n: n, d: d)
        for (idx, powers) in list.enumerated() {
            let exact = Double(m.expectation(powers: powers))
            XCTAssertLessThan(abs(acc[idx].mean - exact), 4 * acc[idx].standardError, "powers \(powers)")
        }
    }

    func testValuesAreIntegersAndSymbolicDisplay() {
        let m = WishartMoments(n: 20, d: 10)
        let v = m.expectation(powers: [42])
        XCTAssertGreaterThan(v, 0)
        XCTAssertEqual(m.sExpectation(powers: [2]), Rational(BigInt(10 * 31), BigInt(20)))
    }
}
