import CotflowCore
import Foundation

/// The metrics of one sweep point, typed. The columns of the sweep's files are the coding keys, in
/// the order the type codes them; `Int` and `Bool` fields are integer columns (written as JSON
/// integers; a `Bool` is 0 or 1); an optional that is nil is an empty cell (NaN).
public protocol SweepMetricRow: Codable, Sendable {}

/// One column of a metrics type.
public struct MetricColumn: Sendable, Equatable {
    public let name: String
    public let integer: Bool
}

extension SweepMetricRow {
    /// The columns, from the coding keys of `init(from:)`, in order.
    public static var columns: [MetricColumn] {
        let probe = MetricRowDecoder(values: [:], probing: true)
        _ = try? Self(from: probe)
        return probe.storage.columns
    }

    /// The values by column name (nil optionals and unmeasured values: NaN).
    public var row: [String: Double] {
        let encoder = MetricRowEncoder()
        // The row encoder throws on nothing a metrics struct holds (numbers, flags, optionals).
        try? encode(to: encoder)
        return encoder.storage.values
    }

    /// The metrics of a record of a sweep with these columns (a sweep's file read back): `nil`
    /// when a non-optional field has no finite value there (a failed point).
    public init?(names: [String], values: [Double]) {
        var map: [String: Double] = [:]
        for (name, value) in zip(names, values) { map[name] = value }
        guard let decoded = try? Self(from: MetricRowDecoder(values: map, probing: false)) else { return nil }
        self = decoded
    }
}

// MARK: - The coders behind `columns`, `row` and `init(names:values:)`

final class MetricRowStorage {
    var columns: [MetricColumn] = []
    var values: [String: Double] = [:]
    func add(_ key: CodingKey, integer: Bool) {
        if !columns.contains(where: { $0.name == key.stringValue }) { columns.append(MetricColumn(name: key.stringValue, integer: integer)) }
    }
}

struct MetricRowEncoder: Encoder {
    var storage = MetricRowStorage()
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(MetricRowEncodingContainer<Key>(storage: storage))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer { fatalError("a metrics row holds named numbers only") }
    func singleValueContainer() -> SingleValueEncodingContainer { fatalError("a metrics row holds named numbers only") }
}

struct MetricRowEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let storage: MetricRowStorage
    var codingPath: [CodingKey] = []
    private func put(_ x: Double, _ key: Key, integer: Bool) {
        storage.add(key, integer: integer)
        storage.values[key.stringValue] = x
    }
    private func unsupported(_ key: Key) -> EncodingError {
        EncodingError.invalidValue(key.stringValue, .init(codingPath: [key], debugDescription: "a metric is a number, an integer or a flag"))
    }
    mutating func encodeNil(forKey key: Key) throws { put(.nan, key, integer: false) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(value, key, integer: false) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(Double(value), key, integer: true) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(value ? 1 : 0, key, integer: true) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { put(value ?? .nan, key, integer: false) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { put(value.map(Double.init) ?? .nan, key, integer: true) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { put(value.map { $0 ? 1 : 0 } ?? .nan, key, integer: true) }
    mutating func encode(_ value: String, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(Double(value), key, integer: false) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { throw unsupported(key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw unsupported(key) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(MetricRowEncodingContainer<NestedKey>(storage: storage))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer { fatalError("a metrics row holds named numbers only") }
    mutating func superEncoder() -> Encoder { MetricRowEncoder(storage: storage) }
    mutating func superEncoder(forKey key: Key) -> Encoder { MetricRowEncoder(storage: storage) }
}

/// Reads a metrics value from its row; with `probing`, records the columns asked for (with their
/// types) and answers NaN, 0 or false.
struct MetricRowDecoder: Decoder {
    let values: [String: Double]
    let probing: Bool
    let storage = MetricRowStorage()
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(MetricRowDecodingContainer<Key>(decoder: self))
    }
    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Double].self, .init(codingPath: [], debugDescription: "a metrics row holds named numbers only"))
    }
    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Double.self, .init(codingPath: [], debugDescription: "a metrics row holds named numbers only"))
    }
}

struct MetricRowDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: MetricRowDecoder
    var codingPath: [CodingKey] = []
    var allKeys: [Key] { decoder.values.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { decoder.probing || decoder.values[key.stringValue] != nil }

    /// The finite value of `key` (NaN while probing), nil when there is none.
    private func value(_ key: Key, integer: Bool) -> Double? {
        if decoder.probing {
            decoder.storage.add(key, integer: integer)
            return .nan
        }
        guard let x = decoder.values[key.stringValue], !x.isNaN else { return nil }
        return x
    }
    private func missing(_ key: Key) -> DecodingError {
        .valueNotFound(Double.self, .init(codingPath: [key], debugDescription: "no value for \(key.stringValue)"))
    }
    private func integer(_ x: Double, _ key: Key) throws -> Int {
        if decoder.probing { return 0 }
        guard x.isFinite, x == x.rounded(), abs(x) < 1e15 else { throw missing(key) }
        return Int(x)
    }

    func decodeNil(forKey key: Key) throws -> Bool { value(key, integer: false) == nil }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        if decoder.probing { _ = value(key, integer: false); return .nan }
        // A non-optional real metric may be NaN (not reached): it is kept as NaN.
        return decoder.values[key.stringValue] ?? .nan
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        guard let x = value(key, integer: true) else { throw missing(key) }
        return try integer(x, key)
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        guard let x = value(key, integer: true) else { throw missing(key) }
        return x == 1
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { value(key, integer: false) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try value(key, integer: true).map { try integer($0, key) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { value(key, integer: true).map { $0 == 1 } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "a metric is a number, an integer or a flag"))
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(MetricRowDecodingContainer<NestedKey>(decoder: decoder))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try decoder.unkeyedContainer() }
    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder { decoder }
}
