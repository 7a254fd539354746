import BigInt

/// A commutative ring with integer constants: the coefficient domain of the Wishart moment recursion.
/// `BigInt` gives exact values at integer (n, d); `NDPolynomial` gives polynomials in n and d;
/// `ModPrime` gives residues (used as an independent cross-check).
public protocol MomentRing: Sendable, Equatable {
    init(integer: Int)
    static func + (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
}

extension BigInt: MomentRing {
    public init(integer: Int) { self.init(integer) }
}

/// Residues modulo a fixed 62-bit prime (arithmetic via 128-bit products).
public struct ModPrime: MomentRing, Hashable {
    public static let modulus: UInt64 = 4_611_686_018_427_387_847  // 2^62 - 57, prime
    public let value: UInt64
    public init(raw: UInt64) { value = raw % ModPrime.modulus }
    public init(integer: Int) {
        let m = Int64(bitPattern: ModPrime.modulus)
        var r = Int64(integer) % m
        if r < 0 { r += m }
        value = UInt64(r)
    }
    /// The residue of a big integer.
    public init(_ x: BigInt) {
        let m = BigInt(ModPrime.modulus)
        var r = x % m
        if r < 0 { r += m }
        value = UInt64(r)
    }
    public static func + (a: ModPrime, b: ModPrime) -> ModPrime {
        let s = a.value &+ b.value
        return ModPrime(raw: s >= modulus ? s - modulus : s)
    }
    public static func * (a: ModPrime, b: ModPrime) -> ModPrime {
        let (hi, lo) = a.value.multipliedFullWidth(by: b.value)
        return ModPrime(raw: modulus.dividingFullWidth((hi, lo)).remainder)
    }
}

/// A polynomial in two variables n, d with big-integer coefficients.
public struct NDPolynomial: MomentRing, CustomStringConvertible {
    /// Exponent pair (power of n, power of d).
    public struct Monomial: Hashable, Sendable, Comparable {
        public let n: Int, d: Int
        public init(n: Int, d: Int) { self.n = n; self.d = d }
        /// Display order: higher total degree first, then higher power of n.
        public static func < (a: Monomial, b: Monomial) -> Bool {
            a.n + a.d != b.n + b.d ? a.n + a.d > b.n + b.d : a.n > b.n
        }
    }
    public private(set) var terms: [Monomial: BigInt]

    public init(terms: [Monomial: BigInt]) { self.terms = terms.filter { $0.value != 0 } }
    public init(integer: Int) { self.init(terms: [Monomial(n: 0, d: 0): BigInt(integer)]) }
    public static let n = NDPolynomial(terms: [Monomial(n: 1, d: 0): 1])
    public static let d = NDPolynomial(terms: [Monomial(n: 0, d: 1): 1])

    public static func + (a: NDPolynomial, b: NDPolynomial) -> NDPolynomial {
        var t = a.terms
        for (m, c) in b.terms { t[m, default: 0] += c }
        return NDPolynomial(terms: t)
    }
    public static func * (a: NDPolynomial, b: NDPolynomial) -> NDPolynomial {
        var t: [Monomial: BigInt] = [:]
        for (m1, c1) in a.terms { for (m2, c2) in b.terms { t[Monomial(n: m1.n + m2.n, d: m1.d + m2.d), default: 0] += c1 * c2 } }
        return NDPolynomial(terms: t)
    }

    /// The value at integer n, d.
    public func evaluate(n: Int, d: Int) -> BigInt {
        var s = BigInt(0)
        for (m, c) in terms { s += c * BigInt(n).power(m.n) * BigInt(d).power(m.d) }
        return s
    }

    /// Readable form, e.g. "n^2 d + n d^2 + n d".
    public var description: String {
        if terms.isEmpty { return "0" }
        var out = ""
        for m in terms.keys.sorted() {
            let c = terms[m]!
            let negative = c < 0
            let mag = negative ? -c : c
            var factors: [String] = []
            if mag != 1 || (m.n == 0 && m.d == 0) { factors.append("\(mag)") }
            if m.n > 0 { factors.append(m.n == 1 ? "n" : "n^\(m.n)") }
            if m.d > 0 { factors.append(m.d == 1 ? "d" : "d^\(m.d)") }
            let body = factors.joined(separator: " ")
            if out.isEmpty { out = negative ? "-" + body : body } else { out += (negative ? " - " : " + ") + body }
        }
        return out
    }
}
