import BigInt
import CotflowCore
import Foundation

/// Errors from invalid parameters.
public enum ExactError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    public var description: String {
        switch self { case .invalidArgument(let s): return "invalid argument: \(s)" }
    }
}

/// Exact joint trace moments `E[prod_r tr W^{m_r}]` of the real Wishart matrix
/// `W = X X^T ~ W_d(n, I)` (X is d x n standard Gaussian), with `tr W^0 = d`.
///
/// Values are computed by the Gaussian integration-by-parts recursion (see `MomentEngine`) in
/// exact big-integer arithmetic and memoised; instances are shared per (n, d) via
/// `WishartMoments.shared(n:d:)`. Thread-safe.
public final class WishartMoments: @unchecked Sendable {
    public let n: Int
    public let d: Int
    private let lock = NSLock()
    private var engine: MomentEngine<BigInt>

    public init(n: Int, d: Int) {
        precondition(n >= 1 && d >= 1, "WishartMoments needs n, d >= 1")
        self.n = n
        self.d = d
        engine = MomentEngine(n: BigInt(n), d: BigInt(d))
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [[Int]: WishartMoments] = [:]

    /// A process-wide memoised instance for (n, d).
    public static func shared(n: Int, d: Int) -> WishartMoments {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let m = registry[[n, d]] { return m }
        let m = WishartMoments(n: n, d: d)
        registry[[n, d]] = m
        return m
    }

    /// Exact `E[prod_r tr W^{powers[r]}]` (an integer).
    public func expectation(powers: [Int]) -> BigInt {
        lock.lock()
        defer { lock.unlock() }
        return engine.expectation(powers)
    }

    /// Exact `E[prod_r tr S^{powers[r]}]` for `S = W / n`.
    public func sExpectation(powers: [Int]) -> Rational {
        let degree = powers.reduce(0, +)
        return Rational(expectation(powers: powers), BigInt(n).power(degree))
    }

    /// Number of memoised partitions so far.
    public var memoCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return engine.memoCount
    }

    private static let symbolicLock = NSLock()
    nonisolated(unsafe) private static var symbolicEngine = MomentEngine(n: NDPolynomial.n, d: NDPolynomial.d)

    /// `E[prod_r tr W^{powers[r]}]` as a polynomial in n and d (integer coefficients).
    public static func symbolicPolynomial(powers: [Int]) -> NDPolynomial {
        symbolicLock.lock()
        defer { symbolicLock.unlock() }
        return symbolicEngine.expectation(powers)
    }

    /// Readable polynomial in n and d, e.g. "n^2 d + n d^2 + n d" for `E tr W^2`.
    public static func symbolicExpectation(powers: [Int]) -> String {
        symbolicPolynomial(powers: powers).description
    }
}

/// Independent cross-check: moments modulo the prime `ModPrime.modulus`, computed with the
/// opposite reduction order (largest part first).
public func wishartMomentModPrime(n: Int, d: Int, powers: [Int]) -> UInt64 {
    var engine = MomentEngine(n: ModPrime(integer: n), d: ModPrime(integer: d), order: .largestFirst)
    return engine.expectation(powers).value
}

/// Independent cross-check: single-trace moments `E tr W^m`, m = 0...maxPower, modulo the prime
/// `ModPrime.modulus`, computed with the opposite reduction order (largest part first), sharing
/// one memo table.
public func wishartSingleTraceModPrime(n: Int, d: Int, maxPower: Int) -> [UInt64] {
    var engine = MomentEngine(n: ModPrime(integer: n), d: ModPrime(integer: d), order: .largestFirst)
    return (0...maxPower).map { engine.expectation([$0]).value }
}
