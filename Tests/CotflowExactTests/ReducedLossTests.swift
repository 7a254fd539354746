import BigInt
@testable import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

final class ReducedLossTests: XCTestCase {
    func r(_ a: Int, _ b: Int = 1) -> Rational { Rational(BigInt(a), BigInt(b)) }

    func testValidation() {
        XCTAssertThrowsError(try ReducedLoss(n: 0, d: 3, k: 2, eta: r(1, 2)))
        XCTAssertThrowsError(try ReducedLoss(n: 5, d: 0, k: 2, eta: r(1, 2)))
        XCTAssertThrowsError(try ReducedLoss(n: 5, d: 3, k: 0, eta: r(1, 2)))
        XCTAssertThrowsError(try ReducedLoss(n: 5, d: 3, k: 2, eta: .zero))
        XCTAssertThrowsError(try ReducedLoss(n: 5, d: 3, k: 2, eta: r(-1, 2)))
    }

    func testZeroAtConstruction() throws {
        for (n, d, k) in [(20, 10, 20), (10, 3, 3), (5, 1, 2), (6, 2, 4), (40, 10, 5)] {
            let eta = paperStepSize(n: n, d: d)
            let loss = try ReducedLoss(n: n, d: d, k: k, eta: eta)
            XCTAssertEqual(loss.exactLoss(v: Array(repeating: -eta, count: d), w: Array(repeating: .one, count: d)), Rational.zero)
            XCTAssertEqual(loss.loss(p: Array(repeating: 0, count: d), q: Array(repeating: 0, count: d)), 0)
            let g = loss.lossAndGradient(p: Array(repeating: 0, count: d), q: Array(repeating: 0, count: d))
            XCTAssertEqual(g.loss, 0)
            XCTAssertTrue(g.gradP.allSatisfy { $0 == 0 } && g.gradQ.allSatisfy { $0 == 0 })
        }
    }

    /// d = 1: S = chi^2_n / n, E S^j = n(n+2)...(n+2j-2)/n^j. Expand the scalar loss directly.
    func testScalarCaseIndependent() throws {
        let (n, k) = (7, 3)
        let eta = r(2, 3)
        let loss = try ReducedLoss(n: n, d: 1, k: k, eta: eta)
        func moment(_ j: Int) -> Rational {
            var num = BigInt(1)
            for t in 0..<j { num *= BigInt(n + 2 * t) }
            return Rational(num, BigInt(n).power(j))
        }
        func mul(_ a: [Rational], _ b: [Rational]) -> [Rational] {
            var out = [Rational](repeating: .zero, count: a.count + b.count - 1)
            for i in a.indices { for j in b.indices { out[i + j] += a[i] * b[j] } }
            return out
        }
        for (v, w) in [(r(-1, 2), r(3, 4)), (r(1, 3), r(-2)), (-eta, r(1))] {
            var total = Rational.zero
            let pPoly = [Rational.one, -eta]
            var pi: [Rational] = [.one]
            for _ in 0..<k {
                // m(s) = v s (w-1) - (v w + eta) s P^i
                var m = mul([.zero, -(v * w + eta)], pi)
                m[1] += v * (w - .one)
                let sq = mul(m, m)
                for j in sq.indices { total += sq[j] * moment(j) }
                pi = mul(pi, pPoly)
            }
            XCTAssertEqual(loss.exactLoss(v: [v], w: [w]), r(1, 2) * total)
        }
    }

    /// Direct Monte Carlo of (1/2) sum_i tr(M_i^T M_i) for non-equal v, w.
    func testMonteCarloDirect() throws {
        let cases: [(n: Int, d: Int, k: Int, v: [Rational], w: [Rational])] = [
            (10, 3, 3, [r(-3, 5), r(-4, 5), r(-1, 4)], [r(7, 10), r(6, 5), r(2, 5)]),
            (6, 2, 2, [r(-1, 2), r(1, 5)], [r(3, 2), r(1, 3)]),
            (8, 1, 3, [r(-2, 5)], [r(1, 2)]),
            (12, 4, 2, [r(-1), r(-1, 3), r(1, 10), r(-7, 10)], [r(1, 2), r(9, 10), r(3, 2), r(0)]),
        ]
        let rng = Random(seed: 99, stream: [4])
        for c in cases {
            let eta = paperStepSize(n: c.n, d: c.d)
            let loss = try ReducedLoss(n: c.n, d: c.d, k: c.k, eta: eta)
            let exact = loss.exactLoss(v: c.v, w: c.w).doubleValue
            let vt = Mat.diag(c.v.map(\.doubleValue)), wt = Mat.diag(c.w.map(\.doubleValue))
            let id = Mat.identity(c.d)
            var acc = Accumulator()
            for _ in 0..<20000 {
                let s = (1.0 / Double(c.n)) * sampleWishart(d: c.d, n: c.n, rng: rng)
                let p = id - eta.doubleValue * s
                let first = vt * s * (wt - id)
                let second = vt * s * wt + eta.doubleValue * s
                var pi = id
                var total = 0.0
                for _ in 0..<c.k {
                    total += (first - second * pi).frobenius2
                    pi = pi * p
                }
                acc.add(0.5 * total)
            }
            XCTAssertLessThan(abs(acc.mean - exact), 4 * acc.standardError, "d=\(c.d) mc=\(acc.mean)±\(acc.standardError) exact=\(exact)")
            // The double path agrees with the exact one.
            let pD = zip(c.v, [Rational](repeating: eta, count: c.d)).map { ($0 + $1).doubleValue }
            let qD = c.w.map { ($0 - .one).doubleValue }
            XCTAssertEqual(loss.loss(p: pD, q: qD), exact, accuracy: 1e-12 * max(1, abs(exact)))
        }
    }

