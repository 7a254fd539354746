import CotflowCore

/// The task of a run as its summary.json repeats it at the head of the metrics, for readers of the
/// file: the sizes, the step size (as a number and exactly) and the seed. Every metrics type holds
/// one and encodes it flat (`encode(to:eta:beforeSeed:)`), so these keys are written in one place.
public struct TaskRecord: Codable, Sendable, Equatable {
    public var d, n, k: Int
    /// The GD step size, exact.
    public var eta: Rational
    public var seed: UInt64

    public init(d: Int, n: Int, k: Int, eta: Rational, seed: UInt64) {
        (self.d, self.n, self.k, self.eta, self.seed) = (d, n, k, eta, seed)
    }

    /// The task of a run that holds these fields itself.
    public init(_ run: some TaskRun) { self.init(d: run.d, n: run.n, k: run.k, eta: run.eta, seed: run.seed) }

    /// How the step size is written.
    public enum EtaLayout: Sendable {
        /// `"eta": 0.784..., "eta_exact": "40/51"` (`etaFields`).
        case numberAndExact
        /// `"eta": "40/51"`, as a run description records it.
        case exact
    }

    /// `d, n, k` and the step size as a number and exactly: the task a parameter file records.
    package var fileFields: [(String, JSONValue)] { [("d", .int(d)), ("n", .int(n)), ("k", .int(k))] + etaFields(eta) }

    private enum CodingKeys: String, CodingKey { case d, n, k, eta, etaExact = "eta_exact", seed }

    /// `d, n, k, eta, eta_exact, seed`.
    public func encode(to encoder: Encoder) throws { try encode(to: encoder, eta: .numberAndExact) }

    /// `d, n, k`, the step size as `layout` writes it, the fields `beforeSeed` writes, and `seed`.
    public func encode(to encoder: Encoder, eta layout: EtaLayout, beforeSeed: () throws -> Void = {}) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(d, forKey: .d); try c.encode(n, forKey: .n); try c.encode(k, forKey: .k)
        switch layout {
        case .numberAndExact: try c.encode(eta.doubleValue, forKey: .eta); try c.encode(eta, forKey: .etaExact)
        case .exact: try c.encode(eta, forKey: .eta)
        }
        try beforeSeed()
        try c.encode(seed, forKey: .seed)
    }

    /// Either layout: the exact step size from `eta_exact`, else from `eta` as text.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        (d, n, k) = (try c.decode(Int.self, forKey: .d), try c.decode(Int.self, forKey: .n), try c.decode(Int.self, forKey: .k))
        eta = try c.decodeIfPresent(Rational.self, forKey: .etaExact) ?? c.decode(Rational.self, forKey: .eta)
        seed = try c.decode(UInt64.self, forKey: .seed)
    }
}

/// A run of one task that holds its sizes, exact step size and seed as fields of its own (its
/// recorded description keeps them flat).
public protocol TaskRun {
    var d: Int { get }
    var n: Int { get }
    var k: Int { get }
    /// The GD step size, exact.
    var eta: Rational { get }
    var seed: UInt64 { get }
}
