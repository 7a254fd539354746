import BigInt
import CotflowCore

/// The five equality-pattern values of `E[S_ab S_bc F(S)_ca]` (isotropic `S = W/n`),
/// for a polynomial `F`. `ab` is a = b != c (equal to the b = c != a value), `ac` is a = c != b,
/// `none` is all distinct. Values undefined for small d (ab, ac when d = 1; none when d <= 2)
/// are set to 0; the three-diagonal formula does not depend on them there.
public struct PatternScalars: Sendable, Equatable {
    public var all: Rational
    public var ab: Rational
    public var ac: Rational
    public var none: Rational
    /// `c_all = T_all - 2 T_ab - T_ac + 2 T_none`.
    public var cAll: Rational { all - Rational(2) * ab - ac + Rational(2) * none }

    public static let zero = PatternScalars(all: .zero, ab: .zero, ac: .zero, none: .zero)

    public static func + (a: PatternScalars, b: PatternScalars) -> PatternScalars {
        PatternScalars(all: a.all + b.all, ab: a.ab + b.ab, ac: a.ac + b.ac, none: a.none + b.none)
    }
    public static func * (c: Rational, a: PatternScalars) -> PatternScalars {
        PatternScalars(all: c * a.all, ab: c * a.ab, ac: c * a.ac, none: c * a.none)
    }
}

/// Pattern scalars for `F = S^m`, from `S = U Λ U^T` (U Haar, independent of Λ) and the moments
/// of a uniform unit vector:
///
///     T_all = (E[p1^2 pm] + 2E[p2 pm] + 4E[p1 p_{m+1}] + 8E[p_{m+2}]) / (d(d+2)(d+4))
///     α = E[S_11 (S^{m+1})_11] = (E[p1 p_{m+1}] + 2E[p_{m+2}]) / (d(d+2))
///     γ_diag = E[(S^2)_11 (S^m)_11] = (E[p2 pm] + 2E[p_{m+2}]) / (d(d+2))
///     γ_off = (E p_{m+2} - d γ_diag) / (d(d-1))
///     T_ab = (α - T_all)/(d-1),  T_ac = (γ_diag - T_all)/(d-1),  T_none = (γ_off - 2T_ab)/(d-2)
///
/// with `p_j = tr S^j`, `p_0 = d`.
public func patternScalars(power m: Int, moments: WishartMoments) -> PatternScalars {
    let d = moments.d
    let dr = Rational(d)
    func e(_ p: [Int]) -> Rational { moments.sExpectation(powers: p) }
    let tAll = (e([1, 1, m]) + Rational(2) * e([2, m]) + Rational(4) * e([1, m + 1]) + Rational(8) * e([m + 2]))
        / Rational(d * (d + 2) * (d + 4))
    if d == 1 { return PatternScalars(all: tAll, ab: .zero, ac: .zero, none: .zero) }
    let alpha = (e([1, m + 1]) + Rational(2) * e([m + 2])) / Rational(d * (d + 2))
    let gammaDiag = (e([2, m]) + Rational(2) * e([m + 2])) / Rational(d * (d + 2))
    let gammaOff = (e([m + 2]) - dr * gammaDiag) / Rational(d * (d - 1))
    let tAB = (alpha - tAll) / Rational(d - 1)
    let tAC = (gammaDiag - tAll) / Rational(d - 1)
    let tNone = d >= 3 ? (gammaOff - Rational(2) * tAB) / Rational(d - 2) : Rational.zero
    return PatternScalars(all: tAll, ab: tAB, ac: tAC, none: tNone)
}

/// `β = E[S_12 (S^{m+1})_21] = (E p_{m+2} - d α)/(d(d-1))`, used to check
/// `T_ac + T_ab + (d-2) T_none = β` (d >= 2).
public func patternCheckBeta(power m: Int, moments: WishartMoments) -> Rational {
    let d = moments.d
    func e(_ p: [Int]) -> Rational { moments.sExpectation(powers: p) }
    let alpha = (e([1, m + 1]) + Rational(2) * e([m + 2])) / Rational(d * (d + 2))
    return (e([m + 2]) - Rational(d) * alpha) / Rational(d * (d - 1))
}
