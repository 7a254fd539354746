import Foundation

/// Reading the JSON files a user gives (covariances, parameters, summaries): every error names
/// the file and says what is wrong. Parsing is `JSONReader`'s: numbers are read with `Double(String)`,
/// so every double the tool wrote reads back to the same bits (Foundation's JSONSerialization on
/// Linux loses the last bit of about a third of them), a duplicate key is an error, and nesting
/// is limited.
package enum JSONInput {
    /// Largest JSON file read (a parameter file at d = 2000 is about 1 GB).
    public static let maximumBytes = 2_000_000_000

    /// The bytes of `path`; `what` names the kind of file ("parameter file").
    public static func data(_ path: String, what: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CotflowError.input("cannot read \(what) \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CotflowError.input("cannot read \(what) \(path): it is a directory, not a JSON file") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > maximumBytes {
            throw CotflowError.input("\(what) \(path) has \(size.intValue) bytes, above the limit of \(maximumBytes)")
        }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CotflowError.input("cannot read \(what) \(path): \(describe(error))")
        }
    }

    /// The UTF-8 text of `path` (`data`'s checks).
    public static func text(_ path: String, what: String) throws -> String {
        guard let text = String(validating: try data(path, what: what), as: UTF8.self) else {
            throw CotflowError.input("\(what) \(path) is not valid JSON: it is not UTF-8 text")
        }
        return text
    }

    /// The parsed JSON value of `path` (objects, arrays, NSNumber, String, NSNull).
    public static func object(_ path: String, what: String) throws -> Any {
        try parse(data(path, what: what), source: "\(what) \(path)")
    }

    /// The parsed JSON value of `bytes` as Foundation values, numbers exact; errors name `source`.
    public static func parse(_ bytes: Data, source: String) throws -> Any {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CotflowError.input("\(source) is not valid JSON: it is not UTF-8 text")
        }
        return try JSONReader.parse(text, source: source).foundationObject
    }

    /// Foundation's parse error in words (its position, without the domain and code).
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        if case DecodingError.dataCorrupted(let c) = error {
            if let underlying = c.underlyingError { return reason(underlying) }
            return c.debugDescription
        }
        return describe(error)
    }

    /// A number of a JSON value, or nil (booleans are not numbers).
    public static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return n.doubleValue
    }

    /// A name for the JSON type of a value, for messages ("a string", "an array").
    public static func typeName(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return number(value) != nil ? "a number" : "true or false"
        }
    }
}
