import BigInt
import CotflowCore

/// One evaluation of the reduced loss with `W24 = u` (MODEL.md section 8) at a point given in
/// deviations from the zero-loss family, `pi_j = eta - u v_j`, `z_j = w_j + u`.
public struct ReducedEvaluation: Sendable {
    /// The loss, never negative, with `|loss - exact loss| <= lossErrorBound`.
    public let loss: Double
    public let lossErrorBound: Double
    /// Gradient in (v, w, u).
    public let gradientV: [Double]
    public let gradientW: [Double]
    public let gradientU: Double
    /// Gradient-flow velocity of the state (pi, z[, u]): `d pi_j/dt = u g_vj + v_j g_u`,
    /// `dz_j/dt = -g_wj - g_u`, `du/dt = -g_u` (the u terms only when u is free).
    public let velocity: [Double]
    /// Bound on the largest error of a velocity component.
    public let velocityErrorBound: Double
    /// The arithmetic that met the required accuracy.
    public let tier: EvaluationTier
}

/// Arithmetic of one evaluation, cheapest first.
public enum EvaluationTier: Int, Sendable, Comparable {
    case double, doubleDouble, exact
    public static func < (a: EvaluationTier, b: EvaluationTier) -> Bool { a.rawValue < b.rawValue }
}

extension ReducedLoss {
    /// Relative accuracy that each evaluation guarantees for the loss.
    static let requiredRelativeAccuracy = 1e-10

    /// Loss, gradient and flow velocity with a bounded error, in three tiers: double with a running
    /// error bound; double-double where that bound is too large; exact rationals where the
    /// coefficients cancel beyond double-double (rare: heavy-tailed settings).
    /// `freeU`: u is a state variable (the velocity then has 2d+1 components, else 2d).
    /// `velocityAccuracy`: guaranteed bound on each velocity component's error relative to the
    /// largest component (the flow uses a tenth of its relative tolerance).
    public func evaluate(pi: [Double], z: [Double], u: Double, freeU: Bool, gradient: Bool = true,
                         velocityAccuracy: Double = 1e-10) -> ReducedEvaluation {
        precondition(pi.count == d && z.count == d, "pi and z must have length d")
        // Operations deep: the sums, the gradient of f in them, the sum for g_u, the velocity.
        let depth = 2 * summationDepth(d) + 64
        let finiteInputs = u.isFinite && pi.allSatisfy(\.isFinite) && z.allSatisfy(\.isFinite)
        func accept<T: LossArithmetic>(_ r: (loss: T, gv: [T], gw: [T], gu: T, velocity: [T]), value: (T) -> Double,
                                       bound: (T) -> Double, tier: EvaluationTier) -> ReducedEvaluation? {
            let loss = value(r.loss), lossBound = bound(r.loss)
            var velocity = [Double](repeating: 0, count: r.velocity.count)
            var velocityBound = 0.0, scale = 0.0, finite = loss.isFinite
            for (i, x) in r.velocity.enumerated() {
                let y = value(x)
                velocity[i] = y
                velocityBound = max(velocityBound, bound(x))
                scale = max(scale, abs(y))
                finite = finite && y.isFinite
            }
            // Non-finite inputs or an overflow are no cancellation: a higher tier would only
            // produce the same non-finite numbers more slowly.
            guard (lossBound <= ReducedLoss.requiredRelativeAccuracy * abs(loss)
                   && velocityBound <= velocityAccuracy * scale && finite)
                   || !finiteInputs || !lossBound.isFinite || tier == .exact else { return nil }
            return ReducedEvaluation(loss: max(loss, 0), lossErrorBound: lossBound,
                                     gradientV: r.gv.map(value), gradientW: r.gw.map(value), gradientU: value(r.gu),
                                     velocity: velocity, velocityErrorBound: velocityBound, tier: tier)
        }
        let size = gradient ? d : 0, velocitySize = gradient ? 2 * d + (freeU ? 1 : 0) : 0
        var gv = [Double](repeating: 0, count: size), gw = gv, velocity = [Double](repeating: 0, count: velocitySize)
        let r1 = pi.withUnsafeBufferPointer { p in
            z.withUnsafeBufferPointer { q in
                gv.withUnsafeMutableBufferPointer { gvb in
                    gw.withUnsafeMutableBufferPointer { gwb in
                        velocity.withUnsafeMutableBufferPointer { vb in
                            doubleTier(pi: p.baseAddress!, z: q.baseAddress!, u: u, freeU: freeU, gradient: gradient,
                                       gv: gvb.baseAddress, gw: gwb.baseAddress, velocity: vb.baseAddress,
                                       velocityAccuracy: velocityAccuracy, finiteInputs: finiteInputs)
                        }
                    }
                }
            }
        }
        if let r = r1 {
            return ReducedEvaluation(loss: max(r.loss, 0), lossErrorBound: r.lossBound, gradientV: gv, gradientW: gw, gradientU: r.gu,
                                     velocity: velocity, velocityErrorBound: r.velocityBound, tier: .double)
        }
        let r2 = evaluatePolynomial(bounded, eta: boundedEta, pi: pi, z: z, u: u, freeU: freeU, gradient: gradient)
        if let result = accept(r2, value: \.value, bound: { $0.errorBound(depth: depth) }, tier: .doubleDouble) { return result }
        let r3 = evaluatePolynomial(exact, eta: eta, pi: pi, z: z, u: u, freeU: freeU, gradient: gradient)
        return accept(r3, value: \.doubleValue, bound: { abs($0.doubleValue).ulp }, tier: .exact)!
    }

