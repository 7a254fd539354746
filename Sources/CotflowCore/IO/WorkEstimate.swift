import BigInt
import Foundation

// One estimate of a run's work and time, counted from its sizes before it runs: what `--estimate`
// prints, what the work limit refuses, and what the progress display's ETA weighs its phases by.
// The counts, the calibration and their measured error: notes/reliability.md, "Estimates".

/// What a run will compute, counted from its sizes before any allocation or sampling, by phase
/// and kind of operation, and the time that takes at this machine's measured rates.
public struct WorkEstimate: Sendable, Equatable {
    /// Kinds of operations, each with its own measured rate.
    public enum Kind: String, Sendable, CaseIterable {
        /// Floating-point operations of the per-prompt kernels (objectives, gradients, sampling),
        /// spread over every core.
        case kernel
        /// Floating-point operations on one core (a reduced flow's right-hand sides, eigensystems).
        case serial
        /// 64-bit limb products of the big-integer arithmetic of exact Wishart moments, on one core.
        case exact
    }

    /// A phase of a run (a training run, a flow, the columns of a Hessian): its operations of one kind.
    public struct Phase: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        public var operations: Double
        /// How the operations were counted, in words.
        public var basis: String
        /// The estimated steps of a flow phase (nil for other phases).
        public var steps: Double?

