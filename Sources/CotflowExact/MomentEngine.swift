import BigInt

/// The Gaussian integration-by-parts recursion for joint trace moments of the real Wishart
/// matrix `W = X X^T ~ W_d(n, I)`:
///
///     E[tr W^k P] = (n+k-1) E[tr W^{k-1} P] + sum_{a=1}^{k-1} E[tr W^a tr W^{k-1-a} P]
///                   + sum_r 2 m_r E[tr W^{k+m_r-1} prod_{r' != r} tr W^{m_r'}],
///
/// `P = prod_r tr W^{m_r}`, `tr W^0 = d`. Each step lowers the total degree by one. A state is a
/// partition (sorted parts >= 1; zero parts become factors of d). By default the smallest part is
/// reduced, which keeps the reachable set of partitions small; a factor `tr W` is removed in
/// closed form, `E[tr W P] = (nd + 2|P|) E[P]`.
struct MomentEngine<R: MomentRing> {
    enum Order { case smallestFirst, largestFirst }
    let n: R, d: R
    let order: Order
    private var memo: [[UInt8]: R] = [:]

    init(n: R, d: R, order: Order = .smallestFirst) {
        self.n = n; self.d = d; self.order = order
    }

    var memoCount: Int { memo.count }

    /// E[prod_r tr W^{powers[r]}], powers >= 0.
    mutating func expectation(_ powers: [Int]) -> R {
        precondition(powers.allSatisfy { $0 >= 0 && $0 < 250 }, "powers must be in 0..<250")
        var factor = R(integer: 1)
        var parts: [UInt8] = []
        for p in powers { if p == 0 { factor = factor * d } else { parts.append(UInt8(p)) } }
        parts.sort()
        return factor * value(parts)
    }

    /// `parts` is sorted ascending with all entries >= 1.
    private mutating func value(_ parts: [UInt8]) -> R {
        if parts.isEmpty { return R(integer: 1) }
        if let v = memo[parts] { return v }
        let result: R
        if parts[0] == 1 {
            // E[tr W * P] = (nd + 2|P|) E[P]
            let rest = Array(parts.dropFirst())
            let degree = rest.reduce(0) { $0 + Int($1) }
            result = (n * d + R(integer: 2 * degree)) * value(rest)
        } else {
            let pick = order == .smallestFirst ? 0 : parts.count - 1
            let k = Int(parts[pick])
            var rest = parts
            rest.remove(at: pick)
            // (n + k - 1) E[tr W^{k-1} P]  (k >= 2 here, so k-1 >= 1), plus from
            // sum_{a=1}^{k-1} E[tr W^a tr W^{k-1-a} P] the a = k-1 term, d E[tr W^{k-1} P] (tr W^0 = d).
            var acc = (n + R(integer: k - 1) + d) * value(Self.inserting(rest, [k - 1]))
            if k >= 3 {
                // a and k-1-a give the same partition: pair them up.
                for a in 1...((k - 1) / 2) {
                    let b = k - 1 - a
                    let mult = (a == b) ? 1 : 2
                    acc = acc + R(integer: mult) * value(Self.inserting(rest, [a, b]))
                }
            }
            // sum_r 2 m_r E[tr W^{k+m_r-1} P \ r], grouping equal parts.
            var i = 0
            while i < rest.count {
                var j = i
                while j < rest.count && rest[j] == rest[i] { j += 1 }
                let m = Int(rest[i]), count = j - i
                var reduced = rest
                reduced.remove(at: i)
                acc = acc + R(integer: 2 * m * count) * value(Self.inserting(reduced, [k + m - 1]))
                i = j
            }
            result = acc
        }
        memo[parts] = result
        return result
    }

    /// Sorted insertion of new parts (all >= 1).
    private static func inserting(_ sorted: [UInt8], _ new: [Int]) -> [UInt8] {
        var out = sorted
        for x in new {
            let v = UInt8(x)
            var idx = out.count
            while idx > 0 && out[idx - 1] > v { idx -= 1 }
            out.insert(v, at: idx)
        }
        return out
    }
}
