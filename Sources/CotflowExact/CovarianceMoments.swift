import BigInt
import CotflowCore
import Foundation

/// Joint trace moments with a covariance, `E[prod_r tr (Sigma W)^{m_r}]` for `W ~ W_d(n, I)`,
/// by Gaussian integration by parts on traces of words in Sigma and W (notes/exact-moments.md,
/// section 6). A word `(a_1, ..., a_j)` stands for `tr(Sigma^{a_1} W Sigma^{a_2} W ... Sigma^{a_j} W)`
/// and is kept up to rotation and reversal; a word without W is the power sum `p_a = tr Sigma^a`.
/// With `a_1` the bead before the W that is integrated out and `P` the other factors:
///
///     E[(a_1..a_j) P] = n E[(a_1+a_2, a_3..a_j) P]                          (j = 1: n p_{a_1} E[P])
///       + sum_{t=2}^{j} E[(a_2..a_t) (a_1+a_{t+1}, a_{t+2}..a_j) P]          (t = j: p_{a_1} as the second factor)
///       + sum_{t=2}^{j} E[(a_2..a_{t-1}, a_t+a_1, a_j, a_{j-1}..a_{t+1}) P]
///       + sum_{(b_1..b_m) in P} sum_{s=1}^{m} E[(a_2..a_j, a_1+b_{s+1}, b_{s+2}..b_s) P']
///                                         + E[(a_2..a_j, a_1+b_s, b_{s-1}..b_{s+1}) P'].
///
/// Every step removes one W. At Sigma = I the beads are forgotten and this is `MomentEngine`'s recursion.
/// The number of states grows about 3.3-fold per two degrees (some 6,000 at degree 14); single
/// traces of high degree go through `singleTraceCovarianceMoments` instead.
struct CovarianceMomentEngine<R: MomentRing> {
    let n: R
    /// `powerSum(a)` = p_a = tr Sigma^a (a >= 0; p_0 = d).
    let powerSum: (Int) -> R
    private var memo: [[UInt8]: R] = [:]

    init(n: R, powerSum: @escaping (Int) -> R) {
        self.n = n; self.powerSum = powerSum
    }

    var memoCount: Int { memo.count }

    /// E[prod_r tr (Sigma W)^{powers[r]}], powers >= 0 (a zero power is tr I = p_0).
    mutating func expectation(_ powers: [Int]) -> R {
        precondition(powers.allSatisfy { $0 >= 0 && $0 < 120 }, "powers must be in 0..<120")
        var factor = R(integer: 1)
        var words: [[UInt8]] = []
        for m in powers {
            if m == 0 { factor = factor * powerSum(0) } else { words.append([UInt8](repeating: 1, count: m)) }
        }
        return factor * value(Self.key(words))
    }

    // MARK: states

    /// The least rotation of a word or of its reversal.
    static func canonical(_ w: [UInt8]) -> [UInt8] {
        let m = w.count
        if m <= 1 { return w }
        var best = w
        let reversed = Array(w.reversed())
        for s in [w, reversed] {
            for r in 0..<m {
                var smaller = false, decided = false
                for i in 0..<m {
                    let x = s[(r + i) % m], y = best[i]
                    if x != y { smaller = x < y; decided = true; break }
                }
                if decided && smaller { best = Array(s[r...] + s[..<r]) }
            }
        }
        return best
    }

    /// A state: canonical words, sorted, joined by 0 (beads are >= 1).
    static func key(_ words: [[UInt8]]) -> [UInt8] {
        let sorted = words.map(canonical).sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
        var out: [UInt8] = []
        for (i, w) in sorted.enumerated() {
            if i > 0 { out.append(0) }
            out.append(contentsOf: w)
        }
        return out
    }

    static func words(_ key: [UInt8]) -> [[UInt8]] {
        key.isEmpty ? [] : key.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
    }

    private static func bead(_ a: UInt8, _ b: UInt8) -> UInt8 {
        precondition(Int(a) + Int(b) < 250, "Sigma exponent overflow")
        return a + b
    }

