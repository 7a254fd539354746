import BigInt
import CotflowCore

/// Binomial coefficient C(a, b) as a big integer (0 when b < 0 or b > a).
func binomial(_ a: Int, _ b: Int) -> BigInt {
    if b < 0 || b > a { return 0 }
    let b = min(b, a - b)
    var r = BigInt(1)
    if b == 0 { return r }
    for i in 1...b { r = r * BigInt(a - b + i) / BigInt(i) }
    return r
}

/// Exact `E || w_k - w* ||^2 = E tr (I - eta S)^{2k}` for the GD chain from `w_0 = 0`
/// (`S = W/n`, isotropic data, `w* ~ N(0, I)`), by expanding the power binomially into
/// single-trace moments `E tr S^j` and combining in exact rationals.
public func gdChainLoss(n: Int, d: Int, k: Int, eta: Rational) -> Rational {
    precondition(n >= 1 && d >= 1 && k >= 0)
    let moments = WishartMoments.shared(n: n, d: d)
    var total = Rational.zero
    var etaPower = Rational.one
    for j in 0...(2 * k) {
        let sign = j % 2 == 0 ? BigInt(1) : BigInt(-1)
        total += Rational(sign * binomial(2 * k, j)) * etaPower * moments.sExpectation(powers: [j])
        etaPower *= eta
    }
    return total
}

/// Exact minimum over c of `E tr (I - c S)^2` = `d - (E tr S)^2 / E tr S^2`, the best one-step
/// (no-CoT) loss; equals `d(d+1)/(n+d+1)`.
public func noCoTOptimum(n: Int, d: Int) -> Rational {
    let m = WishartMoments.shared(n: n, d: d)
    let m1 = m.sExpectation(powers: [1]), m2 = m.sExpectation(powers: [2])
    return Rational(d) - m1 * m1 / m2
}

/// The minimising step `c = E tr S / E tr S^2 = n/(n+d+1)`.
public func noCoTOptimalStep(n: Int, d: Int) -> Rational {
    let m = WishartMoments.shared(n: n, d: d)
    return m.sExpectation(powers: [1]) / m.sExpectation(powers: [2])
}

