import CotflowCore
import CotflowModel
import Foundation

/// Norms that say where the weight mass is. The prediction is
/// `w^_{i+1} = w_i + [V31 V32] G_data [W13 W14; W23 W24] u_i + [V33 V34] C_i [W33 W34; W43 W44] u_i`
/// (`u_i = (w_i; 1)`, `G_data` the data block of `Z Z^T / n`, `C_i` its chain-token block): a data path
/// and a chain path. The construction uses only V31, W13, W24 of the data path and no chain path.
public struct WeightMass: Sendable {
    public let total, offBlock: Double
    /// ||(V32, W14, W23)|| / ||(V31, V32, W13, W14, W23, W24)||: the data path outside the construction.
    public let dataPathOffShare: Double
    /// ||V3{3,4}|| ||W{3,4}{3,4}|| / (||V31|| ||W13||): size of the chain path relative to the data path.
    public let chainPathRatio: Double
    /// Relative Frobenius distances of (-W24) V31 from -eta I and of W13 / (-W24) from I.
    public let vDeviation, wDeviation: Double
    /// Frobenius norms of the 4 x 4 blocks of V and of W (row block, column block).
    public let vBlocks, wBlocks: [[Double]]

    public init(_ p: TransformerParameters, eta: Double) {
        let d = p.d
        func norms(_ m: [Double]) -> [[Double]] {
            (1...4).map { r in (1...4).map { c in TransformerParameters.block(m, d: d, r, c).reduce(0) { $0 + $1 * $1 }.squareRoot() } }
        }
        let vb = norms(p.V), wb = norms(p.W)
        vBlocks = vb; wBlocks = wb
        func sq(_ x: Double) -> Double { x * x }
        total = (p.V + p.W).reduce(0) { $0 + $1 * $1 }.squareRoot()
        offBlock = p.offBlockNorm
        let off = sq(vb[2][1]) + sq(wb[0][3]) + sq(wb[1][2])
        dataPathOffShare = (off / (off + sq(vb[2][0]) + sq(wb[0][2]) + sq(wb[1][3]))).squareRoot()
        let chainV = (sq(vb[2][2]) + sq(vb[2][3])).squareRoot()
        let chainW = (2...3).flatMap { r in (2...3).map { sq(wb[r][$0]) } }.reduce(0, +).squareRoot()
        chainPathRatio = chainV * chainW / (vb[2][0] * wb[0][2])
        let c = -p.W24, v31 = p.V31, w13 = p.W13
        var dv = 0.0, dw = 0.0
        for i in 0..<d {
            for j in 0..<d {
                let target = i == j ? 1.0 : 0.0
                dv += sq(c * v31[i * d + j] + eta * target)
                dw += sq(w13[i * d + j] / c - target)
            }
        }
        vDeviation = (dv / (eta * eta * Double(d))).squareRoot()
        wDeviation = (dw / Double(d)).squareRoot()
    }

    public var line: String {
        "off-block share \(percent(offBlock / total)) of ||(V, W)||_F = \(fmt(total)); data path outside V31/W13/W24 \(percent(dataPathOffShare));"
            + " chain path / data path \(percent(chainPathRatio)); ||(-W24) V31 + eta I|| / ||eta I|| = \(fmt(vDeviation)),"
            + " ||W13 / (-W24) - I|| / ||I|| = \(fmt(wDeviation))"
    }
    public var table: String {
        func rows(_ name: String, _ b: [[Double]]) -> String {
            (0..<4).map { r in "    \(name)\(r + 1)x  " + b[r].map { String(format: "%9.4f", $0) }.joined(separator: " ") }.joined(separator: "\n")
        }
        return "    block norms (columns: x, y, w, 1)\n" + rows("V", vBlocks) + "\n" + rows("W", wBlocks)
    }
    public var json: JSONValue {
        .object([("total_norm", .number(total)), ("off_block_norm", .number(offBlock)), ("off_block_share", .number(offBlock / total)),
                 ("data_path_off_share", .number(dataPathOffShare)), ("chain_path_ratio", .number(chainPathRatio)),
                 ("v31_rel_deviation", .number(vDeviation)), ("w13_rel_deviation", .number(wDeviation)),
                 ("V_block_norms", .array(vBlocks.map { .numbers($0) })), ("W_block_norms", .array(wBlocks.map { .numbers($0) }))])
    }
}


private func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
