import CotflowCore
import Foundation

/// The task a parameter file was trained on: d, n, k and eta where it records them
/// (`eta_exact` first, else `eta` as a string or number).
public struct ParameterFileTask: Sendable {
    public var d: Int?
    public var n: Int?
    public var k: Int?
    public var eta: Rational?

    public static func read(_ path: String) throws -> ParameterFileTask {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParameterFileError.unreadable(path: path)
        }
        // The exact reader: JSONSerialization loses the last bit of some doubles (eta = 8/11 read one ulp off).
        // A file that does not parse says why (a duplicate key, where it is truncated), not only that it is no object.
        guard let object = try JSONInput.parse(data, source: "parameter file \(path)") as? [String: Any] else {
            throw ParameterFileError.notAnObject(path: path)
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value as? NSNumber, let i = Int(exactly: number.doubleValue) else {
                throw ParameterFileError.taskInteger(path: path, key: key)
            }
            return i
        }
        var eta: Rational?
        for key in ["eta_exact", "eta"] where eta == nil {
            if let text = object[key] as? String { eta = Rational.parse(text) } else if let x = object[key] as? NSNumber { eta = Rational.parse(x.stringValue) }
            if object[key] != nil, eta == nil || !(eta! > Rational.zero) {
                throw ParameterFileError.taskStepSize(path: path, key: key)
            }
        }
        // Both written: the float must be the exact value's nearest double, as the writer makes it.
        if let exact = object["eta_exact"] as? String, let float = object["eta"] as? NSNumber, let eta,
           Rational.parse(exact) != nil, float.doubleValue != eta.doubleValue {
            throw ParameterFileError.taskStepSizesDisagree(path: path, exact: exact, float: float.doubleValue)
        }
        return ParameterFileTask(d: try integer("d"), n: try integer("n"), k: try integer("k"), eta: eta)
    }
}