    /// The flow's right-hand side: the velocity of `evaluate` (the same numbers) written to `out`
    /// (2d components, 2d+1 when `freeU`), without intermediate arrays where double precision
    /// suffices. Returns the tier that met the accuracy.
    public func velocity(pi: UnsafePointer<Double>, z: UnsafePointer<Double>, u: Double, freeU: Bool,
                         velocityAccuracy: Double, into out: UnsafeMutablePointer<Double>) -> EvaluationTier {
        var finiteInputs = u.isFinite
        for j in 0..<d where !(pi[j].isFinite && z[j].isFinite) { finiteInputs = false }
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 2 * d)
        defer { scratch.deallocate() }
        if doubleTier(pi: pi, z: z, u: u, freeU: freeU, gradient: true, gv: scratch, gw: scratch + d, velocity: out,
                      velocityAccuracy: velocityAccuracy, finiteInputs: finiteInputs) != nil {
            return .double
        }
        let r = evaluate(pi: Array(UnsafeBufferPointer(start: pi, count: d)), z: Array(UnsafeBufferPointer(start: z, count: d)),
                         u: u, freeU: freeU, velocityAccuracy: velocityAccuracy)
        for i in r.velocity.indices { out[i] = r.velocity[i] }
        return r.tier
    }

    /// The loss of `evaluate(pi:z:u:freeU:gradient: false)` (the same number), without intermediate
    /// arrays where double precision suffices.
    public func lossValue(pi: UnsafePointer<Double>, z: UnsafePointer<Double>, u: Double) -> Double {
        var finiteInputs = u.isFinite
        for j in 0..<d where !(pi[j].isFinite && z[j].isFinite) { finiteInputs = false }
        if let r = doubleTier(pi: pi, z: z, u: u, freeU: false, gradient: false, gv: nil, gw: nil, velocity: nil,
                              velocityAccuracy: 1e-10, finiteInputs: finiteInputs) {
            return max(r.loss, 0)
        }
        return evaluate(pi: Array(UnsafeBufferPointer(start: pi, count: d)), z: Array(UnsafeBufferPointer(start: z, count: d)),
                        u: u, freeU: false, gradient: false).loss
    }

    /// Tier 1 of `evaluate` in three passes over the coordinates and no arrays: the operations of
    /// `evaluatePolynomial` on `BoundedDouble`, in the same order (so the same values and bounds),
    /// and the acceptance test of `evaluate`. Writes the gradient (x parts) to `gv`, `gw` (needed
    /// when `gradient`; their magnitudes go to a scratch buffer) and the velocity to `velocity`;
    /// returns nil where the bound calls for a higher tier.
    func doubleTier(pi: UnsafePointer<Double>, z: UnsafePointer<Double>, u uD: Double, freeU: Bool, gradient: Bool,
                    gv: UnsafeMutablePointer<Double>?, gw: UnsafeMutablePointer<Double>?, velocity: UnsafeMutablePointer<Double>?,
                    velocityAccuracy: Double, finiteInputs: Bool) -> (loss: Double, lossBound: Double, gu: Double, velocityBound: Double)? {
        typealias B = BoundedDouble
        let depth = 2 * summationDepth(d) + 64
        let g = Double(depth) * BoundedDouble.unitRoundoff
        func bound(_ m: Double) -> Double { g / (1 - g) * m }
        let c = boundedDouble
        let e0 = c[0], e1 = c[1], e2 = c[2], e3 = c[3], e4 = c[4], e5 = c[5], e6 = c[6]
        let eta = B(etaDouble, etaDouble), u = B.from(uD)
        // v_j (value, magnitude), computed once.
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 * d)
        defer { scratch.deallocate() }
        let vx = scratch, vm = scratch + d
        // The eight sums of `LossSums` in the blocks of `BlockedSum` (partial sums of `block`
        // consecutive terms, added to the total in block order), values and magnitudes as lanes.
        // Two blocks at a time: their partial sums are independent, so the additions overlap.
        let block = BlockedSum<B>.blockSize(d)
        @inline(__always) func terms(_ j: Int) -> (SIMD8<Double>, SIMD8<Double>) {
            let pj = B.from(pi[j]), qj = B.from(z[j])
            let vj = (eta - pj) / u
            vx[j] = vj.x; vm[j] = vj.m
            let vv = vj * vj, vp = vj * pj, qq = qj * qj
            let t1 = qj * vv, t4 = qq * vv, t6 = qj * vp, t7 = pj * pj
            return (SIMD8(qj.x, vv.x, t1.x, qq.x, t4.x, vp.x, t6.x, t7.x), SIMD8(qj.m, vv.m, t1.m, qq.m, t4.m, vp.m, t6.m, t7.m))
        }
        var totalX = SIMD8<Double>(), totalM = SIMD8<Double>()
        var partialX = SIMD8<Double>(), partialM = SIMD8<Double>()
        var blockStart = 0
        while blockStart + 2 * block <= d {
            var ax = SIMD8<Double>(), am = SIMD8<Double>(), bx = SIMD8<Double>(), bm = SIMD8<Double>()
            for i in 0..<block {
                let (x1, m1) = terms(blockStart + i), (x2, m2) = terms(blockStart + block + i)
                ax += x1; am += m1; bx += x2; bm += m2
            }
            totalX += ax; totalM += am
            totalX += bx; totalM += bm
            blockStart += 2 * block
        }
        while blockStart < d {
            let blockEnd = min(blockStart + block, d)
            partialX = SIMD8<Double>(); partialM = SIMD8<Double>()
            for j in blockStart..<blockEnd {
                let (x, m) = terms(j)
                partialX += x; partialM += m
            }
            if blockEnd - blockStart == block {
                totalX += partialX; totalM += partialM
                partialX = SIMD8<Double>(); partialM = SIMD8<Double>()
            }
            blockStart = blockEnd
        }
        totalX += partialX; totalM += partialM
        let sq = B(totalX[0], totalM[0]), svv = B(totalX[1], totalM[1]), sqvv = B(totalX[2], totalM[2])
        let sqq = B(totalX[3], totalM[3]), sqqvv = B(totalX[4], totalM[4]), svp = B(totalX[5], totalM[5])
        let sqvp = B(totalX[6], totalM[6]), spp = B(totalX[7], totalM[7])
        let loss = e0 * sq * sq * svv + e1 * sqvv * sq + e2 * svv * sqq + e3 * sqqvv - e4 * sq * svp - e5 * sqvp + e6 * spp
        let lossBound = bound(loss.m)
        func accepted(_ velocityBound: Double, _ scale: Double, _ finite: Bool) -> Bool {
            (lossBound <= ReducedLoss.requiredRelativeAccuracy * abs(loss.x) && velocityBound <= velocityAccuracy * scale && finite)
                || !finiteInputs || !lossBound.isFinite
        }
        guard gradient, let gv, let gw, let velocity else {
            return accepted(0, 0, loss.x.isFinite) ? (loss.x, lossBound, 0, 0) : nil
        }
        let two = B.from(2)
        let fq = two * e0 * sq * svv + e1 * sqvv - e4 * svp
        let fvv = e0 * sq * sq + e2 * sqq
        let fqvv = e1 * sq, fqq = e2 * svv, fqqvv = e3
        let fvp = B.zero - e4 * sq, fqvp = B.zero - e5, fpp = e6
        let twoFqqvv = two * fqqvv, twoFpp = two * fpp, twoFqq = two * fqq
        // Magnitudes of the gradient components, for the velocity's bound.
        let mv = scratch + 2 * d, mw = scratch + 3 * d
        var guTotal = B.zero, guPartial = B.zero
        blockStart = 0
        while blockStart < d {
            let blockEnd = min(blockStart + block, d)
            guPartial = B.zero
            for j in blockStart..<blockEnd {
                let pj = B.from(pi[j]), qj = B.from(z[j]), vj = B(vx[j], vm[j])
                let dv = two * vj * (fvv + fqvv * qj + fqqvv * qj * qj) + pj * (fvp + fqvp * qj)
                let dp = vj * (fvp + fqvp * qj) + twoFpp * pj
                let dq = fq + vj * vj * (fqvv + twoFqqvv * qj) + twoFqq * qj + fqvp * vj * pj
                let gvj = dv - u * dp
                gv[j] = gvj.x; mv[j] = gvj.m
                gw[j] = dq.x; mw[j] = dq.m
                guPartial = guPartial + (dq - vj * dp)
            }
            if blockEnd - blockStart == block { guTotal = guTotal + guPartial; guPartial = B.zero }
            blockStart = blockEnd
        }
        let gU = guTotal + guPartial
        // The velocity; the largest magnitude and |value| (maxima do not depend on the order, and
        // bound() is monotone, so this is the bound of `evaluate`), NaNs skipped as by `max`.
        // Magnitudes of the components go to mv/mw (no longer needed as such).
        let count = freeU ? 2 * d + 1 : 2 * d
        if freeU {
            for j in 0..<d {
                let y = u * B(gv[j], mv[j]) + B(vx[j], vm[j]) * gU
                velocity[j] = y.x; mv[j] = y.m
            }
            for j in 0..<d {
                let y = B.zero - B(gw[j], mw[j]) - gU
                velocity[d + j] = y.x; mw[j] = y.m
            }
        } else {
            for j in 0..<d {
                let y = u * B(gv[j], mv[j])
                velocity[j] = y.x; mv[j] = y.m
            }
            for j in 0..<d {
                let y = B.zero - B(gw[j], mw[j])
                velocity[d + j] = y.x; mw[j] = y.m
            }
        }
        if freeU { velocity[2 * d] = (B.zero - gU).x }
        var largestM = SIMD4<Double>(), largestX = SIMD4<Double>(), finiteCheck = SIMD4<Double>()
        var i = 0
        @inline(__always) func larger(_ a: Double, _ b: Double) -> Double { b > a ? b : a }
        while i + 4 <= 2 * d {
            for l in 0..<4 {
                let x = velocity[i + l]
                largestM[l] = larger(largestM[l], mv[i + l])
                largestX[l] = larger(largestX[l], abs(x))
                finiteCheck[l] += x * 0
            }
            i += 4
        }
        var m = 0.0, scale = 0.0, nonFinite = finiteCheck.sum() != 0 || !loss.x.isFinite
        for l in 0..<4 { m = larger(m, largestM[l]); scale = larger(scale, largestX[l]) }
        while i < count {
            let x = velocity[i], mi = i < 2 * d ? mv[i] : (B.zero - gU).m
            m = larger(m, mi); scale = larger(scale, abs(x))
            nonFinite = nonFinite || !x.isFinite
            i += 1
        }
        let velocityBound = bound(m)
        return accepted(velocityBound, scale, !nonFinite) ? (loss.x, lossBound, gU.x, velocityBound) : nil
    }

    /// The exact loss at the state (pi, z, u), every double taken at its exact value.
    /// The sums are accumulated as big integers over one common denominator (doubles are dyadic),
    /// which costs O(d) big-integer products and no gcd per term.
    public func exactLoss(pi: [Double], z: [Double], u: Double) -> Rational {
        precondition(pi.count == d && z.count == d && u != 0, "pi and z must have length d, u non-zero")
        // Every double as an integer over 2^scale.
        func parts(_ x: Double) -> (BigInt, Int) {
            precondition(x.isFinite, "exact loss needs finite values")
            if x == 0 { return (0, 0) }
            let m = BigInt(Int64(x.significandBitPattern | (x.isNormal ? (1 << 52) : 0)))
            let e = x.isNormal ? Int(x.exponent) - 52 : -1074
            return (x < 0 ? -m : m, e)
        }
        let all = (pi + z + [u]).map(parts)
        let scale = min(0, all.filter { $0.0 != 0 }.map(\.1).min() ?? 0)
        let ints = all.map { $0.0 << ($0.1 - scale) }
        let dn = BigInt(1) << -scale  // pi_j = P_j / dn, z_j = Z_j / dn, u = U / dn
        let P = Array(ints[0..<d]), Z = Array(ints[d..<(2 * d)]), U = ints[2 * d]
        let a = eta.numerator, b = eta.denominator
        // v_j = (eta - pi_j) / u = V_j / (b U) with V_j = a dn - b P_j.
        let V = P.map { a * dn - b * $0 }
        var sq = BigInt(0), svv = BigInt(0), sqvv = BigInt(0), sqq = BigInt(0), sqqvv = BigInt(0)
        var svp = BigInt(0), sqvp = BigInt(0), spp = BigInt(0)
        for j in 0..<d {
            let vv = V[j] * V[j], qq = Z[j] * Z[j], vp = V[j] * P[j]
            sq += Z[j]; svv += vv; sqvv += Z[j] * vv; sqq += qq; sqqvv += qq * vv
            svp += vp; sqvp += Z[j] * vp; spp += P[j] * P[j]
        }
        let bu = b * U
        var s = LossSums<Rational>(v: [], pi: [], z: [])
        s.sq = Rational(sq, dn); s.svv = Rational(svv, bu * bu); s.sqvv = Rational(sqvv, dn * bu * bu)
        s.sqq = Rational(sqq, dn * dn); s.sqqvv = Rational(sqqvv, dn * dn * bu * bu)
        s.svp = Rational(svp, bu * dn); s.sqvp = Rational(sqvp, dn * dn * bu); s.spp = Rational(spp, dn * dn)
        return s.value(exact)
    }

    /// The exact loss at rational v, w and W24 = u.
    public func exactLoss(v: [Rational], w: [Rational], u: Rational) -> Rational {
        precondition(v.count == d && w.count == d, "v and w must have length d")
        let s = LossSums(v: v, pi: v.map { eta - u * $0 }, z: w.map { $0 + u })
        return s.value(exact)
    }

    /// Hessian of the loss in (v_1..v_d, w_1..w_d, u), (2d+1) x (2d+1) row-major, in double
    /// precision (it serves as the Jacobian of implicit steppers, whose Newton iteration
    /// tolerates rounding in it).
    public func hessian(pi: [Double], z: [Double], u: Double) -> [Double] {
        precondition(pi.count == d && z.count == d, "pi and z must have length d")
        let e = boundedDouble.map(\.x)  // the coefficients rounded to double, converted once
        let size = 2 * d + 1, iu = 2 * d
        let v = pi.map { (etaValue - $0) / u }
        var sq = 0.0, svv = 0.0, sqq = 0.0, sqvv = 0.0, svp = 0.0
        for j in 0..<d {
            sq += z[j]; svv += v[j] * v[j]; sqq += z[j] * z[j]; sqvv += z[j] * v[j] * v[j]; svp += v[j] * pi[j]
        }
        let fvv = e[0] * sq * sq + e[2] * sqq, fqvv = e[1] * sq, fqq = e[2] * svv, fqqvv = e[3]
        let fvp = -e[4] * sq, fqvp = -e[5], fpp = e[6]
        var h = [Double](repeating: 0, count: size * size)
        // Gradients in (v, w, u) of the sums that enter f nonlinearly.
        var gq = [Double](repeating: 0, count: size), gvv = gq, gqvv = gq, gqq = gq, gvp = gq
        for j in 0..<d {
            gq[d + j] = 1; gq[iu] += 1
            gvv[j] = 2 * v[j]
            gqvv[j] = 2 * z[j] * v[j]; gqvv[d + j] = v[j] * v[j]; gqvv[iu] += v[j] * v[j]
            gqq[d + j] = 2 * z[j]; gqq[iu] += 2 * z[j]
            gvp[j] = pi[j] - u * v[j]; gvp[iu] -= v[j] * v[j]
        }
        func addSym(_ coef: Double, _ x: [Double], _ y: [Double]) {
            if coef == 0 { return }
            for i in 0..<size where x[i] != 0 || y[i] != 0 {
                for j in 0..<size { h[i * size + j] += coef * (x[i] * y[j] + y[i] * x[j]) }
            }
        }
        // Nonzero second partials of f in the sums: (q,q) 2 e0 Svv, (q,vv) 2 e0 Sq, (q,qvv) e1, (q,vp) -e4, (vv,qq) e2.
        addSym(e[0] * svv, gq, gq)
        addSym(2 * e[0] * sq, gq, gvv)
        addSym(e[1], gq, gqvv)
        addSym(-e[4], gq, gvp)
        addSym(e[2], gvv, gqq)
        // Second derivatives of the sums in (v_j, pi_j, z_j), pulled back through
        // pi_j = eta - u v_j, z_j = w_j + u, plus f_pi_j times the second derivative of pi_j.
        for j in 0..<d {
            let vj = v[j], pj = pi[j], qj = z[j]
            let bvv = 2 * fvv + 2 * fqvv * qj + 2 * fqqvv * qj * qj
            let bvp = fvp + fqvp * qj
            let bvq = 2 * fqvv * vj + 4 * fqqvv * qj * vj + fqvp * pj
            let bpp = 2 * fpp
            let bpq = fqvp * vj
            let bqq = 2 * fqq + 2 * fqqvv * vj * vj
            let b = [[bvv, bvp, bvq], [bvp, bpp, bpq], [bvq, bpq, bqq]]
            // Rows of d(v_j, pi_j, z_j)/d(v_j, w_j, u).
            let jac = [[1.0, 0, 0], [-u, 0, -vj], [0, 1.0, 1.0]]
            let index = [j, d + j, iu]
            for a in 0..<3 {
                for c in 0..<3 {
                    var s = 0.0
                    for x in 0..<3 { for y in 0..<3 { s += jac[x][a] * b[x][y] * jac[y][c] } }
                    h[index[a] * size + index[c]] += s
                }
            }
            let fpj = fvp * vj + fqvp * qj * vj + 2 * fpp * pj  // df/dpi_j; d^2 pi_j / dv_j du = -1
            h[j * size + iu] -= fpj
            h[iu * size + j] -= fpj
        }
        return h
    }
}

