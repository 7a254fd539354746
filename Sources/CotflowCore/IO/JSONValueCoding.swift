import Foundation

// Codable values to and from `JSONValue`: the one way the tool's typed runs and results become its
// JSON files and come back. Keys keep the order in which they are encoded, `Double` stays a number
// (`JSONValue.rendered`: non-finite is null) and integers stay integers, so a file written through
// here has the same bytes as one written by `JSONValue` directly. An absent optional is written as
// null (`encodeIfPresent`), as the tool's files always did; null decodes as NaN for a `Double`.

/// A coding key of any name (flattened or prefixed keys).
public struct AnyCodingKey: CodingKey, Hashable, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

extension JSONValue {
    /// `value` encoded (keys in encoding order).
    public static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = ValueEncoder(codingPath: [])
        try value.encode(to: encoder)
        return encoder.storage.value ?? .null
    }

    /// Decodes a `T` from this value.
    public func decoded<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try T(from: ValueDecoder(value: self, codingPath: []))
    }
}

// MARK: - Encoding

/// Where an encoder's value is built: a box, so that nested containers write into their parent.
private final class Slot {
    var value: JSONValue?
    init(_ value: JSONValue? = nil) { self.value = value }

    func set(_ key: String, _ v: JSONValue) {
        guard case .object(var pairs) = value ?? .object([]) else { value = .object([(key, v)]); return }
        if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = v } else { pairs.append((key, v)) }
        value = .object(pairs)
    }

    func append(_ v: JSONValue) {
        guard case .array(var xs) = value ?? .array([]) else { value = .array([v]); return }
        xs.append(v)
        value = .array(xs)
    }
}

private func scalar<T: Encodable>(_ value: T) -> JSONValue? {
    switch value {
    case let x as Double: return .number(x)
    case let x as Float: return .number(Double(x))
    case let x as Int: return .int(x)
    case let x as Int32: return .int(Int(x))
    case let x as Int64: return .int(Int(x))
    case let x as UInt64: return .int(Int(truncatingIfNeeded: x))
    case let x as UInt32: return .int(Int(x))
    case let x as Bool: return .bool(x)
    case let x as String: return .string(x)
    case let x as JSONValue: return x
    default: return nil
    }
}

private func encoded<T: Encodable>(_ value: T, path: [CodingKey]) throws -> JSONValue {
    if let s = scalar(value) { return s }
    let encoder = ValueEncoder(codingPath: path)
    try value.encode(to: encoder)
    return encoder.storage.value ?? .null
}

private final class ValueEncoder: Encoder {
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let storage: Slot

    init(codingPath: [CodingKey], storage: Slot = Slot()) {
        self.codingPath = codingPath
        self.storage = storage
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if storage.value == nil { storage.value = .object([]) }
        return KeyedEncodingContainer(KeyedValueEncoder<Key>(slot: storage, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if storage.value == nil { storage.value = .array([]) }
        return UnkeyedValueEncoder(slot: storage, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleValueEncoder(slot: storage, codingPath: codingPath) }
}

private struct KeyedValueEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.set(key.stringValue, .null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        slot.set(key.stringValue, try encoded(value, path: codingPath + [key]))
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { slot.set(key.stringValue, value.map { .number($0) } ?? .null) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { slot.set(key.stringValue, value.map { .int($0) } ?? .null) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { slot.set(key.stringValue, value.map { .string($0) } ?? .null) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { slot.set(key.stringValue, value.map { .bool($0) } ?? .null) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        slot.set(key.stringValue, value.map { .int(Int(truncatingIfNeeded: $0)) } ?? .null)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let name = key.stringValue, parent = slot
        slot.set(name, .object([]))
        return KeyedEncodingContainer(KeyedNestedEncoder<NestedKey>(slot: Slot(.object([])), codingPath: codingPath + [key]) { parent.set(name, $0) })
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let name = key.stringValue, parent = slot
        slot.set(name, .array([]))
        return NestedUnkeyedEncoder(slot: Slot(.array([])), codingPath: codingPath + [key]) { parent.set(name, $0) }
    }

    mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath, storage: slot) }
    mutating func superEncoder(forKey key: Key) -> Encoder { ValueEncoder(codingPath: codingPath, storage: slot) }
}

/// A keyed container nested in another: writes its object back into the parent after every change.
private struct KeyedNestedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var inner: KeyedValueEncoder<Key>
    let store: (JSONValue) -> Void
    var codingPath: [CodingKey] { inner.codingPath }

    init(slot: Slot, codingPath: [CodingKey], store: @escaping (JSONValue) -> Void) {
        inner = KeyedValueEncoder(slot: slot, codingPath: codingPath)
        self.store = store
    }
    private func flush() { store(inner.slot.value ?? .object([])) }

    mutating func encodeNil(forKey key: Key) throws { try inner.encodeNil(forKey: key); flush() }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try inner.encode(value, forKey: key); flush() }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try inner.encodeIfPresent(value, forKey: key); flush() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let name = key.stringValue, parent = inner.slot, flushAll = store
        parent.set(name, .object([]))
        flush()
        return KeyedEncodingContainer(KeyedNestedEncoder<NestedKey>(slot: Slot(.object([])), codingPath: codingPath + [key]) {
            parent.set(name, $0); flushAll(parent.value ?? .object([]))
        })
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let name = key.stringValue, parent = inner.slot, flushAll = store
        parent.set(name, .array([]))
        flush()
        return NestedUnkeyedEncoder(slot: Slot(.array([])), codingPath: codingPath + [key]) {
            parent.set(name, $0); flushAll(parent.value ?? .object([]))
        }
    }
    mutating func superEncoder() -> Encoder { inner.superEncoder() }
    mutating func superEncoder(forKey key: Key) -> Encoder { inner.superEncoder(forKey: key) }
}

private struct UnkeyedValueEncoder: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [CodingKey]
    var count: Int { slot.value?.arrayValue?.count ?? 0 }

