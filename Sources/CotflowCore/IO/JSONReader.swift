import Foundation

/// A small JSON reader into `JSONValue` that keeps the order of object keys and reads numbers
/// with `Double(String)` (exact round trip of what `JSONValue` writes), so that merged outputs
/// are byte-identical whatever process wrote the shards.
///
/// Nesting deeper than `maximumDepth` is an error, not a stack overflow; errors name `source`.
package struct JSONReader {
    /// Sweep files nest 4 deep; this leaves room and keeps the recursion far from the stack's end.
    package static let maximumDepth = 64

    private let bytes: [UInt8]
    private let source: String
    private var i = 0
    private var depth = 0

    package static func parse(_ text: String, source: String = "JSON text") throws -> JSONValue {
        var reader = JSONReader(bytes: Array(text.utf8), source: source)
        // A UTF-8 byte order mark (Windows editors write one) is not part of the value, as in CSV files.
        if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.i = 3 }
        reader.skipSpace()
        let value = try reader.value()
        reader.skipSpace()
        guard reader.i == reader.bytes.count else { throw reader.error("trailing characters") }
        return value
    }

    private init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    private func error(_ what: String) -> CotflowError { CotflowError.input("\(source): invalid JSON at byte \(i): \(what)") }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
    }

    private mutating func expect(_ literal: String) throws {
        let l = Array(literal.utf8)
        guard i + l.count <= bytes.count, Array(bytes[i..<(i + l.count)]) == l else { throw error("expected \(literal)") }
        i += l.count
    }

    private mutating func value() throws -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end") }
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(String, JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                let key = try string()
                // Readers disagree on a repeated key (first or last value wins): refuse it.
                guard !pairs.contains(where: { $0.0 == key }) else { throw error("duplicate key \"\(key)\"") }
                skipSpace()
                try expect(":")
                skipSpace()
                pairs.append((key, try value()))
                skipSpace()
                guard i < bytes.count else { throw error("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw error("expected , or }")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value())
                skipSpace()
                guard i < bytes.count else { throw error("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw error("expected , or ]")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return try number()
        }
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        while i < bytes.count, let c = Optional(bytes[i]),
              (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { i += 1 }
        guard i > start, let text = String(bytes: bytes[start..<i], encoding: .utf8) else { throw error("unexpected character") }
        if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let n = Int(text) { return .int(n) }
        guard let x = Double(text) else { throw error("bad number '\(text)'") }
        return .number(x)
    }

    private mutating func string() throws -> String {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string") }
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < bytes.count else { throw error("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw error("bad escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let s = String(bytes: bytes[i..<(i + 4)], encoding: .utf8), let v = UInt32(s, radix: 16) else {
            throw error("bad \\u escape")
        }
        i += 4
        return v
    }
}

extension JSONValue {
    package subscript(key: String) -> JSONValue? {
        if case .object(let pairs) = self { return pairs.first(where: { $0.0 == key })?.1 }
        return nil
    }

    /// The value as Foundation's JSON objects (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `NSNull`).
    package var foundationObject: Any {
        switch self {
        case .object(let pairs): return Dictionary(pairs.map { ($0.0, $0.1.foundationObject) }, uniquingKeysWith: { first, _ in first })
        case .array(let items): return items.map(\.foundationObject)
        case .string(let s): return s
        case .int(let n): return NSNumber(value: n)
        case .number(let x): return NSNumber(value: x)
        case .bool(let b): return NSNumber(value: b)
        case .null: return NSNull()
        }
    }

    package var arrayValue: [JSONValue]? { if case .array(let xs) = self { return xs }; return nil }
    package var objectValue: [(String, JSONValue)]? { if case .object(let p) = self { return p }; return nil }
    package var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    package var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    package var intValue: Int? {
        switch self {
        case .int(let n): return n
        case .number(let x) where x == x.rounded() && abs(x) < 1e15: return Int(x)
        default: return nil
        }
    }

    /// A number; `null` is NaN and the strings "inf", "-inf", "nan" are the non-finite values.
    package var doubleValue: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .number(let x): return x
        case .null: return .nan
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        case .string("nan"): return .nan
        default: return nil
        }
    }

    /// A number that survives the trip through JSON: non-finite values become "inf", "-inf" or null.
    package static func lossless(_ x: Double) -> JSONValue {
        if x.isNaN { return .null }
        if x.isInfinite { return .string(x > 0 ? "inf" : "-inf") }
        return .number(x)
    }
}