/// Blocked summation: terms are added in blocks of about sqrt(n), then the block sums, so a sum of n
/// terms is at most `summationDepth(n)` additions deep (a small rounding-error bound, no allocation).
struct BlockedSum<T: LossArithmetic> {
    let block: Int
    private var total = T.zero, partial = T.zero, count = 0
    init(terms n: Int) { block = BlockedSum.blockSize(n) }
    static func blockSize(_ n: Int) -> Int { max(1, Int(Double(n).squareRoot().rounded(.up))) }
    mutating func add(_ x: T) {
        partial = partial + x
        count += 1
        if count == block { total = total + partial; partial = T.zero; count = 0 }
    }
    var sum: T { total + partial }
}

func summationDepth(_ n: Int) -> Int {
    let b = BlockedSum<Rational>.blockSize(n)
    return b + (n + b - 1) / b + 1
}

/// The eight coordinate sums of the reduced loss (see `ReducedLoss`), with q = z, p = pi.
struct LossSums<T: LossArithmetic> {
    var sq = T.zero, svv = T.zero, sqvv = T.zero, sqq = T.zero, sqqvv = T.zero, svp = T.zero, sqvp = T.zero, spp = T.zero

    init(v: [T], pi: [T], z: [T]) {
        let d = v.count
        var a = [BlockedSum<T>](repeating: BlockedSum(terms: d), count: 8)
        for j in 0..<d {
            let vj = v[j], pj = pi[j], qj = z[j]
            let vv = vj * vj, vp = vj * pj, qq = qj * qj
            a[0].add(qj); a[1].add(vv); a[2].add(qj * vv); a[3].add(qq)
            a[4].add(qq * vv); a[5].add(vp); a[6].add(qj * vp); a[7].add(pj * pj)
        }
        sq = a[0].sum; svv = a[1].sum; sqvv = a[2].sum; sqq = a[3].sum
        sqqvv = a[4].sum; svp = a[5].sum; sqvp = a[6].sum; spp = a[7].sum
    }

