import BigInt
import CotflowSupport

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

    private let etaDouble: Double
    private let patterns: [String: PatternScalars]
    /// Exact constants of `f = a1 Sq² Svv + a2 Sqvv Sq + a3 Svv Sqq + a4 Sqqvv - b1 Sq Svp - b2 Sqvp + c Spp`.
    private let exact: [Rational]
    private let a1, a2, a3, a4, b1, b2, c: Double

    /// - Throws: `ExactError.invalidArgument` unless n, d, k >= 1 and eta > 0.
    public init(n: Int, d: Int, k: Int, eta: Rational) throws {
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
        for m in 0...maxPower {
            let t = patternScalars(power: m, moments: moments)
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
        let dbl = ex.map(\.doubleValue)
        a1 = dbl[0]; a2 = dbl[1]; a3 = dbl[2]; a4 = dbl[3]; b1 = dbl[4]; b2 = dbl[5]; c = dbl[6]
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

    /// Exact loss at rational v, w (length d each).
    public func exactLoss(v: [Rational], w: [Rational]) -> Rational {
        precondition(v.count == d && w.count == d, "v and w must have length d")
        var sq = Rational.zero, svv = Rational.zero, sqvv = Rational.zero, sqq = Rational.zero
        var sqqvv = Rational.zero, svp = Rational.zero, sqvp = Rational.zero, spp = Rational.zero
        for j in 0..<d {
            let vj = v[j], pj = v[j] + eta, qj = w[j] - Rational.one
            let vv = vj * vj, vp = vj * pj
            sq += qj; svv += vv; sqvv += qj * vv; sqq += qj * qj; sqqvv += qj * qj * vv
            svp += vp; sqvp += qj * vp; spp += pj * pj
        }
        let e = exact
        return e[0] * sq * sq * svv + e[1] * sqvv * sq + e[2] * svv * sqq + e[3] * sqqvv
            - e[4] * sq * svp - e[5] * sqvp + e[6] * spp
    }

    private struct Sums {
        var sq = 0.0, svv = 0.0, sqvv = 0.0, sqq = 0.0, sqqvv = 0.0, svp = 0.0, sqvp = 0.0, spp = 0.0
    }

    private func sums(_ p: [Double], _ q: [Double]) -> Sums {
        precondition(p.count == d && q.count == d, "p and q must have length d")
        var s = Sums()
        for j in 0..<d {
            let pj = p[j], qj = q[j], vj = pj - etaDouble
            let vv = vj * vj, vp = vj * pj
            s.sq += qj; s.svv += vv; s.sqvv += qj * vv; s.sqq += qj * qj; s.sqqvv += qj * qj * vv
            s.svp += vp; s.sqvp += qj * vp; s.spp += pj * pj
        }
        return s
    }

    private func value(_ s: Sums) -> Double {
        a1 * s.sq * s.sq * s.svv + a2 * s.sqvv * s.sq + a3 * s.svv * s.sqq + a4 * s.sqqvv
            - b1 * s.sq * s.svp - b2 * s.sqvp + c * s.spp
    }

    /// Loss in double precision from deviations p = v + eta, q = w - 1.
    public func loss(p: [Double], q: [Double]) -> Double { value(sums(p, q)) }

    /// Partial derivatives of f with respect to the eight sums.
    private func partials(_ s: Sums) -> (fq: Double, fvv: Double, fqvv: Double, fqq: Double, fqqvv: Double, fvp: Double, fqvp: Double, fpp: Double) {
        (2 * a1 * s.sq * s.svv + a2 * s.sqvv - b1 * s.svp,
         a1 * s.sq * s.sq + a3 * s.sqq,
         a2 * s.sq,
         a3 * s.svv,
         a4,
         -b1 * s.sq,
         -b2,
         c)
    }

    /// Loss and gradient (dL/dp = dL/dv, dL/dq = dL/dw) in O(d) time.
    public func lossAndGradient(p: [Double], q: [Double]) -> (loss: Double, gradP: [Double], gradQ: [Double]) {
        let s = sums(p, q)
        let f = partials(s)
        var gp = [Double](repeating: 0, count: d), gq = [Double](repeating: 0, count: d)
        for j in 0..<d {
            let pj = p[j], qj = q[j], vj = pj - etaDouble
            gp[j] = f.fvv * 2 * vj + f.fqvv * 2 * qj * vj + f.fqqvv * 2 * qj * qj * vj
                + f.fvp * (vj + pj) + f.fqvp * qj * (vj + pj) + f.fpp * 2 * pj
            gq[j] = f.fq + f.fqvv * vj * vj + f.fqq * 2 * qj + f.fqqvv * 2 * qj * vj * vj + f.fqvp * vj * pj
        }
        return (value(s), gp, gq)
    }

    /// Hessian of L w.r.t. (p, q), 2d x 2d row-major (order p_1..p_d, q_1..q_d).
    public func hessian(p: [Double], q: [Double]) -> [Double] {
        let s = sums(p, q)
        let f = partials(s)
        let size = 2 * d
        var h = [Double](repeating: 0, count: size * size)
        // Gradients of the sums that enter f nonlinearly.
        var gq = [Double](repeating: 0, count: size), gvv = gq, gqvv = gq, gqq = gq, gvp = gq
        for j in 0..<d {
            let pj = p[j], qj = q[j], vj = pj - etaDouble
            gq[d + j] = 1
            gvv[j] = 2 * vj
            gqvv[j] = 2 * qj * vj; gqvv[d + j] = vj * vj
            gqq[d + j] = 2 * qj
            gvp[j] = vj + pj
        }
        // Nonzero second partials of f: (q,q) 2 a1 Svv, (q,vv) 2 a1 Sq, (q,qvv) a2, (q,vp) -b1, (vv,qq) a3.
        func addSym(_ coef: Double, _ x: [Double], _ y: [Double]) {
            if coef == 0 { return }
            for i in 0..<size where x[i] != 0 || y[i] != 0 {
                for j in 0..<size { h[i * size + j] += coef * (x[i] * y[j] + y[i] * x[j]) }
            }
        }
        addSym(a1 * s.svv, gq, gq)  // 2 a1 Svv g_q g_q^T, written as coef*(x y^T + y x^T) with x = y
        addSym(2 * a1 * s.sq, gq, gvv)
        addSym(a2, gq, gqvv)
        addSym(-b1, gq, gvp)
        addSym(a3, gvv, gqq)
        // Second derivatives of the sums themselves (block diagonal in the coordinate j).
        for j in 0..<d {
            let pj = p[j], qj = q[j], vj = pj - etaDouble
            let pp = f.fvv * 2 + f.fqvv * 2 * qj + f.fqqvv * 2 * qj * qj + f.fvp * 2 + f.fqvp * 2 * qj + f.fpp * 2
            let pq = f.fqvv * 2 * vj + f.fqqvv * 4 * qj * vj + f.fqvp * (vj + pj)
            let qq = f.fqq * 2 + f.fqqvv * 2 * vj * vj
            h[j * size + j] += pp
            h[j * size + d + j] += pq
            h[(d + j) * size + j] += pq
            h[(d + j) * size + d + j] += qq
        }
        return h
    }
}