    mutating func encodeNil() throws { slot.append(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { slot.append(try encoded(value, path: codingPath)) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let index = count, parent = slot
        slot.append(.object([]))
        return KeyedEncodingContainer(KeyedNestedEncoder<NestedKey>(slot: Slot(.object([])), codingPath: codingPath) { value in
            if case .array(var xs) = parent.value { xs[index] = value; parent.value = .array(xs) }
        })
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let index = count, parent = slot
        slot.append(.array([]))
        return NestedUnkeyedEncoder(slot: Slot(.array([])), codingPath: codingPath) { value in
            if case .array(var xs) = parent.value { xs[index] = value; parent.value = .array(xs) }
        }
    }
    mutating func superEncoder() -> Encoder { ValueEncoder(codingPath: codingPath, storage: slot) }
}

private struct NestedUnkeyedEncoder: UnkeyedEncodingContainer {
    var inner: UnkeyedValueEncoder
    let store: (JSONValue) -> Void
    var codingPath: [CodingKey] { inner.codingPath }
    var count: Int { inner.count }

    init(slot: Slot, codingPath: [CodingKey], store: @escaping (JSONValue) -> Void) {
        inner = UnkeyedValueEncoder(slot: slot, codingPath: codingPath)
        self.store = store
    }
    private func flush() { store(inner.slot.value ?? .array([])) }

    mutating func encodeNil() throws { try inner.encodeNil(); flush() }
    mutating func encode<T: Encodable>(_ value: T) throws { try inner.encode(value); flush() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let c = inner.nestedContainer(keyedBy: keyType); flush(); return c
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { let c = inner.nestedUnkeyedContainer(); flush(); return c }
    mutating func superEncoder() -> Encoder { inner.superEncoder() }
}

private struct SingleValueEncoder: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [CodingKey]
    mutating func encodeNil() throws { slot.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { slot.value = try encoded(value, path: codingPath) }
}

// MARK: - Decoding

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.rendered(pretty: false).prefix(60))"))
}

private func decodeScalar<T: Decodable>(_ type: T.Type, _ value: JSONValue, path: [CodingKey]) throws -> T {
    func fail() -> DecodingError { mismatch(type, value, path) }
    switch type {
    case is Double.Type: guard let x = value.doubleValue else { throw fail() }; return x as! T
    case is Float.Type: guard let x = value.doubleValue else { throw fail() }; return Float(x) as! T
    case is Int.Type: guard let x = value.intValue else { throw fail() }; return x as! T
    case is Int64.Type: guard let x = value.intValue else { throw fail() }; return Int64(x) as! T
    case is Int32.Type: guard let x = value.intValue, let y = Int32(exactly: x) else { throw fail() }; return y as! T
    case is UInt64.Type: guard let x = value.intValue else { throw fail() }; return UInt64(bitPattern: Int64(x)) as! T
    case is UInt32.Type: guard let x = value.intValue, let y = UInt32(exactly: x) else { throw fail() }; return y as! T
    case is Bool.Type: guard let x = value.boolValue else { throw fail() }; return x as! T
    case is String.Type: guard let x = value.stringValue else { throw fail() }; return x as! T
    case is JSONValue.Type: return value as! T
    default: return try T(from: ValueDecoder(value: value, codingPath: path))
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let pairs) = value else { throw mismatch([String: Any].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedValueDecoder<Key>(pairs: pairs, codingPath: codingPath))
    }
    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let xs) = value else { throw mismatch([Any].self, value, codingPath) }
        return UnkeyedValueDecoder(values: xs, codingPath: codingPath)
    }
    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleValueDecoder(value: value, codingPath: codingPath) }
}

private struct KeyedValueDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let pairs: [(String, JSONValue)]
    let codingPath: [CodingKey]
    var allKeys: [Key] { pairs.compactMap { Key(stringValue: $0.0) } }

    func contains(_ key: Key) -> Bool { pairs.contains { $0.0 == key.stringValue } }
    private func value(_ key: Key) throws -> JSONValue {
        guard let v = pairs.first(where: { $0.0 == key.stringValue })?.1 else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \"\(key.stringValue)\""))
        }
        return v
    }
    func decodeNil(forKey key: Key) throws -> Bool { if case .null = try value(key) { return true }; return false }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeScalar(type, try value(key), path: codingPath + [key])
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = pairs.first(where: { $0.0 == key.stringValue })?.1 else { return nil }
        if case .null = v { return nil }
        return try decodeScalar(type, v, path: codingPath + [key])
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder { ValueDecoder(value: .object(pairs), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> Decoder { ValueDecoder(value: try value(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedValueDecoder: UnkeyedDecodingContainer {
    let values: [JSONValue]
    let codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    init(values: [JSONValue], codingPath: [CodingKey]) { self.values = values; self.codingPath = codingPath }

    private mutating func next() throws -> JSONValue {
        guard !isAtEnd else { throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array too short")) }
        defer { currentIndex += 1 }
        return values[currentIndex]
    }
    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, case .null = values[currentIndex] { currentIndex += 1; return true }
        return false
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeScalar(type, try next(), path: codingPath) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try next(), codingPath: codingPath).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superDecoder() throws -> Decoder { ValueDecoder(value: try next(), codingPath: codingPath) }
}

private struct SingleValueDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [CodingKey]
    func decodeNil() -> Bool { if case .null = value { return true }; return false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeScalar(type, value, path: codingPath) }
}
