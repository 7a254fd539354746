import CotflowCore

/// Arithmetic in which the reduced loss polynomial is evaluated: exact rationals, or double-double
/// with a running error bound (`Bounded`). One generic evaluator serves both.
protocol LossArithmetic {
    /// The exact value of a finite double.
    static func from(_ x: Double) -> Self
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func / (a: Self, b: Self) -> Self
    static var zero: Self { get }
}

extension Rational: LossArithmetic {
    static func from(_ x: Double) -> Rational { Rational(exactly: x) }
}

/// A double-double number `hi + lo` (|lo| <= ulp(hi)/2), about 106 significant bits.
struct DoubleDouble: Sendable {
    var hi: Double
    var lo: Double

    init(_ hi: Double, _ lo: Double = 0) { self.hi = hi; self.lo = lo }

    /// The nearest double-double to an exact rational.
    init(_ r: Rational) {
        let hi = r.doubleValue
        guard hi.isFinite else { self.init(hi); return }
        self.init(hi, (r - Rational(exactly: hi)).doubleValue)
    }

    var value: Double { hi + lo }

    @inline(__always) static func twoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b, bb = s - a
        return (s, (a - (s - bb)) + (b - bb))
    }
    @inline(__always) static func quickTwoSum(_ a: Double, _ b: Double) -> (Double, Double) {
        let s = a + b
        return (s, b - (s - a))
    }

    /// Accurate addition (relative error at most about 3 x 2^-106).
    @inline(__always) static func + (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        var (s, e) = twoSum(a.hi, b.hi)
        let (t, f) = twoSum(a.lo, b.lo)
        e += t
        (s, e) = quickTwoSum(s, e)
        e += f
        (s, e) = quickTwoSum(s, e)
        return DoubleDouble(s, e)
    }
    @inline(__always) static prefix func - (a: DoubleDouble) -> DoubleDouble { DoubleDouble(-a.hi, -a.lo) }
    @inline(__always) static func - (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble { a + (-b) }
    /// Multiplication with a fused multiply-add (relative error at most about 7 x 2^-106).
    @inline(__always) static func * (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let p = a.hi * b.hi
        var e = (-p).addingProduct(a.hi, b.hi)  // the exact error of a.hi * b.hi
        e += a.hi * b.lo + a.lo * b.hi
        let (s, t) = quickTwoSum(p, e)
        return DoubleDouble(s, t)
    }
    /// Division (relative error at most about 2^-100).
    @inline(__always) static func / (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let q1 = a.hi / b.hi
        var r = a - b * DoubleDouble(q1)
        let q2 = r.hi / b.hi
        r = r - b * DoubleDouble(q2)
        let q3 = r.hi / b.hi
        let (s, e) = quickTwoSum(q1, q2)
        return DoubleDouble(s, e) + DoubleDouble(q3)
    }
}

/// A double with the magnitude `m` of the same expression evaluated on absolute values: the
/// rounding error after at most `h` dependent operations is at most `h * 2^-53 * m` (first order).
struct BoundedDouble: LossArithmetic, Sendable {
    var x: Double
    var m: Double

    /// Per-operation relative error of double arithmetic, with a margin.
    static let unitRoundoff = 0x1.01p-53

    init(_ x: Double, _ m: Double) { self.x = x; self.m = m }
    static func from(_ v: Double) -> BoundedDouble { BoundedDouble(v, abs(v)) }
    static var zero: BoundedDouble { BoundedDouble(0, 0) }
    @inline(__always) static func + (a: BoundedDouble, b: BoundedDouble) -> BoundedDouble { BoundedDouble(a.x + b.x, a.m + b.m) }
    @inline(__always) static func - (a: BoundedDouble, b: BoundedDouble) -> BoundedDouble { BoundedDouble(a.x - b.x, a.m + b.m) }
    @inline(__always) static func * (a: BoundedDouble, b: BoundedDouble) -> BoundedDouble { BoundedDouble(a.x * b.x, a.m * b.m) }
    @inline(__always) static func / (a: BoundedDouble, b: BoundedDouble) -> BoundedDouble { BoundedDouble(a.x / b.x, a.m / abs(b.x) * (1 + 0x1p-40)) }

    var value: Double { x }
    func errorBound(depth: Int) -> Double {
        let g = Double(depth) * BoundedDouble.unitRoundoff
        return g / (1 - g) * m
    }
}

/// A double-double value with the magnitude `m` of the same expression evaluated on absolute
/// values (Higham's running error analysis): the rounding error of a result computed through at
/// most `h` dependent operations is at most `h * unitRoundoff * m` (to first order).
struct Bounded: LossArithmetic, Sendable {
    var x: DoubleDouble
    var m: Double

    /// Per-operation relative error of double-double arithmetic, with a margin (2^-100).
    static let unitRoundoff = 0x1p-100

    init(_ x: DoubleDouble, _ m: Double) { self.x = x; self.m = m }
    init(_ r: Rational) { let x = DoubleDouble(r); self.init(x, abs(x.hi)) }

    static func from(_ v: Double) -> Bounded { Bounded(DoubleDouble(v), abs(v)) }
    static var zero: Bounded { Bounded(DoubleDouble(0), 0) }

    static func + (a: Bounded, b: Bounded) -> Bounded { Bounded(a.x + b.x, a.m + b.m) }
    static func - (a: Bounded, b: Bounded) -> Bounded { Bounded(a.x - b.x, a.m + b.m) }
    static func * (a: Bounded, b: Bounded) -> Bounded { Bounded(a.x * b.x, a.m * b.m) }
    /// Division by an exactly known or well-separated-from-zero divisor.
    static func / (a: Bounded, b: Bounded) -> Bounded { Bounded(a.x / b.x, a.m / abs(b.x.hi) * (1 + 0x1p-40)) }

    var value: Double { x.value }
    /// Error bound after at most `depth` dependent operations, plus the final rounding to double.
    func errorBound(depth: Int) -> Double {
        let g = Double(depth) * Bounded.unitRoundoff
        return g / (1 - g) * m + abs(value).ulp
    }
}
