import CotflowCore
import Foundation

/// The CoT loss of the reduced model for single prompts: for each sample covariance S,
/// (1/2) sum_{i<k} ||M_i(S)||_F^2 with M_i = V S (W - I) - (V S W + eta S) P^i, P = I - eta S,
/// V = diag(v), W = diag(w): the per-prompt loss averaged over w* (MODEL.md section 5), whose mean
/// over Wishart S is `ReducedLoss`.
///
/// - Parameter covariances: `count` blocks of d x d row-major matrices S.
public func reducedPromptLosses(covariances: [Double], count: Int, d: Int, v: [Double], w: [Double], eta e: Double, k: Int) -> [Double] {
    precondition(covariances.count == count * d * d && v.count == d && w.count == d, "reducedPromptLosses: sizes do not match")
    var values: [Double] = []
    values.reserveCapacity(count)
    var power = [Double](repeating: 0, count: d * d), next = power
    var a = power, b = power
    for p in 0..<count {
        let base = p * d * d
        for r in 0..<d { for c in 0..<d {
            let s = covariances[base + r * d + c]
            a[r * d + c] = v[r] * s * (w[c] - 1)
            b[r * d + c] = v[r] * s * w[c] + e * s
        } }
        for i in 0..<(d * d) { power[i] = 0 }
        for r in 0..<d { power[r * d + r] = 1 }
        var total = 0.0
        for _ in 0..<k {
            for r in 0..<d { for c in 0..<d {
                var bp = 0.0
                for q in 0..<d { bp += b[r * d + q] * power[q * d + c] }
                let m = a[r * d + c] - bp
                total += m * m
            } }
            for r in 0..<d { for c in 0..<d {
                var ps = 0.0
                for q in 0..<d { ps += power[r * d + q] * covariances[base + q * d + c] }
                next[r * d + c] = power[r * d + c] - e * ps
            } }
            swap(&power, &next)
        }
        values.append(0.5 * total)
    }
    return values
}

/// The constant GD step c minimising the exact E tr (I - c S)^{2k} (convex in c), by golden-section
/// search on [0, 2 eta], and the loss there.
public func bestConstantStep(n: Int, d: Int, k: Int, eta: Double) -> (step: Double, loss: Double) {
    func f(_ c: Double) -> Double { gdChainLoss(n: n, d: d, k: k, eta: Rational(exactly: c)).doubleValue }
    let g = (5.0.squareRoot() - 1) / 2
    var (a, b) = (0.0, 2 * eta)
    var (x1, x2) = (b - g * (b - a), a + g * (b - a))
    var (f1, f2) = (f(x1), f(x2))
    for _ in 0..<50 {
        if f1 < f2 { (b, x2, f2) = (x2, x1, f1); x1 = b - g * (b - a); f1 = f(x1) } else { (a, x1, f1) = (x1, x2, f2); x2 = a + g * (b - a); f2 = f(x2) }
    }
    let c = (a + b) / 2
    return (c, f(c))
}
