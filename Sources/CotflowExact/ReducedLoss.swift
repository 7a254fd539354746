import BigInt
import CotflowCore
import Foundation

/// The exact population CoT loss of the reduced model `Vt = diag(v)`, `Wt = diag(w)`
/// (MODEL.md section 5): `L = (1/2) sum_{i<k} E tr(M_i^T M_i)`,
/// `M_i = Vt S (Wt - I) - (Vt S Wt + eta S) P^i`, `P = I - eta S`, `S = W/n`.
///
/// Method. In deviations `p = v + eta`, `q = w - 1` one has exactly
/// `M_i = Vt S Dq Q_i - Dp S P^i` with `Q_i = I - P^i`, hence
/// `L = (1/2)[T(q, v∘v, q; F_A) - 2 T(q, v∘p, 1; F_B) + T(1, p∘p, 1; F_C)]` with
/// `T(x, y, z; F) = E tr(Dx S Dy S Dz F(S))`, `F_A = sum_i Q_i^2`, `F_B = sum_i P^i Q_i`,
/// `F_C = sum_i P^{2i}`. Each `T` is fixed by the four pattern scalars of `E[S_ab S_bc F_ca]`:
/// `T = T_none XYZ + (T_ab - T_none)[(Σx∘y)Z + X(Σy∘z)] + (T_ac - T_none) Y (Σx∘z) + c_all Σx∘y∘z`.
/// The pattern scalars are exact rationals (Wishart moments, see `patternScalars`), computed
/// once; the loss is then a fixed cubic polynomial in eight coordinate sums
/// (Σq, Σv², Σqv², Σq², Σq²v², Σvp, Σqvp, Σp²), so loss and gradient cost O(d), the
/// Hessian O(d²). The loss is exactly zero at the construction `p = q = 0`.
public final class ReducedLoss: Sendable {
    public let n: Int, d: Int, k: Int
    public let eta: Rational
    public var etaValue: Double { etaDouble }

    let etaDouble: Double
    private let patterns: [String: PatternScalars]
    /// Exact constants of `f = a1 Sq² Svv + a2 Sqvv Sq + a3 Svv Sqq + a4 Sqqvv - b1 Sq Svp - b2 Sqvp + c Spp`.
    let exact: [Rational]
    /// The same constants in double-double, for the error-bounded evaluation.
    let bounded: [Bounded]
    /// And in double, for the first tier.
    let boundedDouble: [BoundedDouble]
    /// eta in double-double, converted once (converting the rational at every evaluation of the
    /// second tier took most of a stiff flow's time).
    let boundedEta: Bounded

    /// - Parameter progress: told after each power of S, with the moments' degree reached (of 2k)
    ///   and the fraction of the estimated work done (`ExactWork`: the higher degrees cost most).
    /// - Throws: `ExactError.invalidArgument` unless n, d, k >= 1 and eta > 0.
    public init(n: Int, d: Int, k: Int, eta: Rational, progress: ((ProgressReport) -> Void)? = nil) throws {
        guard n >= 1, d >= 1, k >= 1 else { throw ExactError.invalidArgument("n, d, k must be >= 1 (got n=\(n), d=\(d), k=\(k))") }
        guard eta > Rational.zero else { throw ExactError.invalidArgument("eta must be > 0 (got \(eta))") }
        self.n = n; self.d = d; self.k = k; self.eta = eta
        etaDouble = eta.doubleValue
        let moments = WishartMoments.shared(n: n, d: d)
        let maxPower = 2 * (k - 1)
        // Coefficients of S^m in G1 = sum_{i<k} P^i and G2 = sum_{i<k} P^{2i}.
        var g1: [Rational] = [], g2: [Rational] = []
        var minusEtaPower = Rational.one
        for m in 0...maxPower {
            var s1 = BigInt(0), s2 = BigInt(0)
            for i in 0..<k { s1 += binomial(i, m); s2 += binomial(2 * i, m) }
            g1.append(Rational(s1) * minusEtaPower)
            g2.append(Rational(s2) * minusEtaPower)
            minusEtaPower *= -eta
        }
        // F_A = k I - 2 G1 + G2, F_B = G1 - G2, F_C = G2.
        var fA = PatternScalars.zero, fB = PatternScalars.zero, fC = PatternScalars.zero
        let work = progress.map { _ in (0...(maxPower + 2)).map { ExactWork.moments(degree: $0, n: n, d: d) } }
        for m in 0...maxPower {
            let t = patternScalars(power: m, moments: moments)
            if let progress, let work {
                // patternScalars(power: m) needs the moments of degree up to m + 2.
                progress(ProgressReport(phase: ReducedLoss.phaseName, done: m + 2, total: maxPower + 2, unit: "moment degrees",
                                        work: work[m + 2] / work[maxPower + 2]))
            }
            let cA = (m == 0 ? Rational(k) : .zero) - Rational(2) * g1[m] + g2[m]
            fA = fA + cA * t
            fB = fB + (g1[m] - g2[m]) * t
            fC = fC + g2[m] * t
        }
        patterns = ["FA": fA, "FB": fB, "FC": fC]
        let half = Rational(1, 2)
        let dr = Rational(d)
        let cTotal = fC.none * dr * dr + Rational(2) * dr * (fC.ab - fC.none) + dr * (fC.ac - fC.none) + fC.cAll
        let ex: [Rational] = [
            half * fA.none,
            fA.ab - fA.none,
            half * (fA.ac - fA.none),
            half * fA.cAll,
            fB.none * dr + (fB.ab - fB.none) + (fB.ac - fB.none),
            (fB.ab - fB.none) * dr + fB.cAll,
            half * cTotal,
        ]
        exact = ex
        bounded = ex.map { Bounded($0) }
        boundedDouble = ex.map { BoundedDouble($0.doubleValue, abs($0.doubleValue)) }
        boundedEta = Bounded(eta)
    }

