import CGSL

/// GSL set-up and error reporting.
public enum GSL {
    private static let initialized: Bool = {
        cot_gsl_init()
        return true
    }()

    /// Turns GSL's abort-on-error handler off and pins OpenBLAS to one thread. Idempotent and
    /// thread-safe (a lazily initialised global); every entry point that touches GSL calls it.
    public static func initialize() {
        _ = initialized
    }

    /// Throws `GSLError` unless `status` is `GSL_SUCCESS`.
    public static func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        if status != GSL_SUCCESS { throw GSLError(status: status, context: context()) }
    }

    /// The shared library that serves `symbol` in this process (e.g. which CBLAS serves `cblas_dgemm`).
    public static func library(serving symbol: String) -> String? {
        initialize()
        guard let name = cot_symbol_library(symbol) else { return nil }
        return String(cString: name)
    }
}

/// A GSL status turned into a Swift error, with GSL's own description.
public struct GSLError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let context: String

    public init(status: Int32, context: String) {
        self.status = status
        self.context = context
    }

    public var reason: String { String(cString: gsl_strerror(status)) }
    public var description: String { "\(context): GSL error \(status) (\(reason))" }
}