    func testDoubleMatchesExactAtRandomRationalPoints() throws {
        let rng = Random(seed: 5, stream: [5])
        for (n, d, k) in [(20, 10, 20), (40, 10, 5), (10, 3, 3), (6, 2, 2)] {
            let eta = paperStepSize(n: n, d: d)
            let loss = try ReducedLoss(n: n, d: d, k: k, eta: eta)
            for scale in [1e-3, 0.1] {
                let p = (0..<d).map { _ in Rational(BigInt(Int((rng.uniform(-1, 1) * scale * 1e6).rounded())), BigInt(1_000_000)) }
                let q = (0..<d).map { _ in Rational(BigInt(Int((rng.uniform(-1, 1) * scale * 1e6).rounded())), BigInt(1_000_000)) }
                let v = p.map { $0 - eta }, w = q.map { $0 + .one }
                let exact = loss.exactLoss(v: v, w: w).doubleValue
                let approx = loss.loss(p: p.map(\.doubleValue), q: q.map(\.doubleValue))
                XCTAssertEqual(approx, exact, accuracy: 1e-9 * abs(exact), "n=\(n) d=\(d) k=\(k) scale=\(scale)")
                XCTAssertGreaterThan(exact, 0)
            }
        }
    }

    func testGradientFiniteDifferences() throws {
        let rng = Random(seed: 6, stream: [6])
        for (n, d, k) in [(10, 3, 3), (20, 10, 5), (6, 2, 2), (8, 1, 2)] {
            let loss = try ReducedLoss(n: n, d: d, k: k, eta: paperStepSize(n: n, d: d))
            let p = (0..<d).map { _ in rng.uniform(-0.3, 0.3) }, q = (0..<d).map { _ in rng.uniform(-0.3, 0.3) }
            let (value, gp, gq) = loss.lossAndGradient(p: p, q: q)
            XCTAssertEqual(value, loss.loss(p: p, q: q), accuracy: 1e-14 * abs(value))
            let h = 1e-5
            let scale = max(1, gp.map(abs).max()!, gq.map(abs).max()!)
            for j in 0..<d {
                var pp = p, pm = p; pp[j] += h; pm[j] -= h
                XCTAssertEqual(gp[j], (loss.loss(p: pp, q: q) - loss.loss(p: pm, q: q)) / (2 * h), accuracy: 1e-6 * scale)
                var qp = q, qm = q; qp[j] += h; qm[j] -= h
                XCTAssertEqual(gq[j], (loss.loss(p: p, q: qp) - loss.loss(p: p, q: qm)) / (2 * h), accuracy: 1e-6 * scale)
            }
        }
    }

    func testHessianFiniteDifferences() throws {
        let rng = Random(seed: 7, stream: [7])
        for (n, d, k) in [(10, 3, 3), (20, 6, 4), (6, 2, 2), (8, 1, 2)] {
            let loss = try ReducedLoss(n: n, d: d, k: k, eta: paperStepSize(n: n, d: d))
            let p = (0..<d).map { _ in rng.uniform(-0.3, 0.3) }, q = (0..<d).map { _ in rng.uniform(-0.3, 0.3) }
            let hess = loss.hessian(p: p, q: q)
            let size = 2 * d
            XCTAssertEqual(hess.count, size * size)
            let h = 1e-5
            let scale = max(1, hess.map(abs).max()!)
            for col in 0..<size {
                var pp = p, pm = p, qp = q, qm = q
                if col < d { pp[col] += h; pm[col] -= h } else { qp[col - d] += h; qm[col - d] -= h }
                let plus = loss.lossAndGradient(p: pp, q: qp), minus = loss.lossAndGradient(p: pm, q: qm)
                let gPlus = plus.gradP + plus.gradQ, gMinus = minus.gradP + minus.gradQ
                for row in 0..<size {
                    XCTAssertEqual(hess[row * size + col], (gPlus[row] - gMinus[row]) / (2 * h), accuracy: 1e-6 * scale,
                                   "d=\(d) row=\(row) col=\(col)")
                    XCTAssertEqual(hess[row * size + col], hess[col * size + row], accuracy: 1e-12 * scale)
                }
            }
        }
    }

    func testCoefficientsAndAccessors() throws {
        let loss = try ReducedLoss(n: 20, d: 10, k: 20, eta: paperStepSize(n: 20, d: 10))
        XCTAssertEqual(loss.etaValue, 20.0 / 31.0, accuracy: 1e-15)
        let c = loss.coefficients
        for key in ["FA.all", "FA.ab", "FA.ac", "FA.none", "FB.all", "FC.none", "a1", "a2", "a3", "a4", "b1", "b2", "c"] {
            XCTAssertNotNil(c[key], key)
        }
        // The Hessian at the construction is positive semidefinite on the p-block: c > 0.
        XCTAssertGreaterThan(c["c"]!, .zero)
        // Large-d gradient is cheap and consistent with the loss.
        let big = try ReducedLoss(n: 40, d: 1000, k: 2, eta: paperStepSize(n: 40, d: 1000))
        let rng = Random(seed: 8, stream: [8])
        let p = (0..<1000).map { _ in rng.uniform(-0.01, 0.01) }, q = (0..<1000).map { _ in rng.uniform(-0.01, 0.01) }
        let g = big.lossAndGradient(p: p, q: q)
        XCTAssertEqual(g.loss, big.loss(p: p, q: q))
        XCTAssertEqual(g.gradP.count, 1000)
    }
}
