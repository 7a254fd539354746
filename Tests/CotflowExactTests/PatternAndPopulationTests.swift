import BigInt
@testable import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

final class PatternAndPopulationTests: XCTestCase {
    func testBetaRelationExact() {
        for (n, d) in [(10, 3), (20, 10), (7, 2), (5, 6)] {
            let moments = WishartMoments.shared(n: n, d: d)
            for m in 0...8 {
                let t = patternScalars(power: m, moments: moments)
                let beta = patternCheckBeta(power: m, moments: moments)
                XCTAssertEqual(t.ac + t.ab + Rational(d - 2) * t.none, beta, "n=\(n) d=\(d) m=\(m)")
            }
        }
    }

    /// E[S_ab S_bc (S^m)_ca] averaged over index triples of each equality pattern.
    func testPatternScalarsMonteCarlo() {
        let (d, n) = (3, 10)
        let rng = Random(seed: 777, stream: [2])
        let maxM = 3
        var acc = [[Accumulator]](repeating: [Accumulator](repeating: Accumulator(), count: 4), count: maxM + 1)
        for _ in 0..<20000 {
            let s = (1.0 / Double(n)) * sampleWishart(d: d, n: n, rng: rng)
            var f = Mat.identity(d)
            for m in 0...maxM {
                var sums = [0.0, 0.0, 0.0, 0.0], counts = [0, 0, 0, 0]
                for a in 0..<d { for b in 0..<d { for c in 0..<d {
                    let pattern: Int
                    if a == b && b == c { pattern = 0 } else if a == b || b == c { pattern = 1 } else if a == c { pattern = 2 } else { pattern = 3 }
                    sums[pattern] += s[a, b] * s[b, c] * f[c, a]
                    counts[pattern] += 1
                } } }
                for p in 0..<4 { acc[m][p].add(sums[p] / Double(counts[p])) }
                f = f * s
            }
        }
        let moments = WishartMoments.shared(n: n, d: d)
        for m in 0...maxM {
            let t = patternScalars(power: m, moments: moments)
            let exact = [t.all, t.ab, t.ac, t.none].map(\.doubleValue)
            for p in 0..<4 {
                XCTAssertLessThanOrEqual(abs(acc[m][p].mean - exact[p]), 4 * acc[m][p].standardError + 1e-12,
                                  "m=\(m) pattern=\(p) mc=\(acc[m][p].mean) exact=\(exact[p])")
            }
        }
    }

    func testNoCoTOptimum() {
        for (n, d) in [(20, 10), (1, 1), (5, 3), (100, 7)] {
            XCTAssertEqual(noCoTOptimum(n: n, d: d), Rational(BigInt(d * (d + 1)), BigInt(n + d + 1)))
            XCTAssertEqual(noCoTOptimalStep(n: n, d: d), Rational(BigInt(n), BigInt(n + d + 1)))
            // gdChainLoss with k = 1 at the optimal step is the same quantity.
            XCTAssertEqual(gdChainLoss(n: n, d: d, k: 1, eta: noCoTOptimalStep(n: n, d: d)), noCoTOptimum(n: n, d: d))
        }
        XCTAssertEqual(noCoTOptimum(n: 20, d: 10).doubleValue, 110.0 / 31.0, accuracy: 1e-14)
    }

    func testGDChainLossMonteCarlo() {
        let (d, n) = (10, 20)
        let eta = paperStepSize(n: n, d: d)
        let etaD = eta.doubleValue
        let rng = Random(seed: 4242, stream: [3])
        var acc = [Accumulator(), Accumulator()]
        for _ in 0..<6000 {
            let s = (1.0 / Double(n)) * sampleWishart(d: d, n: n, rng: rng)
            let p = Mat.identity(d) - etaD * s
            let p4 = p.power(4)
            acc[0].add(p4.trace)
            acc[1].add((p4 * p * p).trace)
        }
        for (idx, k) in [2, 3].enumerated() {
            let exact = gdChainLoss(n: n, d: d, k: k, eta: eta).doubleValue
            XCTAssertLessThan(abs(acc[idx].mean - exact), 4 * acc[idx].standardError, "k=\(k) mc=\(acc[idx].mean) exact=\(exact)")
        }
        XCTAssertEqual(gdChainLoss(n: n, d: d, k: 0, eta: eta), Rational(d))
    }

