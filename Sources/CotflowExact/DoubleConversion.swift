import BigInt
import CotflowSupport
import Foundation

/// The double nearest to `r` (within one ulp), without overflow in the parts.
///
/// Local replacement for `Rational.doubleValue`, which (as of this commit) computes the bit
/// length of a `BigUInt` as `bitWidth - leadingZeroBitCount`; attaswift's `BigUInt.bitWidth`
/// is already the minimal bit length, so the quotient kept there can have far fewer than 53
/// significant bits (relative errors of 1e-6 were observed).
public func nearestDouble(_ r: Rational) -> Double {
    if r.numerator == 0 { return 0 }
    let a = r.numerator.magnitude, b = r.denominator.magnitude
    let shift = 64 + b.bitWidth - a.bitWidth
    let q = shift >= 0 ? (a << shift) / b : a / (b << -shift)
    let value = Foundation.scalbn(Double(q), -shift)
    return r.numerator < 0 ? -value : value
}
