import BigInt
@testable import CotflowExact
import CotflowCore
import CotflowModel
import XCTest

/// Moments with a covariance (notes/exact-moments.md, sections 6-8).
final class CovarianceMomentTests: XCTestCase {
    private func r(_ s: String) -> Rational { Rational.parse(s)! }

    /// Sigma = I: both covariance engines reproduce the identity engine.
    func testIdentityCovarianceMatchesIdentityEngine() throws {
        for (n, d) in [(5, 3), (7, 4), (20, 10)] {
            let identity = try CovarianceSpectrum.identity(d: d)
            let wishart = WishartMoments(n: n, d: d)
            for powers in [[1], [2], [3], [5], [2, 2], [1, 3], [2, 3], [4, 1, 1], [0, 2]] {
                XCTAssertEqual(covarianceMoment(powers: powers, n: n, spectrum: identity),
                               Rational(wishart.expectation(powers: powers)), "powers \(powers) at (d, n) = (\(d), \(n))")
            }
            let top = d == 10 ? 10 : 14
            let single = singleTraceCovarianceMoments(n: n, spectrum: identity, maxPower: top)
            for m in 0...top { XCTAssertEqual(single[m], Rational(wishart.expectation(powers: [m])), "m = \(m), (d, n) = (\(d), \(n))") }
        }
        let eta = paperStepSize(n: 20, d: 10)
        XCTAssertEqual(try gdChainLoss(n: 20, k: 10, eta: eta, spectrum: .identity(d: 10)).value, gdChainLoss(n: 20, d: 10, k: 10, eta: eta))
    }

    /// The published second moment E tr (Sigma W)^2 = n^2 p2 + n p1^2 + n p2, symbolically and at a spectrum.
    func testSecondMomentFormula() throws {
        let n = PowerSumPolynomial.n, p1 = PowerSumPolynomial.p(1), p2 = PowerSumPolynomial.p(2)
        let expected = n * n * p2 + n * p1 * p1 + n * p2
        XCTAssertEqual(symbolicCovarianceMoment(powers: [2]), expected)
        XCTAssertEqual(symbolicCovarianceMoment(powers: [2]).description, "n^2 p2 + n p1^2 + n p2")
        XCTAssertEqual(symbolicCovarianceMoment(powers: [1]).description, "n p1")
        let spectrum = try CovarianceSpectrum([r("1/2"), r("3"), r("5/4")])
        let ps = spectrum.powerSums(upTo: 2)
        for nn in [1, 4, 9] {
            let formula = Rational(nn * nn) * ps[2] + Rational(nn) * ps[1] * ps[1] + Rational(nn) * ps[2]
            XCTAssertEqual(covarianceMoment(powers: [2], n: nn, spectrum: spectrum), formula)
            XCTAssertEqual(singleTraceCovarianceMoments(n: nn, spectrum: spectrum, maxPower: 2)[2], formula)
        }
    }

    /// The word recursion and the zonal-polynomial route are independent; they agree exactly, and the
    /// symbolic polynomials evaluate to the numeric values.
    func testWordRecursionAgainstZonalAndSymbolic() throws {
        let spectra = try [
            CovarianceSpectrum([r("1/3"), r("2"), r("7/5"), r("1/10")]),
            CovarianceSpectrum([r("5"), r("1/2")]),
            CovarianceSpectrum([r("3/2")]),
            CovarianceSpectrum([r("1"), r("2"), r("3"), r("4"), r("5"), r("6")]),
        ]
        for spectrum in spectra {
            for n in [1, 3, 11] {
                let zonal = singleTraceCovarianceMoments(n: n, spectrum: spectrum, maxPower: 10)
                for m in 0...10 {
                    XCTAssertEqual(covarianceMoment(powers: [m], n: n, spectrum: spectrum), zonal[m], "m = \(m), n = \(n), d = \(spectrum.d)")
                }
                let ps = spectrum.powerSums(upTo: 8)
                for powers in [[3], [2, 2], [1, 2, 3], [4, 4]] {
                    XCTAssertEqual(symbolicCovarianceMoment(powers: powers).evaluate(n: Rational(n), powerSums: ps),
                                   covarianceMoment(powers: powers, n: n, spectrum: spectrum), "powers \(powers)")
                }
            }
        }
    }

