import CotflowCore

/// What is wrong with a parameter file (`TransformerParameters.load`, `ParameterFileTask.read`)
/// or with saving parameters; every case names the file.
public enum ParameterFileError: ReportableError, Equatable {
    case cannotSave(path: String)
    case unreadable(path: String)
    case notAnObject(path: String)
    case notJSON(path: String, reason: String?)
    case topLevelType(path: String, type: String)
    case missingKey(path: String, key: String)
    case dType(path: String, type: String, value: String?)
    case notAnArray(path: String, key: String, type: String)
    case notANumber(path: String, key: String, index: Int, type: String)
    case wrongType(path: String, at: String)
    case decoding(path: String, message: String)
    case dRange(path: String, d: Int)
    case entryCount(path: String, key: String, count: Int, expected: Int, d: Int)
    case notFinite(path: String, key: String, index: Int)
    case taskInteger(path: String, key: String)
    case taskStepSize(path: String, key: String)
    case taskStepSizesDisagree(path: String, exact: String, float: Double)

    /// A file to read is the user's input (exit 64, as README says; `eval --load` gave 1 for the
    /// task fields before); saving non-finite parameters is a failure of the run.
    public var kind: ErrorKind {
        if case .cannotSave = self { return .failed }
        return .input
    }

    public var description: String {
        switch self {
        case .cannotSave(let path): return "cannot save parameters to \(path): they contain non-finite values"
        case .unreadable(let path): return "cannot read parameter file \(path)"
        case .notAnObject(let path): return "parameter file \(path) is not a JSON object"
        case let .notJSON(path, reason): return "parameter file \(path) is not valid JSON" + (reason.map { ": \($0)" } ?? "")
        case let .topLevelType(path, type): return "parameter file \(path) holds \(type); expected a JSON object with keys d, V, W"
        case let .missingKey(path, key): return "parameter file \(path): missing key \"\(key)\" (expected d, V, W)"
        case let .dType(path, type, value): return "parameter file \(path): \"d\" is \(type)\(value.map { " \($0)" } ?? ""), expected an integer"
        case let .notAnArray(path, key, type): return "parameter file \(path): \"\(key)\" is \(type), expected an array of numbers"
        case let .notANumber(path, key, index, type): return "parameter file \(path): \"\(key)\"[\(index)] is \(type), not a number"
        case let .wrongType(path, at):
            return "parameter file \(path): \(at.isEmpty ? "expected a JSON object with keys d, V, W" : "\(at) has the wrong type (expected an integer d and arrays of numbers V, W)")"
        case let .decoding(path, message): return "parameter file \(path): \(message)"
        case let .dRange(path, d): return "parameter file \(path): \"d\" must be from 1 to 100000 (got \(d))"
        case let .entryCount(path, key, count, expected, d): return "parameter file \(path): \"\(key)\" has \(count) entries, expected D*D = \(expected) for d = \(d)"
        case let .notFinite(path, key, index): return "parameter file \(path): \"\(key)\"[\(index)] is not finite"
        case let .taskInteger(path, key): return "parameter file \(path): \"\(key)\" must be an integer"
        case let .taskStepSize(path, key): return "parameter file \(path): \"\(key)\" is not a positive number"
        case let .taskStepSizesDisagree(path, exact, float):
            return "parameter file \(path): \"eta_exact\" \(exact) and \"eta\" \(float) disagree (eta must be the nearest double to eta_exact); the file was edited: fix or remove one of them"
        }
    }
}