        public init(_ name: String, _ kind: Kind, operations: Double, basis: String, steps: Double? = nil) {
            (self.name, self.kind, self.operations, self.basis, self.steps) = (name, kind, operations, basis, steps)
        }
    }

    public var phases: [Phase]

    public init(_ phases: [Phase] = []) { self.phases = phases }

    /// Every phase's operations (of every kind) added.
    public var operations: Double { phases.reduce(0) { $0 + $1.operations } }

    /// The operations of one kind.
    public func operations(_ kind: Kind) -> Double { phases.filter { $0.kind == kind }.reduce(0) { $0 + $1.operations } }

    /// The phases of both, in order.
    public static func + (a: WorkEstimate, b: WorkEstimate) -> WorkEstimate { WorkEstimate(a.phases + b.phases) }

    /// Phases of equal name and kind merged (a sweep's points), in order of first appearance.
    public func merged() -> WorkEstimate {
        var out: [Phase] = []
        for p in phases {
            if let i = out.firstIndex(where: { $0.name == p.name && $0.kind == p.kind }) {
                out[i].operations += p.operations
                out[i].steps = out[i].steps.map { $0 + (p.steps ?? 0) } ?? p.steps
                if out[i].basis != p.basis { out[i].basis = "summed over runs" }
            } else {
                out.append(p)
            }
        }
        return WorkEstimate(out)
    }

    /// The estimated seconds of each phase at `rates`.
    public func phaseSeconds(_ rates: MachineRates = .current) -> [Double] {
        phases.map { $0.operations / rates.rate($0.kind) }
    }

    /// The estimated seconds of the whole run at `rates`.
    public func seconds(_ rates: MachineRates = .current) -> Double { phaseSeconds(rates).reduce(0, +) }

    /// Each phase's share of the estimated time (they add to 1; equal shares when nothing is counted).
    public func shares(_ rates: MachineRates = .current) -> [Double] {
        let s = phaseSeconds(rates), total = s.reduce(0, +)
        guard total > 0, total.isFinite else { return phases.map { _ in 1 / Double(max(phases.count, 1)) } }
        return s.map { $0 / total }
    }

    /// One line: the total operations and the time, e.g. "about 3.1e+12 operations, about 25 min on this machine".
    public func summary(_ rates: MachineRates = .current) -> String {
        let time = seconds(rates)
        return "about \(Self.count(operations)) operations, \(time < 0.1 ? "" : "about ")\(Self.duration(time)) on this machine"
    }

    /// The report `--estimate` prints: the total, each phase with its basis, and the rates.
    public func report(_ rates: MachineRates = .current, what: String) -> String {
        let seconds = phaseSeconds(rates)
        var lines = ["estimate of \(what): \(summary(rates))"]
        for (p, s) in zip(phases, seconds) {
            lines.append("  \(p.name): \(Self.count(p.operations)) \(p.kind.unit)\(p.steps.map { " (\(Self.count($0)) steps)" } ?? ""), "
                + "\(Self.duration(s)) (\(p.basis))")
        }
        lines.append("rates: \(rates.text)")
        var load = [Double](repeating: 0, count: 3)
        if getloadavg(&load, 3) >= 1, load[0] > Double(rates.cores) {
            lines.append("note: this machine's load average is \(String(format: "%.1f", load[0])) on \(rates.cores) cores: the times above are for free cores, shared ones take longer")
        }
        return lines.joined(separator: "\n")
    }

    /// The JSON of `--estimate --json` (notes/formats.md, "--estimate").
    public func json(_ rates: MachineRates = .current, what: String) -> JSONValue {
        let seconds = phaseSeconds(rates)
        let limit = ResourceLimit.workOperations
        return .object([
            ("estimate", .string(what)),
            ("operations", .number(operations)),
            ("seconds", .number(self.seconds(rates))),
            ("work_limit", .number(limit)),
            ("within_limit", .bool(operations <= limit && ResourceLimit.timeLimit.map { self.seconds(rates) <= $0 } ?? true)),
            ("phases", .array(zip(phases, seconds).map { p, s in
                var pairs: [(String, JSONValue)] = [("name", .string(p.name)), ("kind", .string(p.kind.rawValue)),
                                                    ("operations", .number(p.operations)), ("seconds", .number(s))]
                if let steps = p.steps { pairs.append(("steps", .number(steps))) }
                pairs.append(("basis", .string(p.basis)))
                return .object(pairs)
            })),
            ("rates", rates.json),
        ])
    }

    /// What `--estimate` prints: the report, or with `json` its JSON object.
    public func printed(what: String, json: Bool) -> String { json ? self.json(what: what).rendered() : report(what: what) }

    /// Throws an input error when the estimate is beyond the work limit (`COTFLOW_WORK_LIMIT`
    /// operations) or the time limit (`COTFLOW_TIME_LIMIT` seconds, if set), with the estimate
    /// in the message. `what` names the run and the options that set its size; `lower` says which
    /// options to lower.
    public func check(what: String, lower: String) throws {
        let limit = ResourceLimit.workOperations
        let overWork = !(operations.isFinite && operations <= limit)
        var overTime = false
        if !overWork, let timeLimit = ResourceLimit.timeLimit { overTime = !(seconds() <= timeLimit) }
        guard overWork || overTime else { return }
        let rates = MachineRates.current
        let main = zip(phases, phaseSeconds(rates)).max { $0.1 < $1.1 }
        let phaseText = main.map { ", most of it in \($0.0.name): \($0.0.basis)" } ?? ""
        let beyond = overWork
            ? "above the work limit of \(Self.count(limit)) operations (\(ResourceLimit.workEnvironmentKey))"
            : "above the time limit of \(Self.duration(ResourceLimit.timeLimit ?? 0)) (\(ResourceLimit.timeEnvironmentKey))"
        let key = overWork ? ResourceLimit.workEnvironmentKey : ResourceLimit.timeEnvironmentKey
        throw WorkLimitExceeded(description: "\(what) needs \(summary(rates))\(phaseText); \(beyond). "
            + "Add --estimate to see the estimate by phase, lower \(lower), or set \(key)=<\(overWork ? "operations" : "seconds")> to go past the limit")
    }

    /// A count for people: "3.1e+12", "4500".
    public static func count(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        return x < 1e5 ? String(format: "%.0f", x) : String(format: "%.2g", x)
    }

    /// A duration for people: "0.3 s", "12 s", "4.2 min", "3.1 h", "2.5 days", "3.4 years".
    public static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "forever" }
        if s < 0.1 { return "under 0.1 s" }
        if s < 10 { return String(format: "%.1f s", s) }
        if s < 120 { return String(format: "%.0f s", s) }
        if s < 7200 { return String(format: "%.1f min", s / 60) }
        if s < 172_800 { return String(format: "%.1f h", s / 3600) }
        if s < 2 * 31_557_600 { return String(format: "%.1f days", s / 86400) }
        return String(format: "%.2g years", s / 31_557_600)
    }
}

extension WorkEstimate.Kind {
    /// What is counted, for people.
    public var unit: String {
        switch self {
        case .kernel: return "flops (every core)"
        case .serial: return "flops (one core)"
        case .exact: return "limb products (exact moments)"
        }
    }
}

/// This machine's rates per kind of operation: measured once per process by a short run of each
/// kind (a few milliseconds), or given by `COTFLOW_MACHINE_RATES` (a cluster's compute nodes, tests).
public struct MachineRates: Sendable, Equatable {
    /// Floating-point operations per second on one core (small per-prompt products).
    public var flopsPerCore: Double
    /// 64-bit limb products per second of big-integer multiply-adds on one core.
    public var limbProducts: Double
    /// Cores the kernels spread over.
    public var cores: Int
    /// "measured" or the environment variable the rates came from.
    public var source: String

    public init(flopsPerCore: Double, limbProducts: Double, cores: Int, source: String) {
        (self.flopsPerCore, self.limbProducts, self.cores, self.source) = (flopsPerCore, limbProducts, max(cores, 1), source)
    }

