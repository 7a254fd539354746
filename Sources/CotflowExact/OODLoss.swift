import BigInt
import CotflowCore

/// An exact rational together with a bound on its distance from the quantity asked for: zero when
/// the input was exact (a rational spectrum), positive when the spectrum itself was only known to a
/// relative error (e.g. a geometric spectrum of irrational eigenvalues).
public struct BoundedValue: Sendable, Equatable {
    public let value: Rational
    public let errorBound: Rational
    public var isExact: Bool { errorBound.isZero }
    public init(value: Rational, errorBound: Rational) { self.value = value; self.errorBound = errorBound }
}

/// The exact single-trace moments `E tr S^j`, j = 0...maxPower, of `S = X X^T / n` with
/// `x_i ~ N(0, Sigma)` at a spectrum, from which expected traces of polynomials in S follow.
public struct CovarianceTraceMoments: Sendable {
    public let n: Int
    public let spectrum: CovarianceSpectrum
    /// `E tr S^j`.
    public let moments: [Rational]

    public init(n: Int, spectrum: CovarianceSpectrum, maxPower: Int) {
        precondition(n >= 1 && maxPower >= 0)
        self.n = n; self.spectrum = spectrum
        let raw = singleTraceCovarianceMoments(n: n, spectrum: spectrum, maxPower: maxPower)
        var nPower = Rational.one
        var out: [Rational] = []
        for m in raw { out.append(m / nPower); nPower *= Rational(n) }
        moments = out
    }

    /// `E tr f(S)` for `f(S) = sum_j c_j S^j` (c.count <= moments.count), exact at
    /// `spectrum.eigenvalues`. If the intended eigenvalues lie within a relative
    /// `eps = spectrum.relativeError` of those, each moment moves by at most a factor `(1 + eps)^j`
    /// (its coefficients in the eigenvalues are non-negative: a sum over Wick pairings), so the
    /// error is at most `sum_j |c_j| ((1 + eps)^j - 1) E tr S^j`, computed exactly.
    public func expectedTrace(polynomial c: [Rational]) -> BoundedValue {
        precondition(!c.isEmpty && c.count <= moments.count, "polynomial degree above the moments computed")
        var value = Rational.zero, bound = Rational.zero
        let grow = Rational.one + spectrum.relativeError
        var growth = Rational.one
        for j in c.indices {
            value += c[j] * moments[j]
            if j > 0 && !spectrum.relativeError.isZero {
                let magnitude = c[j] < .zero ? -c[j] : c[j]
                bound += magnitude * (growth - .one) * moments[j]
            }
            growth *= grow
        }
        return BoundedValue(value: value, errorBound: bound)
    }
}

/// `E tr f(S)` for a polynomial `f(S) = sum_j c_j S^j` at a spectrum (see `CovarianceTraceMoments`).
public func expectedTrace(polynomial c: [Rational], n: Int, spectrum: CovarianceSpectrum) -> BoundedValue {
    CovarianceTraceMoments(n: n, spectrum: spectrum, maxPower: c.count - 1).expectedTrace(polynomial: c)
}

/// Polynomial helpers on coefficient arrays (index = power of S).
private func multiply(_ a: [Rational], _ b: [Rational]) -> [Rational] {
    var out = [Rational](repeating: .zero, count: a.count + b.count - 1)
    for i in a.indices where !a[i].isZero { for j in b.indices where !b[j].isZero { out[i + j] += a[i] * b[j] } }
    return out
}

/// The autoregressive chain of the reduced parameters `V31 = v I`, `W13 = w I`, `W24 = u`
/// (MODEL.md section 8): `w^_{i+1} = (I + v w S) w^_i + v u S w*` from `w^_0 = 0`, so
/// `w^_k = g(S) w*` with `g(x) = v u x sum_{i<k} (1 + v w x)^i`. Returns the coefficients of
/// `(1 - g(x))^2`, whose expected trace is `E || w^_k - w* ||^2` for `w* ~ N(0, I)`.
public func reducedChainErrorPolynomial(k: Int, v: Rational, w: Rational, u: Rational) -> [Rational] {
    precondition(k >= 1)
    var power: [Rational] = [.one]  // (1 + v w x)^i
    var sum: [Rational] = [.zero]
    for _ in 0..<k {
        sum = (0..<max(sum.count, power.count)).map { (($0 < sum.count) ? sum[$0] : .zero) + (($0 < power.count) ? power[$0] : .zero) }
        power = multiply(power, [.one, v * w])
    }
    var one_g = [Rational.one] + sum.map { -(v * u) * $0 }  // 1 - v u x sum
    while one_g.count > 1, one_g.last!.isZero { one_g.removeLast() }
    return multiply(one_g, one_g)
}