    /// At k = 20 the binomial expansion cancels huge terms; check the exact value against an
    /// independent route: with eta = n/(n+d+1), (n+d+1)^{2k} L = sum_j C(2k,j)(-1)^j E tr W^j (n+d+1)^{2k-j},
    /// evaluated modulo a prime with moments from the opposite reduction order.
    func testGDChainLossK20Independent() {
        let (d, n, k) = (10, 20, 20)
        let eta = paperStepSize(n: n, d: d)
        let exact = gdChainLoss(n: n, d: d, k: k, eta: eta)
        let scale = BigInt(n + d + 1).power(2 * k)
        let scaled = exact * Rational(scale)
        XCTAssertTrue(scaled.isInteger)
        let moments = wishartSingleTraceModPrime(n: n, d: d, maxPower: 2 * k)
        var acc = ModPrime(integer: 0)
        for j in 0...(2 * k) {
            let sign = j % 2 == 0 ? 1 : -1
            let term = ModPrime(BigInt(sign) * binomial(2 * k, j)) * ModPrime(raw: moments[j])
                * ModPrime(BigInt(n + d + 1).power(2 * k - j))
            acc = acc + term
        }
        XCTAssertEqual(acc.value, ModPrime(scaled.numerator).value)
        // The mean is dominated by the tail: enormous but finite and positive.
        XCTAssertGreaterThan(exact.doubleValue, 1.2)
        XCTAssertLessThan(gdChainLoss(n: n, d: d, k: 5, eta: eta).doubleValue, 1.2)
    }
}

final class DoubleConversionTests: XCTestCase {
    func testRationalToDouble() {
        // Numerator and denominator with very different leading-zero counts in their top words.
        let x = Rational(BigInt(401_531) << 91 + 12345, (BigInt(1) << 136) + 7)
        XCTAssertEqual(x.doubleValue, Double(x.numerator) / Double(x.denominator), accuracy: 2e-16 * abs(Double(x.numerator) / Double(x.denominator)))
        XCTAssertEqual(Rational(BigInt(-1), BigInt(3)).doubleValue, -1.0 / 3.0)
        XCTAssertEqual((Rational(BigInt(1) << 2000, (BigInt(3) << 2000))).doubleValue, 1.0 / 3.0)
        XCTAssertEqual(Rational.zero.doubleValue, 0)
        XCTAssertEqual((Rational(BigInt(20), BigInt(31))).doubleValue, 20.0 / 31.0)
    }
}

final class PatternBruteForceTests: XCTestCase {
    /// The Haar/sphere-moment derivation of the pattern scalars, checked exactly against a
    /// direct Wick enumeration of E[S_ab S_bc (S^m)_ca] at small (d, n).
    func testPatternScalarsExactAgainstWick() {
        for (d, n) in [(3, 2), (3, 3), (4, 2), (2, 3), (1, 3)] {
            let moments = WishartMoments(n: n, d: d)
            for m in 0...3 {
                let t = patternScalars(power: m, moments: moments)
                let scale = BigInt(n).power(m + 2)
                func wick(_ a: Int, _ b: Int, _ c: Int) -> Rational {
                    Rational(bruteForceTriple(d: d, n: n, a: a, b: b, c: c, m: m), scale)
                }
                XCTAssertEqual(t.all, wick(0, 0, 0), "all d=\(d) n=\(n) m=\(m)")
                if d >= 2 {
                    XCTAssertEqual(t.ab, wick(0, 0, 1), "ab d=\(d) n=\(n) m=\(m)")
                    XCTAssertEqual(t.ab, wick(1, 0, 0), "bc d=\(d) n=\(n) m=\(m)")
                    XCTAssertEqual(t.ac, wick(0, 1, 0), "ac d=\(d) n=\(n) m=\(m)")
                }
                if d >= 3 { XCTAssertEqual(t.none, wick(0, 1, 2), "none d=\(d) n=\(n) m=\(m)") }
            }
        }
    }
}
