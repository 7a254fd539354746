import BigInt
import CotflowCore
import Foundation

/// Exact single-trace moments `E tr (Sigma W)^m`, m = 0...maxPower, for `W ~ W_d(n, I)`, through
/// zonal polynomials (Jack polynomials J_kappa at alpha = 2; notes/exact-moments.md, section 7):
///
///     E tr (Sigma W)^m = sum_{kappa |- m} theta_kappa prod_{s in kappa} (n + 2 a'(s) - l'(s)) J_kappa(Sigma),
///     theta_kappa = 2 m prod_{s in kappa, s != (1,1)} (2 a'(s) - l'(s)) / prod_{s in kappa} h^*(s) h_*(s),
///
/// (`E[J_kappa(Sigma W)] = prod_s (n + 2a' - l') J_kappa(Sigma)`; theta_kappa is the coefficient of
/// J_kappa in the power sum p_m). `J_kappa` is evaluated at the eigenvalues by the branching rule
/// over horizontal strips, one eigenvalue at a time, in exact integers. Partitions with more than d
/// parts vanish. This is independent of `CovarianceMomentEngine` (the tests compare the two).
public func singleTraceCovarianceMoments(n: Int, spectrum: CovarianceSpectrum, maxPower: Int) -> [Rational] {
    precondition(n >= 1 && maxPower >= 0, "n >= 1 and maxPower >= 0 needed")
    let (x, scale) = spectrum.integerScaled()
    let d = x.count
    let table = ZonalTable.make(maxDegree: maxPower, maxLength: d)
    // J_kappa(x_1..x_t) for every kappa with at most t parts, t = 1...d. Every quantity here is a
    // non-negative integer (positive eigenvalues, positive hooks), so unsigned big integers with
    // word-sized multipliers where they fit.
    var values = [BigUInt](repeating: 0, count: table.partitions.count)
    values[0] = 1  // the empty partition
    for t in 1...d {
        let xt = x[t - 1].magnitude
        let xWord: BigUInt.Word? = xt.bitWidth <= BigUInt.Word.bitWidth ? BigUInt.Word(xt) : nil
        var next = [BigUInt](repeating: 0, count: table.partitions.count)
        next[0] = 1
        var byExponent = [BigUInt](repeating: 0, count: maxPower + 1)
        for (index, kappa) in table.partitions.enumerated() where index > 0 && kappa.count <= t {
            // sum over strips of J_mu x_t^e coefficient, grouped by e and summed by Horner's rule in x_t.
            var top = -1
            for strip in table.strips[index] where strip.length <= t - 1 {
                let v = values[strip.mu]
                if v.isZero { continue }
                while top < strip.exponent { top += 1; byExponent[top] = 0 }
                if let w = strip.word { byExponent[strip.exponent].multiplyAndAdd(v, w) } else { byExponent[strip.exponent] += v * strip.coefficient }
            }
            if top < 0 { continue }
            var sum = byExponent[top]
            if top > 0 {
                for e in stride(from: top - 1, through: 0, by: -1) {
                    if let w = xWord { sum.multiply(byWord: w) } else { sum = sum * xt }
                    sum += byExponent[e]
                }
            }
            let (q, r) = sum.quotientAndRemainder(dividingBy: table.denominators[index])
            precondition(r.isZero, "a zonal polynomial at integer points must be an integer")
            next[index] = q
        }
        values = next
    }
    // E tr (Sigma' W)^m = sum_kappa theta_kappa pochhammer_kappa(n) J_kappa, over a common denominator per m.
    var numerators = [BigInt](repeating: 0, count: maxPower + 1)
    let nn = BigInt(n)
    for (index, kappa) in table.partitions.enumerated() where index > 0 && !values[index].isZero {
        let m = kappa.reduce(0) { $0 + Int($1) }
        var pochhammer = BigInt(1)
        for (i, row) in kappa.enumerated() { for j in 0..<Int(row) { pochhammer *= nn + BigInt(2 * j - i) } }
        let theta = table.theta[index]
        numerators[m] += theta.numerator * BigInt(table.thetaDenominators[m].magnitude / theta.denominator.magnitude) * pochhammer * BigInt(values[index])
    }
    var out = [Rational(d)]
    for m in stride(from: 1, through: maxPower, by: 1) {
        out.append(Rational(numerators[m], table.thetaDenominators[m] * scale.power(m)))
    }
    return out
}