    /// Monte Carlo at several spectra, fixed seeds: every exact value within 3 standard errors.
    func testMonteCarlo() throws {
        let cases: [(spectrum: [Double], n: Int)] = [([0.5, 1, 2], 6), ([0.2, 0.2, 3], 5), (geometricSpectrum(d: 4, kappa: 8), 9)]
        for (index, c) in cases.enumerated() {
            let d = c.spectrum.count
            let spectrum = try CovarianceSpectrum(c.spectrum.map { Rational(exactly: $0) })
            let root = Mat.diag(c.spectrum.map { $0.squareRoot() })
            let rng = Random(seed: 77, stream: [UInt64(index)])
            var acc = [Accumulator(), Accumulator(), Accumulator(), Accumulator()]
            for _ in 0..<20_000 {
                let b = root * sampleWishart(d: d, n: c.n, rng: rng) * root  // same traces as Sigma W
                let b2 = b * b
                acc[0].add(b2.trace); acc[1].add((b2 * b).trace); acc[2].add(b.trace * b2.trace); acc[3].add(b2.trace * b2.trace)
            }
            for (i, powers) in [[2], [3], [1, 2], [2, 2]].enumerated() {
                let exact = covarianceMoment(powers: powers, n: c.n, spectrum: spectrum).doubleValue
                XCTAssertLessThan(abs(acc[i].mean - exact), 3 * acc[i].standardError,
                                  "spectrum \(c.spectrum), n = \(c.n), powers \(powers): exact \(exact), MC \(acc[i].mean) ± \(acc[i].standardError)")
            }
        }
    }

    /// The GD chain and a reduced chain (v I, w I, u) off distribution against sampled chains, and the
    /// construction (v, w, u) = (-eta, 1, -1) equal to k GD steps exactly.
    func testChainLossesMonteCarlo() throws {
        let d = 3, n = 10, k = 3
        let eta = r("1/2")
        let lambdas = [0.4, 1.0, 2.5]
        let spectrum = try CovarianceSpectrum(lambdas.map { Rational(exactly: $0) })
        let (v, w, u) = (r("-3/10"), r("6/5"), r("-9/10"))
        XCTAssertEqual(try reducedChainLoss(n: n, k: k, v: -eta, w: .one, u: -.one, spectrum: spectrum),
                       try gdChainLoss(n: n, k: k, eta: eta, spectrum: spectrum))
        let root = Mat.diag(lambdas.map { $0.squareRoot() })
        let rng = Random(seed: 91, stream: [1])
        var gd = Accumulator(), reduced = Accumulator()
        for _ in 0..<20_000 {
            let s = (1 / Double(n)) * (root * sampleWishart(d: d, n: n, rng: rng) * root)
            let star = (0..<d).map { _ in rng.gaussian() }
            func run(_ step: ([Double]) -> [Double]) -> Double {
                var x = [Double](repeating: 0, count: d)
                for _ in 0..<k { x = step(x) }
                return zip(x, star).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            }
            func sTimes(_ x: [Double]) -> [Double] { (0..<d).map { i in (0..<d).reduce(0) { $0 + s[i, $1] * x[$1] } } }
            let e = eta.doubleValue, (vd, wd, ud) = (v.doubleValue, w.doubleValue, u.doubleValue)
            gd.add(run { x in let g = sTimes(zip(x, star).map { $0 - $1 }); return zip(x, g).map { $0 - e * $1 } })
            reduced.add(run { x in let g = sTimes(zip(x, star).map { wd * $0 + ud * $1 }); return zip(x, g).map { $0 + vd * $1 } })
        }
        let exactGD = try gdChainLoss(n: n, k: k, eta: eta, spectrum: spectrum).value.doubleValue
        let exactReduced = try reducedChainLoss(n: n, k: k, v: v, w: w, u: u, spectrum: spectrum).value.doubleValue
        XCTAssertLessThan(abs(gd.mean - exactGD), 3 * gd.standardError, "GD: exact \(exactGD), MC \(gd.mean) ± \(gd.standardError)")
        XCTAssertLessThan(abs(reduced.mean - exactReduced), 3 * reduced.standardError,
                          "reduced: exact \(exactReduced), MC \(reduced.mean) ± \(reduced.standardError)")
    }

