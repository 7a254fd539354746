import CotflowCore
import Foundation

/// The big-integer work of exact Wishart moments up to a total degree, in 64-bit limb products:
/// the recursion visits about D^3/12 products of at most three traces of each degree D <= the
/// total (partitions into at most three parts), each multiplying integers of about
/// 1 + D (log2(n d) + 2 log2 D) / 64 limbs (the powers of n d and the combinatorial factors,
/// which grow like D!) by schoolbook, so at the square of that. `termCost` is fitted against
/// `exact cot-loss` at k = 60...100 and (d, n) = (3, 10), (10, 40), (1, 40)
/// (notes/reliability.md, "Estimates").
package enum ExactWork {
    /// Limb products per counted term, from the fit (the microbenchmark of `MachineRates` runs
    /// plain multiply-adds; the recursion's terms also allocate and reduce).
    package static let termCost = 0.013

    package static func moments(degree: Int, n: Int, d: Int) -> Double {
        guard degree >= 2 else { return 1 }
        let bits = log2(Double(max(n, 1)) * Double(max(d, 1)))
        var total = 0.0
        for D in 2...degree {
            let x = Double(D)
            let limbs = 1 + x * (bits + 2 * log2(x)) / 64
            total += x * x * x / 12 * limbs * limbs
        }
        return termCost * total
    }

    /// A phase of exact moments up to `degree`.
    package static func phase(_ name: String, degree: Int, n: Int, d: Int, basis: String) -> WorkEstimate.Phase {
        .init(name, .exact, operations: moments(degree: degree, n: n, d: d), basis: basis)
    }
}

extension ReducedLoss {
    /// The name of the phase that builds the exact reduced loss (its estimate and progress).
    public static let phaseName = "exact reduced loss"

    /// The work of building the exact reduced loss: Wishart moments of degree up to 2k.
    public static func workPhase(n: Int, d: Int, k: Int) -> WorkEstimate.Phase {
        ExactWork.phase(phaseName, degree: 2 * k, n: n, d: d, basis: "Wishart moments of degree up to 2k = \(2 * k) at (d, n) = (\(d), \(n))")
    }
}

extension MomentRun {
    /// The work of this moment, before it runs.
    public func estimate() -> WorkEstimate {
        let degree = powers.reduce(0) { $0 + min(max($1, 0), ExactLimits.degree) }
        return WorkEstimate([ExactWork.phase("exact moment", degree: degree, n: n, d: d, basis: "total degree \(degree)")])
    }
}

extension GDLossRun {
    /// The work of this loss, before it runs (moments of degree 2k).
    public func estimate() -> WorkEstimate {
        WorkEstimate([ExactWork.phase("exact GD-chain loss", degree: 2 * k, n: n, d: d, basis: "Wishart moments of degree up to 2k = \(2 * k)")])
    }
}

extension CoTLossRun {
    /// The work of this loss, before it runs (the exact reduced loss).
    public func estimate() -> WorkEstimate { WorkEstimate([ReducedLoss.workPhase(n: n, d: d, k: k)]) }
}

extension EvalLossRun {
    /// The work of this loss, before it runs (moments of degree 2k).
    public func estimate() -> WorkEstimate {
        WorkEstimate([ExactWork.phase("exact evaluation loss", degree: 2 * k, n: n, d: d, basis: "Wishart moments of degree up to 2k = \(2 * k)")])
    }
}

extension NoCoTOptimumRun {
    /// The work of the optimum, before it runs (a closed form).
    public func estimate() -> WorkEstimate { WorkEstimate([.init("closed form", .serial, operations: 10, basis: "d(d+1)/(n+d+1)")]) }
}
