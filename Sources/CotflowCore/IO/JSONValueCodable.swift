// A `JSONValue` inside a Codable type (an object kept as written, such as a stage table). The
// tool's own coder (JSONValueCoding.swift) passes it through as it is; other coders use these.
extension JSONValue: Codable {
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .number(let x): var c = encoder.singleValueContainer(); try c.encode(x)
        case .int(let i): var c = encoder.singleValueContainer(); try c.encode(i)
        case .string(let s): var c = encoder.singleValueContainer(); try c.encode(s)
        case .bool(let b): var c = encoder.singleValueContainer(); try c.encode(b)
        case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
        case .array(let xs):
            var c = encoder.unkeyedContainer()
            for x in xs { try c.encode(x) }
        case .object(let pairs):
            var c = encoder.container(keyedBy: AnyCodingKey.self)
            for (key, value) in pairs { try c.encode(value, forKey: AnyCodingKey(key)) }
        }
    }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyCodingKey.self) {
            self = .object(try c.allKeys.map { ($0.stringValue, try c.decode(JSONValue.self, forKey: $0)) })
        } else if var c = try? decoder.unkeyedContainer() {
            var xs: [JSONValue] = []
            while !c.isAtEnd { xs.append(try c.decode(JSONValue.self)) }
            self = .array(xs)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let x = try? c.decode(Double.self) { self = .number(x) }
            else { self = .string(try c.decode(String.self)) }
        }
    }
}