    /// `f = e0 Sq² Svv + e1 Sqvv Sq + e2 Svv Sqq + e3 Sqqvv - e4 Sq Svp - e5 Sqvp + e6 Spp`.
    func value(_ e: [T]) -> T {
        e[0] * sq * sq * svv + e[1] * sqvv * sq + e[2] * svv * sqq + e[3] * sqqvv
            - e[4] * sq * svp - e[5] * sqvp + e[6] * spp
    }
}

/// Loss, gradient in (v, w, u) and state velocity in arithmetic T (one formula for the exact and
/// the error-bounded evaluation).
func evaluatePolynomial<T: LossArithmetic>(_ e: [T], eta: T, pi piD: [Double], z zD: [Double], u uD: Double,
                                          freeU: Bool, gradient: Bool) -> (loss: T, gv: [T], gw: [T], gu: T, velocity: [T]) {
    let d = piD.count
    let u = T.from(uD)
    let pi = piD.map { T.from($0) }, z = zD.map { T.from($0) }
    let v = pi.map { (eta - $0) / u }
    let s = LossSums(v: v, pi: pi, z: z)
    let loss = s.value(e)
    guard gradient else { return (loss, [], [], T.zero, []) }
    let two = T.from(2)
    // Partial derivatives of f in the sums.
    let fq = two * e[0] * s.sq * s.svv + e[1] * s.sqvv - e[4] * s.svp
    let fvv = e[0] * s.sq * s.sq + e[2] * s.sqq
    let fqvv = e[1] * s.sq, fqq = e[2] * s.svv, fqqvv = e[3]
    let fvp = T.zero - e[4] * s.sq, fqvp = T.zero - e[5], fpp = e[6]
    var gv: [T] = [], gw: [T] = [], gu = BlockedSum<T>(terms: d)
    gv.reserveCapacity(d); gw.reserveCapacity(d)
    for j in 0..<d {
        let vj = v[j], pj = pi[j], qj = z[j]
        // Derivatives in (v_j, pi_j, z_j), then through pi_j = eta - u v_j, z_j = w_j + u.
        let dv = two * vj * (fvv + fqvv * qj + fqqvv * qj * qj) + pj * (fvp + fqvp * qj)
        let dp = vj * (fvp + fqvp * qj) + two * fpp * pj
        let dq = fq + vj * vj * (fqvv + two * fqqvv * qj) + two * fqq * qj + fqvp * vj * pj
        gv.append(dv - u * dp)
        gw.append(dq)
        gu.add(dq - vj * dp)
    }
    return (loss, gv, gw, gu.sum, velocity(gv: gv, gw: gw, gu: gu.sum, v: v, u: u, freeU: freeU))
}

/// The state velocity from the gradient in (v, w, u).
private func velocity<T: LossArithmetic>(gv: [T], gw: [T], gu: T, v: [T], u: T, freeU: Bool) -> [T] {
    let d = gv.count
    var velocity: [T] = []
    velocity.reserveCapacity(2 * d + 1)
    if freeU {
        for j in 0..<d { velocity.append(u * gv[j] + v[j] * gu) }
        for j in 0..<d { velocity.append(T.zero - gw[j] - gu) }
        velocity.append(T.zero - gu)
    } else {
        for j in 0..<d { velocity.append(u * gv[j]) }
        for j in 0..<d { velocity.append(T.zero - gw[j]) }
    }
    return velocity
}
