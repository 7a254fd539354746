import CotflowCore
import Foundation

/// One axis of a sweep grid: a name and its values, in the order they are swept.
///
/// Spec forms: `name=lo:hi:count` (evenly spaced, both ends included), `name=lo:hi:count:log`
/// (geometric, both ends included, bounds positive) and `name=v1,v2,v3` (a list, in the order given).
public struct SweepAxis: Sendable, Equatable {
    public let name: String
    /// The spec text the axis was parsed from (whitespace removed).
    public let spec: String
    public let values: [Double]
    /// The axis takes integers: its values are written as JSON integers.
    public let integer: Bool

    public init(name: String, spec: String, values: [Double], integer: Bool = false) {
        self.name = name
        self.spec = spec
        self.values = values
        self.integer = integer
    }

    /// A value of this axis as JSON: an integer on an integer axis, else a float.
    public func json(_ x: Double) -> JSONValue {
        integer && x == x.rounded() && abs(x) < 1e15 ? .int(Int(x)) : .number(x)
    }

    /// Parses `name=lo:hi:count[:log]` or `name=v1,v2,...`.
    ///
    /// - Parameters:
    ///   - allowedNames: when given, the axis name must be one of these.
    ///   - integerNames: axes whose values must be integers. Values of a range on such an axis are
    ///     rounded to the nearest integer and repeats dropped (so `k=1:64:7:log` is 1, 2, 4, ..., 64);
    ///     a list on such an axis must hold integers.
    public static func parse(_ text: String, allowedNames: [String]? = nil, integerNames: Set<String> = []) throws -> SweepAxis {
        let spec = String(text.filter { !$0.isWhitespace })
        guard let eq = spec.firstIndex(of: "=") else {
            throw GridError.noEquals(spec: text)
        }
        let name = String(spec[..<eq])
        let body = String(spec[spec.index(after: eq)...])
        guard !name.isEmpty else { throw GridError.noName(spec: text) }
        if let allowedNames, !allowedNames.contains(name) {
            throw GridError.unknownName(name, spec: text, allowed: allowedNames)
        }
        guard !body.isEmpty else { throw GridError.noValues(axis: name) }
        let integer = integerNames.contains(name)
        var values: [Double]
        if body.contains(":") {
            values = try parseRange(body, name: name)
            if integer {
                var seen = Set<Double>()
                values = values.map { $0.rounded() }.filter { seen.insert($0).inserted }
            }
        } else {
            values = try parseList(body, name: name)
            if integer, let bad = values.first(where: { $0 != $0.rounded() }) {
                throw GridError.notInteger(axis: name, value: SweepFormat.number(bad))
            }
            if let repeated = firstRepeat(values) {
                throw GridError.repeatedInList(axis: name, value: SweepFormat.number(repeated))
            }
        }
        return SweepAxis(name: name, spec: spec, values: values, integer: integer)
    }

    private static func number(_ s: Substring, name: String, what: String) throws -> Double {
        guard let x = Double(s), x.isFinite else {
            throw GridError.notFinite(axis: name, what: what, text: String(s))
        }
        return x
    }

    private static func parseRange(_ body: String, name: String) throws -> [Double] {
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4 else {
            throw GridError.rangeFields(axis: name, body: body)
        }
        let lo = try number(parts[0], name: name, what: "lower bound")
        let hi = try number(parts[1], name: name, what: "upper bound")
        guard let count = Int(parts[2]) else {
            throw GridError.countNotInteger(axis: name, text: String(parts[2]))
        }
        var log = false
        if parts.count == 4 {
            switch parts[3] {
            case "log": log = true
            case "lin", "linear": log = false
            default: throw GridError.fourthField(axis: name, text: String(parts[3]))
            }
        }
        guard count >= 1 else { throw GridError.countBelowOne(axis: name, count: count) }
        guard lo <= hi else { throw GridError.loAboveHi(axis: name, lo: String(parts[0]), hi: String(parts[1])) }
        if log, !(lo > 0 && hi > 0) {
            throw GridError.logBounds(axis: name, lo: String(parts[0]), hi: String(parts[1]))
        }
        if count == 1 {
            guard lo == hi else {
                throw GridError.singlePoint(axis: name, lo: String(parts[0]))
            }
            return [lo]
        }
        guard count <= 10_000_000 else { throw GridError.countTooLarge(axis: name, count: count) }
        var values: [Double] = []
        for i in 0..<count {
            let t = Double(i) / Double(count - 1)
            let x: Double
            if i == 0 { x = lo } else if i == count - 1 { x = hi } else if log {
                x = Foundation.exp(Foundation.log(lo) + t * (Foundation.log(hi) - Foundation.log(lo)))
            } else {
                x = lo + t * (hi - lo)
            }
            values.append(SweepFormat.clean(x, digits: log ? 12 : 15))
        }
        if let repeated = firstRepeat(values) {
            throw GridError.repeatedInRange(axis: name, value: SweepFormat.number(repeated))
        }
        return values
    }