    private mutating func value(_ key: [UInt8]) -> R {
        if key.isEmpty { return R(integer: 1) }
        if let v = memo[key] { return v }
        var all = Self.words(key)
        // The shortest word (first in the key), rotated to start at its largest bead.
        var w = all.removeFirst()
        let top = w.indices.max { w[$0] < w[$1] || (w[$0] == w[$1] && $0 > $1) }!
        w = Array(w[top...] + w[..<top])
        let rest = all
        let j = w.count
        var acc = R(integer: 0)
        func term(_ coefficient: R, _ newWords: [[UInt8]], _ others: [[UInt8]]) -> R {
            coefficient * value(Self.key(newWords.filter { !$0.isEmpty } + others))
        }
        let one = R(integer: 1)
        if j == 1 {
            acc = acc + n * powerSum(Int(w[0])) * value(Self.key(rest))
        } else {
            acc = acc + term(n, [[Self.bead(w[0], w[1])] + Array(w[2...])], rest)
        }
        if j >= 2 {
            for t in 2...j {  // 1-based position of the differentiated W in R
                let left = Array(w[1..<t])  // a_2..a_t
                if t == j {
                    acc = acc + term(powerSum(Int(w[0])), [left], rest)
                } else {
                    acc = acc + term(one, [left, [Self.bead(w[0], w[t])] + Array(w[(t + 1)...])], rest)
                }
                var twist = Array(w[1..<(t - 1)])
                twist.append(Self.bead(w[t - 1], w[0]))
                if t < j { twist.append(contentsOf: w[t...].reversed()) }
                acc = acc + term(one, [twist], rest)
            }
        }
        // Merges with the other words.
        let tail = Array(w[1...])  // a_2..a_j
        for o in rest.indices {
            let b = rest[o]
            var others = rest
            others.remove(at: o)
            let m = b.count
            for s in 1...m {
                let forward = Array(b[s...] + b[..<s])  // b_{s+1}..b_m, b_1..b_s
                var w1 = tail
                w1.append(Self.bead(w[0], forward[0]))
                w1.append(contentsOf: forward[1...])
                let backward = Array(b[..<s].reversed() + b[s...].reversed())  // b_s..b_1, b_m..b_{s+1}
                var w2 = tail
                w2.append(Self.bead(w[0], backward[0]))
                w2.append(contentsOf: backward[1...])
                acc = acc + term(one, [w1], others) + term(one, [w2], others)
            }
        }
        memo[key] = acc
        return acc
    }
}

/// A polynomial in n and the power sums p_1, p_2, ... (and p_0 = d) with big-integer coefficients.
public struct PowerSumPolynomial: MomentRing, CustomStringConvertible {
    /// Exponents: index 0 is the power of n, index r + 1 the power of p_r (r >= 0).
    public private(set) var terms: [[UInt8]: BigInt]

    public init(terms: [[UInt8]: BigInt]) {
        var t: [[UInt8]: BigInt] = [:]
        for (m, c) in terms where c != 0 { t[Self.trimmed(m)] = c }
        self.terms = t
    }
    public init(integer: Int) { self.init(terms: [[]: BigInt(integer)]) }
    public static let n = PowerSumPolynomial(terms: [[1]: 1])
    /// The power sum p_r = tr Sigma^r (p_0 = d).
    public static func p(_ r: Int) -> PowerSumPolynomial {
        var e = [UInt8](repeating: 0, count: r + 2)
        e[r + 1] = 1
        return PowerSumPolynomial(terms: [e: 1])
    }

    private static func trimmed(_ m: [UInt8]) -> [UInt8] {
        var m = m
        while let last = m.last, last == 0 { m.removeLast() }
        return m
    }

    public static func + (a: PowerSumPolynomial, b: PowerSumPolynomial) -> PowerSumPolynomial {
        var t = a.terms
        for (m, c) in b.terms { t[m, default: 0] += c }
        return PowerSumPolynomial(terms: t)
    }
    public static func * (a: PowerSumPolynomial, b: PowerSumPolynomial) -> PowerSumPolynomial {
        var t: [[UInt8]: BigInt] = [:]
        for (m1, c1) in a.terms {
            for (m2, c2) in b.terms {
                var e = [UInt8](repeating: 0, count: max(m1.count, m2.count))
                for i in m1.indices { e[i] += m1[i] }
                for i in m2.indices { e[i] += m2[i] }
                t[e, default: 0] += c1 * c2
            }
        }
        return PowerSumPolynomial(terms: t)
    }

    /// The value at n and given power sums (`powerSums[r]` = p_r, r = 0...).
    public func evaluate(n: Rational, powerSums: [Rational]) -> Rational {
        var total = Rational.zero
        for (m, c) in terms {
            var x = Rational(c)
            for (i, e) in m.enumerated() where e > 0 {
                x *= (i == 0 ? n : powerSums[i - 1]).power(Int(e))
            }
            total += x
        }
        return total
    }

    /// Readable form, e.g. "n^2 p2 + n p1^2 + n p2": by descending power of n, then by p-type.
    public var description: String {
        if terms.isEmpty { return "0" }
        func later(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            let na = a.first ?? 0, nb = b.first ?? 0
            if na != nb { return na > nb }
            // Higher powers of high-index power sums later; compare from the top index.
            let count = max(a.count, b.count)
            for i in stride(from: count - 1, through: 1, by: -1) {
                let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
                if x != y { return x < y }
            }
            return false
        }
        var out = ""
        for m in terms.keys.sorted(by: later) {
            let c = terms[m]!
            let negative = c < 0
            let mag = negative ? -c : c
            var factors: [String] = []
            if let e = m.first, e > 0 { factors.append(e == 1 ? "n" : "n^\(e)") }
            for i in m.indices.dropFirst() where m[i] > 0 {
                let name = i == 1 ? "d" : "p\(i - 1)"
                factors.append(m[i] == 1 ? name : "\(name)^\(m[i])")
            }
            if mag != 1 || factors.isEmpty { factors.insert("\(mag)", at: 0) }
            let body = factors.joined(separator: " ")
            if out.isEmpty { out = negative ? "-" + body : body } else { out += (negative ? " - " : " + ") + body }
        }
        return out
    }
}