    /// Exact rational coefficients: pattern scalars `FA.all`, `FA.ab`, `FA.ac`, `FA.none`
    /// (likewise FB, FC) and the constants a1..a4, b1, b2, c of the cubic in coordinate sums.
    public var coefficients: [String: Rational] {
        var out: [String: Rational] = [:]
        for (name, t) in patterns {
            out[name + ".all"] = t.all; out[name + ".ab"] = t.ab; out[name + ".ac"] = t.ac; out[name + ".none"] = t.none
        }
        for (name, value) in zip(["a1", "a2", "a3", "a4", "b1", "b2", "c"], exact) { out[name] = value }
        return out
    }

    /// Exact loss at rational v, w (length d each), W24 = -1.
    public func exactLoss(v: [Rational], w: [Rational]) -> Rational {
        exactLoss(v: v, w: w, u: -Rational.one)
    }

    /// Loss (error-bounded, see `evaluate`) from deviations p = v + eta, q = w - 1 (W24 = -1).
    public func loss(p: [Double], q: [Double]) -> Double {
        evaluate(pi: p, z: q, u: -1, freeU: false, gradient: false).loss
    }

    /// Loss and gradient (dL/dp = dL/dv, dL/dq = dL/dw) in O(d) time (W24 = -1).
    public func lossAndGradient(p: [Double], q: [Double]) -> (loss: Double, gradP: [Double], gradQ: [Double]) {
        let r = evaluate(pi: p, z: q, u: -1, freeU: false)
        return (r.loss, r.gradientV, r.gradientW)
    }

    /// Hessian of L w.r.t. (p, q), 2d x 2d row-major (order p_1..p_d, q_1..q_d), W24 = -1.
    public func hessian(p: [Double], q: [Double]) -> [Double] {
        let full = hessian(pi: p, z: q, u: -1)
        let size = 2 * d, fullSize = 2 * d + 1
        var h = [Double](repeating: 0, count: size * size)
        for i in 0..<size { for j in 0..<size { h[i * size + j] = full[i * fullSize + j] } }
        return h
    }
}

extension ReducedLoss {
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: ReducedLoss] = [:]

    /// The loss of (n, d, k, eta), built once per process: a run's estimate reads the stiffness
    /// of its flow from it, and the run then uses the same loss.
    public static func shared(n: Int, d: Int, k: Int, eta: Rational, progress: ((ProgressReport) -> Void)? = nil) throws -> ReducedLoss {
        let key = "\(n),\(d),\(k),\(eta)"
        registryLock.lock()
        let known = registry[key]
        registryLock.unlock()
        if let known { return known }
        let loss = try ReducedLoss(n: n, d: d, k: k, eta: eta, progress: progress)
        registryLock.lock()
        defer { registryLock.unlock() }
        if let other = registry[key] { return other }
        registry[key] = loss
        return loss
    }
}
