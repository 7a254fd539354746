import CotflowCore
import Foundation

/// Parameters of the one-layer linear transformer `f(Z) = Z + V Z (Z^T W Z) / n`:
/// full D x D matrices `V` and `W` (row-major, D = 2d + 2).
///
/// Blocks are numbered 1..4 as in MODEL.md: x (rows 0..<d), y (row d), w (rows d+1..<2d+1),
/// 1 (row 2d+1). `V31` = rows of block 3, columns of block 1; `W13` = rows of block 1 (key x),
/// columns of block 3 (query w); `W24` = row of block 2, column of block 4.
public struct TransformerParameters: Sendable, Equatable {
    public let d: Int
    public var V: [Double]
    public var W: [Double]

    public var tokenSize: Int { 2 * d + 2 }

    public init(d: Int, V: [Double], W: [Double]) {
        precondition(d >= 1 && V.count == (2 * d + 2) * (2 * d + 2) && W.count == V.count)
        self.d = d; self.V = V; self.W = W
    }

    /// All-zero parameters.
    public static func zeros(d: Int) -> TransformerParameters {
        let n = (2 * d + 2) * (2 * d + 2)
        return TransformerParameters(d: d, V: [Double](repeating: 0, count: n), W: [Double](repeating: 0, count: n))
    }

    /// Theorem 3.2: `V31 = -eta I`, `W13 = I`, `W24 = -1`, everything else zero; implements GD exactly.
    public static func construction(d: Int, eta: Double) -> TransformerParameters {
        var p = zeros(d: d)
        p.V31 = identity(d).map { -eta * $0 }
        p.W13 = identity(d)
        p.W24 = -1
        return p
    }

    /// The reduced model of MODEL.md section 4: only `V31 = vt`, `W13 = wt` and `W24 = -1` non-zero.
    public static func reduced(d: Int, v31: [Double], w13: [Double]) -> TransformerParameters {
        var p = zeros(d: d)
        p.V31 = v31; p.W13 = w13; p.W24 = -1
        return p
    }

    /// Row/column range of block `b` (1...4).
    public static func blockRange(_ b: Int, d: Int) -> Range<Int> {
        switch b {
        case 1: return 0..<d
        case 2: return d..<(d + 1)
        case 3: return (d + 1)..<(2 * d + 1)
        case 4: return (2 * d + 1)..<(2 * d + 2)
        default: preconditionFailure("block index \(b) not in 1...4")
        }
    }

    /// Block (`rowBlock`, `colBlock`) of a D x D row-major matrix, row-major.
    public static func block(_ m: [Double], d: Int, _ rowBlock: Int, _ colBlock: Int) -> [Double] {
        let rows = blockRange(rowBlock, d: d), cols = blockRange(colBlock, d: d), dim = 2 * d + 2
        var out: [Double] = []
        out.reserveCapacity(rows.count * cols.count)
        for r in rows { for c in cols { out.append(m[r * dim + c]) } }
        return out
    }

    static func setBlock(_ m: inout [Double], d: Int, _ rowBlock: Int, _ colBlock: Int, _ values: [Double]) {
        let rows = blockRange(rowBlock, d: d), cols = blockRange(colBlock, d: d), dim = 2 * d + 2
        precondition(values.count == rows.count * cols.count)
        var t = 0
        for r in rows { for c in cols { m[r * dim + c] = values[t]; t += 1 } }
    }

    /// V31: x-block into w-block, d x d row-major.
    public var V31: [Double] {
        get { Self.block(V, d: d, 3, 1) }
        set { Self.setBlock(&V, d: d, 3, 1, newValue) }
    }

    /// W13: key x, query w, d x d row-major.
    public var W13: [Double] {
        get { Self.block(W, d: d, 1, 3) }
        set { Self.setBlock(&W, d: d, 1, 3, newValue) }
    }

    /// W24: key y, query 1.
    public var W24: Double {
        get { W[d * tokenSize + 2 * d + 1] }
        set { W[d * tokenSize + 2 * d + 1] = newValue }
    }

    /// Masks (1 = entry belongs to V31 / W13 / W24) over the D x D matrices.
    public static func reducedMasks(d: Int) -> (V: [Bool], W: [Bool], W24: Int) {
        let dim = 2 * d + 2
        var mv = [Bool](repeating: false, count: dim * dim), mw = mv
        for r in blockRange(3, d: d) { for c in blockRange(1, d: d) { mv[r * dim + c] = true } }
        for r in blockRange(1, d: d) { for c in blockRange(3, d: d) { mw[r * dim + c] = true } }
        return (mv, mw, d * dim + 2 * d + 1)
    }

