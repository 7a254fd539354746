import BigInt
import Foundation

/// An exact rational number in lowest terms with a positive denominator.
public struct Rational: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let numerator: BigInt
    public let denominator: BigInt

    public init(_ numerator: BigInt, _ denominator: BigInt = 1) {
        precondition(denominator != 0, "Rational with zero denominator")
        var n = numerator, d = denominator
        if d < 0 { n = -n; d = -d }
        let g = BigInt(n.magnitude.greatestCommonDivisor(with: d.magnitude))
        if g > 1 { n /= g; d /= g }
        self.numerator = n
        self.denominator = d
    }

    public init(_ value: Int) { self.init(BigInt(value), 1) }

    /// The exact value of a finite double.
    public init(exactly value: Double) {
        precondition(value.isFinite, "Rational(exactly:) needs a finite double")
        if value == 0 { self.init(0); return }
        let significand = BigInt(Int64(value.significandBitPattern | (value.isNormal ? (1 << 52) : 0)))
        let exponent = Int(value.exponent) - 52
        let signed = value < 0 ? -significand : significand
        if value.isNormal {
            self = exponent >= 0 ? Rational(signed << exponent) : Rational(signed, BigInt(1) << -exponent)
        } else {
            self = Rational(signed, BigInt(1) << 1074)
        }
    }

    public static let zero = Rational(0)
    public static let one = Rational(1)

    public var isZero: Bool { numerator == 0 }
    public var isInteger: Bool { denominator == 1 }

    /// Parses "20/31", "-3", "0.645", "1e-3", "2.5E2" exactly.
    public static func parse(_ text: String) -> Rational? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let slash = s.firstIndex(of: "/") {
            // One slash: "1/2/3" is ambiguous and refused, not read as 1/(2/3).
            guard s[s.index(after: slash)...].firstIndex(of: "/") == nil else { return nil }
            guard let a = parse(String(s[..<slash])), let b = parse(String(s[s.index(after: slash)...])),
                  !b.isZero else { return nil }
            return a / b
        }
        var mantissa = Substring(s)
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(s[s.index(after: e)...]), abs(x) <= 400 else { return nil }
            exponent = x
            mantissa = s[..<e]
        }
        var negative = false
        if mantissa.first == "-" || mantissa.first == "+" {
            negative = mantissa.first == "-"
            mantissa = mantissa.dropFirst()
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !mantissa.isEmpty, mantissa != "." else { return nil }
        let whole = parts[0], fraction = parts.count == 2 ? parts[1] : ""
        let digits = whole + fraction
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = BigInt(String(digits)) else { return nil }
        let scale = exponent - fraction.count
        let ten = BigInt(10)
        var r = scale >= 0 ? Rational(value * ten.power(scale)) : Rational(value, ten.power(-scale))
        if negative { r = -r }
        return r
    }

    /// The nearest double (correctly rounded outside the subnormal range), without overflow in the parts.
    public var doubleValue: Double {
        if numerator == 0 { return 0 }
        let a = numerator.magnitude, b = denominator.magnitude
        let bitsA = a.bitWidth, bitsB = b.bitWidth  // significant bits
        // A quotient of 62 or 63 bits (so it fits UInt64, whose conversion to Double rounds to
        // nearest), with a sticky bit for a non-zero remainder, is rounded exactly once.
        let shift = 62 + bitsB - bitsA
        let (num, den) = shift >= 0 ? (a << shift, b) : (a, b << -shift)
        var (q, r) = num.quotientAndRemainder(dividingBy: den)
        if !r.isZero { q |= 1 }
        let value = Foundation.scalbn(Double(UInt64(q)), -shift)
        return numerator < 0 ? -value : value
    }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    public func power(_ exponent: Int) -> Rational {
        precondition(exponent >= 0)
        return Rational(numerator.power(exponent), denominator.power(exponent))
    }

    public static func + (a: Rational, b: Rational) -> Rational {
        if a.denominator == b.denominator { return Rational(a.numerator + b.numerator, a.denominator) }
        return Rational(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator)
    }
    public static func - (a: Rational, b: Rational) -> Rational { a + (-b) }
    public static prefix func - (a: Rational) -> Rational { Rational(-a.numerator, a.denominator) }
    public static func * (a: Rational, b: Rational) -> Rational {
        Rational(a.numerator * b.numerator, a.denominator * b.denominator)
    }
    public static func / (a: Rational, b: Rational) -> Rational {
        precondition(!b.isZero, "division by zero")
        return Rational(a.numerator * b.denominator, a.denominator * b.numerator)
    }
    public static func += (a: inout Rational, b: Rational) { a = a + b }
    public static func -= (a: inout Rational, b: Rational) { a = a - b }
    public static func *= (a: inout Rational, b: Rational) { a = a * b }
    public static func < (a: Rational, b: Rational) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }
}

/// Coded as its exact text, "p/q" or "p" (`description`), read back with `parse`.
extension Rational: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let r = Rational.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a rational number: \(text)"))
        }
        self = r
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
