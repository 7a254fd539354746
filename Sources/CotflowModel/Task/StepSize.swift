import BigInt
import CotflowCore

/// The paper's step size `eta = n/(n+d+1)`, exact (the optimal one-step size for isotropic data);
/// `.doubleValue` is the correctly rounded double.
public func paperStepSize(n: Int, d: Int) -> Rational { Rational(BigInt(n), BigInt(n + d + 1)) }

/// `eta` as a number and as its exact string (`"eta": 0.784..., "eta_exact": "40/51"`).
package func etaFields(_ eta: Rational) -> [(String, JSONValue)] {
    [("eta", .number(eta.doubleValue)), ("eta_exact", .string(eta.description))]
}