    /// Frobenius norm of every entry of V and W outside V31, W13 and W24.
    public var offBlockNorm: Double {
        let masks = Self.reducedMasks(d: d)
        var s = 0.0
        for i in 0..<V.count where !masks.V[i] { s += V[i] * V[i] }
        for i in 0..<W.count where !masks.W[i] && i != masks.W24 { s += W[i] * W[i] }
        return s.squareRoot()
    }

    /// True when every entry is finite.
    public var isFinite: Bool { V.allSatisfy { $0.isFinite } && W.allSatisfy { $0.isFinite } }

    // MARK: JSON

    /// JSON object `{"d": d, "V": [D*D numbers], "W": [D*D numbers]}` (row-major).
    public var json: JSONValue {
        .object([("d", .int(d)), ("V", .numbers(V)), ("W", .numbers(W))])
    }

    /// Writes the parameters as JSON.
    public func save(to path: String) throws {
        guard isFinite else { throw ParameterFileError.cannotSave(path: path) }
        try writeText(json.rendered() + "\n", to: path)
    }

    /// Writes the parameters with the run's provenance and the task they were trained on (d, n,
    /// k, eta) first; `load(from:)` reads d, V and W and ignores the rest.
    package func save(to path: String, provenance: Provenance, task: [(String, JSONValue)]) throws {
        guard isFinite else { throw ParameterFileError.cannotSave(path: path) }
        guard case .object(let pairs) = json else { return }
        let object = JSONValue.object(provenance.json + task + pairs.filter { $0.0 != "d" })
        try writeText(object.rendered() + "\n", to: path)
    }

    /// Syntax (with Foundation's position and nesting limit) and types, with messages naming the
    /// file and key; the values are then read exactly by JSONDecoder.
    private static func checkStructure(_ data: Data, path: String) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw ParameterFileError.notJSON(path: path, reason: JSONInput.reason(error))
        }
        guard let dict = object as? [String: Any] else {
            throw ParameterFileError.topLevelType(path: path, type: JSONInput.typeName(object))
        }
        for key in ["d", "V", "W"] where dict[key] == nil {
            throw ParameterFileError.missingKey(path: path, key: key)
        }
        guard let d = JSONInput.number(dict["d"]!), d == d.rounded(), abs(d) < 1e15 else {
            throw ParameterFileError.dType(path: path, type: JSONInput.typeName(dict["d"]!), value: JSONInput.number(dict["d"]!).map { "\($0)" })
        }
        for key in ["V", "W"] {
            guard let array = dict[key] as? [Any] else {
                throw ParameterFileError.notAnArray(path: path, key: key, type: JSONInput.typeName(dict[key]!))
            }
            if let i = array.firstIndex(where: { JSONInput.number($0) == nil }) {
                throw ParameterFileError.notANumber(path: path, key: key, index: i, type: JSONInput.typeName(array[i]))
            }
        }
    }

    /// Reads parameters written by `save(to:)`; rejects unreadable files, wrong sizes and non-finite values.
    public static func load(from path: String) throws -> TransformerParameters {
        try decode(JSONInput.data(path, what: "parameter file"), path: path)
    }

    /// Parses the bytes of a parameter file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> TransformerParameters {
        try checkStructure(data, path: path)
        // JSONDecoder parses numbers exactly (JSONSerialization may lose the last bit).
        struct File: Decodable { let d: Int; let V: [Double]; let W: [Double] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let c) where c.codingPath.isEmpty:
                throw ParameterFileError.notJSON(path: path, reason: JSONInput.reason(error))
            case .keyNotFound(let key, _):
                throw ParameterFileError.missingKey(path: path, key: key.stringValue)
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                let where_ = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined()
                throw ParameterFileError.wrongType(path: path, at: where_)
            @unknown default:
                throw ParameterFileError.decoding(path: path, message: "\(error)")
            }
        } catch {
            throw ParameterFileError.notJSON(path: path, reason: nil)
        }
        let d = file.d, dim = 2 * d + 2
        guard d >= 1, d <= 100_000 else { throw ParameterFileError.dRange(path: path, d: d) }
        func matrix(_ key: String, _ values: [Double]) throws -> [Double] {
            guard values.count == dim * dim else {
                throw ParameterFileError.entryCount(path: path, key: key, count: values.count, expected: dim * dim, d: d)
            }
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw ParameterFileError.notFinite(path: path, key: key, index: i)
            }
            return values
        }
        return TransformerParameters(d: d, V: try matrix("V", file.V), W: try matrix("W", file.W))
    }
}

/// The d x d identity, row-major.
public func identity(_ d: Int) -> [Double] {
    var m = [Double](repeating: 0, count: d * d)
    for i in 0..<d { m[i * d + i] = 1 }
    return m
}