/// Partitions, horizontal strips and coefficients of the branching rule, per (degree, length).
struct ZonalTable: @unchecked Sendable {
    struct Strip { let mu: Int; let exponent: Int; let length: Int; let coefficient: BigUInt; let word: BigUInt.Word? }
    /// All partitions of size <= maxDegree with at most maxLength parts (index 0 is the empty one).
    let partitions: [[UInt8]]
    /// For each kappa: the mu with kappa/mu a horizontal strip, with `beta * denominators[kappa]` as an integer.
    let strips: [[Strip]]
    let denominators: [BigUInt]
    /// theta_kappa: the coefficient of J_kappa in p_{|kappa|}.
    let theta: [Rational]
    /// The least common denominator of theta over the partitions of each size.
    let thetaDenominators: [BigInt]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [[Int]: ZonalTable] = [:]

    static func make(maxDegree: Int, maxLength: Int) -> ZonalTable {
        lock.lock()
        defer { lock.unlock() }
        if let t = cache[[maxDegree, maxLength]] { return t }
        let t = ZonalTable(maxDegree: maxDegree, maxLength: maxLength)
        cache[[maxDegree, maxLength]] = t
        return t
    }

    private init(maxDegree: Int, maxLength: Int) {
        precondition(maxDegree < 250)
        var parts: [[UInt8]] = []
        func generate(_ remaining: Int, _ largest: Int, _ current: inout [UInt8]) {
            parts.append(current)
            if current.count == maxLength { return }
            if remaining == 0 { return }
            for p in stride(from: min(remaining, largest), through: 1, by: -1) {
                current.append(UInt8(p))
                generate(remaining - p, p, &current)
                current.removeLast()
            }
        }
        var scratch: [UInt8] = []
        generate(maxDegree, maxDegree, &scratch)
        parts.sort { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
        partitions = parts
        var index: [[UInt8]: Int] = [:]
        for (i, p) in parts.enumerated() { index[p] = i }

        var allStrips: [[Strip]] = [], dens: [BigUInt] = [], thetas: [Rational] = []
        for kappa in parts {
            let kc = Self.conjugate(kappa)
            // Horizontal strips: kappa_{i+1} <= mu_i <= kappa_i.
            var mus: [[UInt8]] = [[]]
            for i in kappa.indices {
                let low = i + 1 < kappa.count ? kappa[i + 1] : 0
                mus = mus.flatMap { m in (low...kappa[i]).map { m + [$0] } }
            }
            var betas: [(Int, Int, Int, BigInt, BigInt)] = []
            for raw in mus {
                let mu = Array(raw.prefix { $0 > 0 })
                guard let mi = index[mu] else { continue }
                let mc = Self.conjugate(mu)
                // Cells outside the changed rows and columns have equal factors in kappa and mu: they cancel.
                let changedColumn = (0..<kc.count).map { j in j >= mc.count || kc[j] != mc[j] }
                let changedRow = kappa.indices.map { i in i >= mu.count || kappa[i] != mu[i] }
                var tops: [Int] = [], bottoms: [Int] = []
                for (i, row) in kappa.enumerated() {
                    for j in 0..<Int(row) where changedRow[i] || changedColumn[j] {
                        tops.append(changedColumn[j] ? Self.lower(kappa, kc, i, j) : Self.upper(kappa, kc, i, j))
                    }
                }
                for (i, row) in mu.enumerated() {
                    for j in 0..<Int(row) where changedRow[i] || changedColumn[j] {
                        bottoms.append(changedColumn[j] ? Self.lower(mu, mc, i, j) : Self.upper(mu, mc, i, j))
                    }
                }
                let (num, den) = Self.reducedRatio(tops, bottoms)
                let size = kappa.reduce(0) { $0 + Int($1) } - mu.reduce(0) { $0 + Int($1) }
                betas.append((mi, size, mu.count, num, den))
            }
            var l = BigInt(1)
            for b in betas { l = l / BigInt(l.magnitude.greatestCommonDivisor(with: b.4.magnitude)) * b.4 }
            allStrips.append(betas.map { b in
                let c = (b.3 * (l / b.4)).magnitude
                return Strip(mu: b.0, exponent: b.1, length: b.2, coefficient: c, word: c.bitWidth <= BigUInt.Word.bitWidth ? BigUInt.Word(c) : nil)
            })
            dens.append(l.magnitude)
            // theta = 2 m prod'(2 a' - l') / prod(h^* h_*).
            let m = kappa.reduce(0) { $0 + Int($1) }
            var top = BigInt(2 * m), bottom = BigInt(1)
            for (i, row) in kappa.enumerated() {
                for j in 0..<Int(row) {
                    if i != 0 || j != 0 { top *= BigInt(2 * j - i) }
                    bottom *= BigInt(Self.upper(kappa, kc, i, j) * Self.lower(kappa, kc, i, j))
                }
            }
            thetas.append(kappa.isEmpty ? .zero : Rational(top, bottom))
        }
        strips = allStrips
        denominators = dens
        theta = thetas
        var lcms = [BigInt](repeating: 1, count: maxDegree + 1)
        for (kappa, t) in zip(parts, thetas) where !kappa.isEmpty {
            let m = kappa.reduce(0) { $0 + Int($1) }
            lcms[m] = lcms[m] / BigInt(lcms[m].magnitude.greatestCommonDivisor(with: t.denominator.magnitude)) * t.denominator
        }
        thetaDenominators = lcms
    }

    /// prod(tops) / prod(bottoms) in lowest terms (all factors positive), in machine integers when they suffice.
    static func reducedRatio(_ tops: [Int], _ bottoms: [Int]) -> (BigInt, BigInt) {
        func gcd(_ a: Int, _ b: Int) -> Int { var (a, b) = (a, b); while b != 0 { (a, b) = (b, a % b) }; return a }
        var num = 1, den = 1, overflow = false
        for f in tops {
            let g = gcd(f, den)
            let (p, o) = num.multipliedReportingOverflow(by: f / g)
            den /= g; num = p; overflow = overflow || o
        }
        for f in bottoms {
            let g = gcd(f, num)
            let (p, o) = den.multipliedReportingOverflow(by: f / g)
            num /= g; den = p; overflow = overflow || o
        }
        if !overflow { return (BigInt(num), BigInt(den)) }
        let n = tops.reduce(BigInt(1)) { $0 * BigInt($1) }, d = bottoms.reduce(BigInt(1)) { $0 * BigInt($1) }
        let g = BigInt(n.magnitude.greatestCommonDivisor(with: d.magnitude))
        return (n / g, d / g)
    }

    static func conjugate(_ k: [UInt8]) -> [Int] {
        guard let first = k.first else { return [] }
        return (0..<Int(first)).map { j in k.filter { Int($0) > j }.count }
    }
    /// Upper hook (alpha = 2), 0-based cell (i, j): l(s) + 2 (a(s) + 1).
    static func upper(_ k: [UInt8], _ kc: [Int], _ i: Int, _ j: Int) -> Int { (kc[j] - i - 1) + 2 * (Int(k[i]) - j) }
    /// Lower hook (alpha = 2): l(s) + 1 + 2 a(s).
    static func lower(_ k: [UInt8], _ kc: [Int], _ i: Int, _ j: Int) -> Int { (kc[j] - i) + 2 * (Int(k[i]) - j - 1) }
}