    private static func parseList(_ body: String, name: String) throws -> [Double] {
        let parts = body.split(separator: ",", omittingEmptySubsequences: false)
        var values: [Double] = []
        for part in parts {
            guard !part.isEmpty else { throw GridError.emptyListEntry(axis: name, body: body) }
            values.append(try number(part, name: name, what: "value"))
        }
        return values
    }

    private static func firstRepeat(_ values: [Double]) -> Double? {
        var seen = Set<Double>()
        for v in values where !seen.insert(v).inserted { return v }
        return nil
    }
}

/// A grid of 1 to 4 axes (a job takes at most 3 besides its replicate axis). Points are numbered in row-major order: the first axis varies slowest,
/// so point `index = i_0 * count_1 + i_1`; the numbering depends only on the axes.
public struct SweepGrid: Sendable, Equatable {
    public static let maximumAxes = 4
    public let axes: [SweepAxis]

    /// The axes as JSON: `[{"name", "spec", "type", "values"}, ...]`, `type` `int` or `float`.
    public var json: JSONValue {
        .array(axes.map { a in
            .object([("name", .string(a.name)), ("spec", .string(a.spec)), ("type", .string(a.integer ? "int" : "float")),
                     ("values", .array(a.values.map(a.json)))])
        })
    }

    public init(axes: [SweepAxis]) throws {
        guard !axes.isEmpty else { throw GridError.noAxes }
        guard axes.count <= SweepGrid.maximumAxes else {
            throw GridError.tooManyAxes(names: axes.map(\.name))
        }
        var names = Set<String>()
        for axis in axes {
            guard names.insert(axis.name).inserted else { throw GridError.axisTwice(axis.name) }
            guard !axis.values.isEmpty else { throw GridError.axisEmpty(axis.name) }
            guard SweepFormat.isPlainName(axis.name) else {
                throw GridError.axisName(axis.name)
            }
        }
        self.axes = axes
    }

    /// Parses each spec with `SweepAxis.parse` and checks the combination.
    public init(specs: [String], allowedNames: [String]? = nil, integerNames: Set<String> = []) throws {
        try self.init(axes: specs.map { try SweepAxis.parse($0, allowedNames: allowedNames, integerNames: integerNames) })
    }

    public var names: [String] { axes.map(\.name) }
    public var count: Int { axes.reduce(1) { $0 * $1.values.count } }
    /// The axis specs joined, e.g. `k=1:10:10 eta=0.1,0.5`.
    public var spec: String { axes.map(\.spec).joined(separator: " ") }

    /// The point with the given index (0 <= index < count).
    public func point(_ index: Int) -> SweepPoint {
        precondition(index >= 0 && index < count, "point index \(index) outside 0..<\(count)")
        var rest = index
        var positions = [Int](repeating: 0, count: axes.count)
        for a in axes.indices.reversed() {
            positions[a] = rest % axes[a].values.count
            rest /= axes[a].values.count
        }
        return SweepPoint(index: index, positions: positions, names: names,
                          values: axes.indices.map { axes[$0].values[positions[$0]] })
    }

    /// Every point, in index order.
    public var points: [SweepPoint] { (0..<count).map(point) }
}

/// One point of a grid.
public struct SweepPoint: Sendable, Equatable {
    public let index: Int
    /// Position along each axis.
    public let positions: [Int]
    public let names: [String]
    public let values: [Double]

    /// The value of the named axis, nil when the grid has no such axis.
    public subscript(name: String) -> Double? {
        names.firstIndex(of: name).map { values[$0] }
    }

    /// `k = 8, eta = 0.5`.
    public var label: String {
        zip(names, values).map { "\($0) = \(SweepFormat.number($1))" }.joined(separator: ", ")
    }
}

/// Number and name formatting shared by the TSV, JSON and report outputs.
package enum SweepFormat {
    /// Shortest round-trip text; integers without a decimal point; `nan`, `inf`, `-inf`.
    package static func number(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    /// A metric cell of a sweep table: `number(x)`, and an empty cell for NaN (not reached or not
    /// measured), which pandas and Python's csv module read as a missing value.
    package static func cell(_ x: Double) -> String {
        x.isNaN ? "" : number(x)
    }

    /// Rounds to `digits` significant digits so that grid values print as typed (0.3, not
    /// 0.30000000000000004; 10, not 9.99999999999999 from exp(log 10)).
    static func clean(_ x: Double, digits: Int = 15) -> Double {
        guard x.isFinite, x != 0 else { return x }
        return Double(String(format: "%.\(digits)g", x)) ?? x
    }

    static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && !s.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "=" || $0 == "," || $0 == "\"" })
    }

    /// A status or message on one line without tabs.
    static func oneLine(_ s: String) -> String {
        var out = ""
        var lastSpace = false
        for c in s {
            if c == "\t" || c == "\n" || c == "\r" || c == "\r\n" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = c == " "
            }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}
