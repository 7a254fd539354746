import BigInt
import CotflowCore
import Foundation

/// Small dense square matrices (row-major) for test Monte Carlo.
struct Mat {
    let n: Int
    var a: [Double]
    init(_ n: Int, _ a: [Double]) { self.n = n; self.a = a }
    static func identity(_ n: Int) -> Mat {
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = 1 }
        return Mat(n, a)
    }
    static func diag(_ v: [Double]) -> Mat {
        var m = Mat(v.count, [Double](repeating: 0, count: v.count * v.count))
        for i in 0..<v.count { m.a[i * v.count + i] = v[i] }
        return m
    }
    subscript(i: Int, j: Int) -> Double { a[i * n + j] }
    static func * (x: Mat, y: Mat) -> Mat {
        let n = x.n
        var r = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n { let xik = x.a[i * n + k]; if xik == 0 { continue }
            for j in 0..<n { r[i * n + j] += xik * y.a[k * n + j] } } }
        return Mat(n, r)
    }
    static func + (x: Mat, y: Mat) -> Mat { Mat(x.n, zip(x.a, y.a).map { $0 + $1 }) }
    static func - (x: Mat, y: Mat) -> Mat { Mat(x.n, zip(x.a, y.a).map { $0 - $1 }) }
    static func * (c: Double, x: Mat) -> Mat { Mat(x.n, x.a.map { c * $0 }) }
    var trace: Double { (0..<n).reduce(0) { $0 + a[$1 * n + $1] } }
    var frobenius2: Double { a.reduce(0) { $0 + $1 * $1 } }
    func power(_ m: Int) -> Mat { var r = Mat.identity(n); for _ in 0..<m { r = r * self }; return r }
}

/// W = X X^T with X a d x n standard Gaussian matrix.
func sampleWishart(d: Int, n: Int, rng: Random) -> Mat {
    var x = [Double](repeating: 0, count: d * n)
    for i in 0..<(d * n) { x[i] = rng.gaussian() }
    var w = [Double](repeating: 0, count: d * d)
    for i in 0..<d { for j in i..<d {
        var s = 0.0
        for t in 0..<n { s += x[i * n + t] * x[j * n + t] }
        w[i * d + j] = s; w[j * d + i] = s
    } }
    return Mat(d, w)
}

/// Running mean and standard error.
struct Accumulator {
    var count = 0, sum = 0.0, sumSq = 0.0
    mutating func add(_ x: Double) { count += 1; sum += x; sumSq += x * x }
    var mean: Double { sum / Double(count) }
    var standardError: Double {
        let m = mean
        return ((sumSq / Double(count) - m * m) * Double(count) / Double(count - 1) / Double(count)).squareRoot()
    }
}

/// Brute-force E[prod_r tr W^{m_r}] for W = X X^T: sum over all index assignments of the
/// product of Gaussian moments of the repeated entries (Isserlis/Wick, counted directly).
func bruteForceMoment(d: Int, n: Int, powers: [Int]) -> BigInt {
    var factor = BigInt(1)
    let ps = powers.filter { p in if p == 0 { factor *= BigInt(d) }; return p != 0 }
    let total = ps.reduce(0, +)
    // Row indices i_1..i_total (d each), column indices j_1..j_total (n each).
    var iIdx = [Int](repeating: 0, count: total), jIdx = [Int](repeating: 0, count: total)
    var sum = BigInt(0)
    func gaussianMoment(_ c: Int) -> Int { c % 2 == 1 ? 0 : stride(from: c - 1, to: 0, by: -2).reduce(1, *) }
    func evaluate() {
        var counts: [Int: Int] = [:]
        var offset = 0
        for m in ps {
            for t in 0..<m {
                let i = iIdx[offset + t], iNext = iIdx[offset + (t + 1) % m], j = jIdx[offset + t]
                counts[i * 1000 + j, default: 0] += 1
                counts[iNext * 1000 + j, default: 0] += 1
            }
            offset += m
        }
        var prod = 1
        for c in counts.values { prod *= gaussianMoment(c); if prod == 0 { return } }
        sum += BigInt(prod)
    }
    func recurse(_ pos: Int) {
        if pos == 2 * total { evaluate(); return }
        if pos < total {
            for v in 0..<d { iIdx[pos] = v; recurse(pos + 1) }
        } else {
            for v in 0..<n { jIdx[pos - total] = v; recurse(pos + 1) }
        }
    }
    recurse(0)
    return factor * sum
}

/// Brute-force E[W_ab W_bc (W^m)_ca] for W = X X^T (fixed a, b, c): sum over the internal row
/// and column indices of the product of Gaussian moments of the repeated entries of X.
func bruteForceTriple(d: Int, n: Int, a: Int, b: Int, c: Int, m: Int) -> BigInt {
    if m == 0 && c != a { return 0 }
    let internalRows = max(m - 1, 0), columns = 2 + m
    var rows = [Int](repeating: 0, count: internalRows), cols = [Int](repeating: 0, count: columns)
    var sum = BigInt(0)
    func gaussianMoment(_ k: Int) -> Int { k % 2 == 1 ? 0 : stride(from: k - 1, to: 0, by: -2).reduce(1, *) }
    func evaluate() {
        // Factors (row, row') per column: W_ab, W_bc, then the chain c -> i1 -> ... -> a.
        var chain = [c] + rows + [a]
        if m == 0 { chain = [] }
        var pairs: [(Int, Int)] = [(a, b), (b, c)]
        if m > 0 { for t in 0..<m { pairs.append((chain[t], chain[t + 1])) } }
        var counts: [Int: Int] = [:]
        for (t, (r, s)) in pairs.enumerated() {
            counts[r * 1000 + cols[t], default: 0] += 1
            counts[s * 1000 + cols[t], default: 0] += 1
        }
        var prod = 1
        for k in counts.values { prod *= gaussianMoment(k); if prod == 0 { return } }
        sum += BigInt(prod)
    }
    func recurse(_ pos: Int) {
        if pos == internalRows + columns { evaluate(); return }
        if pos < internalRows { for v in 0..<d { rows[pos] = v; recurse(pos + 1) } }
        else { for v in 0..<n { cols[pos - internalRows] = v; recurse(pos + 1) } }
    }
    recurse(0)
    return sum
}