/// A covariance spectrum for exact out-of-distribution moments: exact rational eigenvalues, and a
/// bound `relativeError` on how far (relatively, entrywise) the intended real eigenvalues may lie
/// from them (0 when the spectrum is exactly what was asked for).
public struct CovarianceSpectrum: Sendable, Equatable {
    public let eigenvalues: [Rational]
    public let relativeError: Rational
    public var d: Int { eigenvalues.count }

    /// - Throws: unless there is at least one eigenvalue, all positive.
    public init(_ eigenvalues: [Rational], relativeError: Rational = .zero) throws {
        guard !eigenvalues.isEmpty else { throw ExactError.invalidArgument("the spectrum needs at least one eigenvalue") }
        guard eigenvalues.allSatisfy({ $0 > .zero }) else {
            throw ExactError.invalidArgument("covariance eigenvalues must be positive (got \(eigenvalues.map(\.description).joined(separator: ", ")))")
        }
        guard relativeError >= .zero, relativeError < Rational(1, 2) else {
            throw ExactError.invalidArgument("relative error must be in [0, 1/2)")
        }
        self.eigenvalues = eigenvalues
        self.relativeError = relativeError
    }

    /// The identity covariance in dimension d.
    public static func identity(d: Int) throws -> CovarianceSpectrum { try CovarianceSpectrum(Array(repeating: .one, count: d)) }

    /// The geometric spectrum of condition number kappa exactly as `cotflow eval --condition-number`
    /// samples it (the doubles of `geometricSpectrum`), with the bound on their distance from the
    /// real numbers kappa^(i/(d-1) - 1/2).
    public static func geometric(d: Int, kappa: Double) throws -> CovarianceSpectrum {
        guard d >= 1 else { throw ExactError.invalidArgument("d must be >= 1 (got \(d))") }
        guard kappa.isFinite, kappa >= 1 else { throw ExactError.invalidArgument("the condition number must be finite and >= 1 (got \(kappa))") }
        let values = geometricSpectrum(d: d, kappa: kappa)
        let error = kappa == 1 || d == 1 ? Rational.zero : Rational(exactly: geometricSpectrumRelativeError(kappa: kappa))
        return try CovarianceSpectrum(values.map { Rational(exactly: $0) }, relativeError: error)
    }

    /// p_r = tr Sigma^r for r = 0...maxPower.
    public func powerSums(upTo maxPower: Int) -> [Rational] {
        (0...maxPower).map { r in eigenvalues.reduce(Rational.zero) { $0 + $1.power(r) } }
    }

    /// The spectrum scaled to integers: Sigma = Sigma' / scale with integer eigenvalues.
    func integerScaled() -> (eigenvalues: [BigInt], scale: BigInt) {
        var l = BigInt(1)
        for x in eigenvalues { l = l / BigInt(l.magnitude.greatestCommonDivisor(with: x.denominator.magnitude)) * x.denominator }
        return (eigenvalues.map { $0.numerator * (l / $0.denominator) }, l)
    }
}

/// Exact `E[prod_r tr (Sigma W)^{powers[r]}]` for `W ~ W_d(n, I)` at a rational spectrum (Sigma's
/// eigenvalues; the value depends on nothing else), by the word recursion of `CovarianceMomentEngine`.
/// The value is for `spectrum.eigenvalues` exactly; `spectrum.relativeError` is not applied here.
public func covarianceMoment(powers: [Int], n: Int, spectrum: CovarianceSpectrum) -> Rational {
    precondition(n >= 1, "n must be >= 1")
    let (ints, scale) = spectrum.integerScaled()
    let degree = powers.reduce(0, +)
    var sums: [BigInt] = []
    for r in 0...max(degree, 1) { sums.append(ints.reduce(BigInt(0)) { $0 + $1.power(r) }) }
    var engine = CovarianceMomentEngine(n: BigInt(n), powerSum: { sums[$0] })
    return Rational(engine.expectation(powers), scale.power(degree))
}

private let symbolicCovarianceLock = NSLock()
nonisolated(unsafe) private var symbolicCovarianceEngine = CovarianceMomentEngine(n: PowerSumPolynomial.n, powerSum: { PowerSumPolynomial.p($0) })

/// `E[prod_r tr (Sigma W)^{powers[r]}]` as a polynomial in n and the power sums p_r = tr Sigma^r
/// (p_0 = d appears only for zero powers). Memoised process-wide.
public func symbolicCovarianceMoment(powers: [Int]) -> PowerSumPolynomial {
    symbolicCovarianceLock.lock()
    defer { symbolicCovarianceLock.unlock() }
    return symbolicCovarianceEngine.expectation(powers)
}