    /// Operations of `kind` per second: the kernels run at about `kernelEfficiency` of the
    /// measured loop's rate (their loops are shorter and their data larger).
    public func rate(_ kind: WorkEstimate.Kind) -> Double {
        switch kind {
        case .kernel: return Self.kernelEfficiency * flopsPerCore * Double(cores)
        case .serial: return Self.kernelEfficiency * flopsPerCore
        case .exact: return limbProducts
        }
    }

    /// The kernels' share of the measured loop's rate (fitted against train, eval and the
    /// full-matrix flow: notes/reliability.md, "Estimates").
    public static let kernelEfficiency = 0.5

    /// The environment variable that gives the rates instead of measuring them:
    /// `flops=2e9,limbs=3e8,cores=2` (any of the three; the others measured).
    public static let environmentKey = "COTFLOW_MACHINE_RATES"

    /// The rates of this process: measured at first use, or from `COTFLOW_MACHINE_RATES`.
    public static var current: MachineRates { cached }

    private static let cached: MachineRates = {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var given: [String: Double] = [:]
        if let text = ProcessInfo.processInfo.environment[environmentKey] {
            for item in text.split(separator: ",") {
                let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, let x = Double(pair[1]), x.isFinite, x > 0 { given[pair[0]] = x }
            }
        }
        let flops = given["flops"] ?? measureFlops()
        let limbs = given["limbs"] ?? measureLimbProducts()
        return MachineRates(flopsPerCore: flops, limbProducts: limbs, cores: given["cores"].map { Int($0) } ?? cores,
                            source: given.isEmpty ? "measured" : environmentKey)
    }()

    /// Units of work per second of `round` (which does one round and returns its units), best of
    /// three runs of ~2 ms each.
    static func bestRate(_ round: () -> Int) -> Double {
        var best = 0.0
        for _ in 0..<3 {
            var units = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed: UInt64 = 0
            repeat {
                units += round()
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            } while elapsed < 2_000_000
            best = max(best, Double(units) / (Double(elapsed) * 1e-9))
        }
        return best
    }

    /// Flops per second of the kernels' typical loop: a 22 x 11 matrix times a vector (the query
    /// `W u` of d = 10), in scalar Swift as the kernels run it, best of three ~2 ms runs.
    static func measureFlops() -> Double {
        let rows = 22, cols = 11
        let a = (0..<(rows * cols)).map { Double($0 % 7) * 0.01 }
        var x = (0..<cols).map { Double($0 % 5) * 0.1 }, y = [Double](repeating: 0, count: rows)
        let rate = bestRate {
            a.withUnsafeBufferPointer { ap in
                x.withUnsafeMutableBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        for _ in 0..<200 {
                            for r in 0..<rows {
                                var acc = 0.0
                                for c in 0..<cols { acc += ap[r * cols + c] * xp[c] }
                                yp[r] = acc
                            }
                            // Feed back, so that no product can be skipped.
                            for c in 0..<cols { xp[c] = 0.5 * yp[c] }
                        }
                    }
                }
            }
            return 200 * 2 * rows * cols
        }
        withExtendedLifetime(x) {}
        return rate
    }

    /// Limb products per second of big-integer multiply-adds of 8-limb numbers (the size of the
    /// moments' integers at moderate degree), best of three ~2 ms runs.
    static func measureLimbProducts() -> Double {
        let limbs = 8
        let x = BigInt(3).power(limbs * 40), y = BigInt(7).power(limbs * 22)
        var acc = BigInt(0)
        let rate = bestRate {
            for _ in 0..<100 { acc += x * y; acc -= x * y }
            return 200 * x.words.count * y.words.count
        }
        withExtendedLifetime(acc) {}
        return rate
    }

    /// The rates in words.
    public var text: String {
        "\(WorkEstimate.count(flopsPerCore)) flops/s per core on \(cores) cores, \(WorkEstimate.count(limbProducts)) limb products/s (\(source))"
    }

    /// The rates as JSON.
    public var json: JSONValue {
        .object([("flops_per_core", .number(flopsPerCore)), ("limb_products_per_second", .number(limbProducts)),
                 ("cores", .int(cores)), ("source", .string(source))])
    }
}

/// A run refused before it starts because its estimate is beyond the work or time limit (bad
/// input, exit 64); the message gives the estimate and what would work.
public struct WorkLimitExceeded: ReportableError {
    public let description: String
    public var kind: ErrorKind { .input }

    /// Runs `body` (a run's validation); with `estimating` (`--estimate`), a refusal by the work
    /// limit is dropped: the estimate is what was asked for.
    package static func ignored(when estimating: Bool, _ body: () throws -> Void) throws {
        do { try body() } catch is WorkLimitExceeded where estimating {}
    }
}
