import CotflowCore

/// The sizes and step size a run accepts, checked before any work, with messages that name the
/// options of the command line.
public enum TaskLimits {
    /// Largest d, n and k: beyond them the arithmetic on sizes (n + d + 1, (2d + 2)^2, 2k) could
    /// overflow, and every command's memory or time would be out of reach anyway.
    public static let maximumD = 100_000, maximumN = 1_000_000_000, maximumK = 1_000_000

    /// d, n and k (nil: not checked) within their limits.
    public static func check(d: Int? = nil, n: Int? = nil, k: Int? = nil) throws {
        if let d, !(1...maximumD).contains(d) { throw TaskOptionError("--d must be from 1 to \(maximumD) (got \(d))") }
        if let n, !(1...maximumN).contains(n) { throw TaskOptionError("--n must be from 1 to \(maximumN) (got \(n))") }
        if let k, !(1...maximumK).contains(k) { throw TaskOptionError("--k must be from 1 to \(maximumK) (got \(k))") }
    }

    /// A step size given as text (a decimal or a rational such as 20/31), exact and checked.
    public static func stepSize(_ text: String) throws -> Rational {
        guard let value = Rational.parse(text) else { throw TaskOptionError("--eta must be a decimal or a rational such as 20/31 (got '\(text)')") }
        guard value > Rational.zero else { throw TaskOptionError("--eta must be positive (got \(text))") }
        guard value.doubleValue.isFinite, value.doubleValue >= 1e-300, value.doubleValue <= 1e300 else {
            throw TaskOptionError("--eta = \(text) is outside [1e-300, 1e300]: not representable in double precision")
        }
        return value
    }
}

/// A task setting outside what a run accepts (bad input).
public struct TaskOptionError: ReportableError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var kind: ErrorKind { .input }
}