    /// Exact spectra carry no error bound; the geometric spectrum's bound is positive and tiny, and the
    /// value sits between the values at the spectrum scaled by (1 -/+ eps) (moments are monotone).
    func testErrorBound() throws {
        let eta = paperStepSize(n: 40, d: 10)
        XCTAssertTrue(try gdChainLoss(n: 40, k: 5, eta: eta, spectrum: .identity(d: 10)).isExact)
        XCTAssertTrue(try gdChainLoss(n: 40, k: 5, eta: eta, spectrum: .geometric(d: 10, kappa: 1)).isExact)
        let geometric = try CovarianceSpectrum.geometric(d: 10, kappa: 4)
        let value = try gdChainLoss(n: 40, k: 5, eta: eta, spectrum: geometric)
        XCTAssertGreaterThan(value.errorBound, .zero)
        XCTAssertLessThan(value.errorBound, value.value * Rational(exactly: 1e-6))
        let eps = geometric.relativeError
        for factor in [Rational.one - eps, Rational.one + eps] {
            let moved = try CovarianceSpectrum(geometric.eigenvalues.map { $0 * factor })
            let other = try gdChainLoss(n: 40, k: 5, eta: eta, spectrum: moved).value
            let gap = other > value.value ? other - value.value : value.value - other
            XCTAssertLessThanOrEqual(gap, value.errorBound)
        }
        XCTAssertThrowsError(try CovarianceSpectrum([r("1"), r("-2")]))
        XCTAssertThrowsError(try CovarianceSpectrum.geometric(d: 3, kappa: 0.5))
    }

    /// The GD reference of an evaluation: the identity's loss, a spectrum's, nil beyond the limits.
    func testGDChainReference() throws {
        let eta = Rational(2, 5)
        XCTAssertEqual(try gdChainReference(n: 8, d: 3, k: 4, eta: eta, spectrum: nil), BoundedValue(value: gdChainLoss(n: 8, d: 3, k: 4, eta: eta), errorBound: .zero))
        XCTAssertNil(try gdChainReference(n: 8, d: 3, k: ExactLimits.degree / 2 + 1, eta: eta, spectrum: nil))
        let spectrum = try CovarianceSpectrum([Rational(1, 2), Rational(1), Rational(2)])
        XCTAssertEqual(try gdChainReference(n: 8, d: 3, k: 4, eta: eta, spectrum: spectrum), try gdChainLoss(n: 8, k: 4, eta: eta, spectrum: spectrum))
        XCTAssertNil(try gdChainReference(n: 8, d: 3, k: ExactLimits.covarianceDegree / 2 + 1, eta: eta, spectrum: spectrum))
    }

    /// A flow's end point with equal eigenvalues, taken exactly; unequal ones or another d refused.
    func testReducedChainPoint() throws {
        let p = try ReducedChainPoint(eigenvalues: [-0.7, -0.7], [1.25, 1.25], d: 2, source: "s.json")
        XCTAssertEqual(p.v, Rational(exactly: -0.7))
        XCTAssertEqual(p.w, Rational(5, 4))
        XCTAssertThrowsError(try ReducedChainPoint(eigenvalues: [1, 1, 1], [1, 1, 1], d: 2, source: "s.json")) { error in
            XCTAssertEqual(error as? ReducedChainPointError, .eigenvalueCount(source: "s.json", got: 3))
            XCTAssertEqual("\(error)", "s.json has 3 eigenvalues; pass --d 3")
        }
        XCTAssertThrowsError(try ReducedChainPoint(eigenvalues: [1, 1], [0.5, 2], d: 2, source: "s.json")) { error in
            XCTAssertEqual("\(error)", "the eigenvalues 'w' in s.json are not all equal (0.5 to 2); the exact out-of-distribution loss needs V31 = v I and W13 = w I")
        }
    }
}