/// Exact out-of-distribution evaluation loss `E || w^_k - w* ||^2` of the reduced parameters
/// `(v I, w I, u)` run autoregressively for k steps, `x ~ N(0, Sigma)`, `w* ~ N(0, I)` (MODEL.md
/// sections 1, 7 and 8; as `cotflow eval` samples it). `v = -eta, w = 1, u = -1` is the construction,
/// whose loss is that of k GD steps.
public func reducedChainLoss(n: Int, k: Int, v: Rational, w: Rational, u: Rational, spectrum: CovarianceSpectrum) throws -> BoundedValue {
    guard n >= 1, k >= 1 else { throw ExactError.invalidArgument("n and k must be >= 1 (got n=\(n), k=\(k))") }
    return expectedTrace(polynomial: reducedChainErrorPolynomial(k: k, v: v, w: w, u: u), n: n, spectrum: spectrum)
}

/// Exact `E || w_k - w* ||^2 = E tr (I - eta S)^{2k}` of the GD chain (eta fixed at its training
/// value) for `x ~ N(0, Sigma)`, `w* ~ N(0, I)`; at Sigma = I it equals `gdChainLoss`.
public func gdChainLoss(n: Int, k: Int, eta: Rational, spectrum: CovarianceSpectrum) throws -> BoundedValue {
    guard n >= 1, k >= 0 else { throw ExactError.invalidArgument("n must be >= 1 and k >= 0 (got n=\(n), k=\(k))") }
    guard eta > .zero else { throw ExactError.invalidArgument("eta must be > 0 (got \(eta))") }
    return expectedTrace(polynomial: gdChainErrorPolynomial(k: k, eta: eta), n: n, spectrum: spectrum)
}

/// Coefficients of `(1 - eta x)^{2k}`: `E tr` of it at S is the GD chain's `E || w_k - w* ||^2`.
public func gdChainErrorPolynomial(k: Int, eta: Rational) -> [Rational] {
    var c: [Rational] = []
    var etaPower = Rational.one
    for j in 0...(2 * k) {
        c.append(Rational((j % 2 == 0 ? 1 : -1) * binomial(2 * k, j)) * etaPower)
        etaPower *= eta
    }
    return c
}

/// A flow's end point as reduced chain parameters V31 = v I, W13 = w I (for `reducedChainLoss`,
/// with W24 = u beside it): the d eigenvalues of each must be equal; the doubles are taken exactly.
public struct ReducedChainPoint: Sendable, Equatable {
    public let v: Rational
    public let w: Rational

    /// `source` names where the eigenvalues come from in errors.
    public init(eigenvalues v: [Double], _ w: [Double], d: Int, source: String) throws {
        guard v.count == d, w.count == d else { throw ReducedChainPointError.eigenvalueCount(source: source, got: v.count) }
        for (name, xs) in [("v", v), ("w", w)] where xs.max()! != xs.min()! {
            throw ReducedChainPointError.unequal(source: source, name: name, min: xs.min()!, max: xs.max()!)
        }
        self.v = Rational(exactly: v[0])
        self.w = Rational(exactly: w[0])
    }
}

/// An end point that is not of the form V31 = v I, W13 = w I at this d.
public enum ReducedChainPointError: ReportableError, Equatable {
    case eigenvalueCount(source: String, got: Int)
    case unequal(source: String, name: String, min: Double, max: Double)

    public var kind: ErrorKind { .input }

    public var description: String {
        switch self {
        case let .eigenvalueCount(source, got): return "\(source) has \(got) eigenvalues; pass --d \(got)"
        case let .unequal(source, name, min, max):
            return "the eigenvalues '\(name)' in \(source) are not all equal (\(fmt(min)) to \(fmt(max))); "
                + "the exact out-of-distribution loss needs V31 = v I and W13 = w I"
        }
    }
}
