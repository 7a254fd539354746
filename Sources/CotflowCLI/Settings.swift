import ArgumentParser
import CotflowFlow
import CotflowODE
import CotflowSupport
import Foundation

// The settings each option group contributes to the provenance of summary.json and parameter
// files (every setting, defaults included, under the option's name with underscores).

extension TaskOptions {
    func settings(eta: Rational) -> [(String, JSONValue)] {
        [("d", .int(d)), ("n", .int(n)), ("k", .int(k))] + etaFields(eta) + [("seed", .int(Int(truncatingIfNeeded: seed)))]
    }
}

extension InitScaleOptions {
    func settings(_ ranges: (v: ClosedRange<Double>, w: ClosedRange<Double>)) -> [(String, JSONValue)] {
        [("init_scale", .number(initScale)),
         ("v_range", .numbers([ranges.v.lowerBound, ranges.v.upperBound])),
         ("w_range", .numbers([ranges.w.lowerBound, ranges.w.upperBound]))]
    }
}

extension FlowOptions {
    /// The solver and stopping settings of a flow (`cotflow ode`, `sweep`, `compare`).
    var settings: [(String, JSONValue)] {
        var pairs: [(String, JSONValue)] = [
            ("stepper", .string(ode.stepper.rawValue)), ("abs_tol", .number(ode.absoluteTolerance)),
            ("rel_tol", .number(ode.relativeTolerance)), ("max_steps", .int(ode.maximumSteps)),
            ("t_end", .number(ode.endTime)), ("stop_loss", .number(stopRelativeLoss)),
            ("stop_stall", .number(stopStall)), ("min_step", .number(ode.minimumStep)),
            ("initial_step", ode.initialStep.map { .number($0) } ?? .null),
        ]
        switch ode.grid {
        case .logarithmic(let points, let first): pairs += [("grid", .string("log")), ("points", .int(points)), ("t_first", .number(first))]
        case .linear(let points): pairs += [("grid", .string("linear")), ("points", .int(points))]
        case .everyStep: pairs += [("grid", .string("steps"))]
        case .times(let times): pairs += [("grid", .string("times")), ("times", .numbers(times))]
        }
        return pairs
    }
}

extension OutputOptions {
    /// Writes `object` with the provenance first, as `name` in --out.
    func write(summary object: JSONValue, _ name: String = "summary.json") throws {
        try write(object.rendered() + "\n", name)
    }
}

/// `provenance` followed by the pairs of `object` (which must be an object).
func withProvenance(_ provenance: Provenance, _ object: JSONValue) -> JSONValue {
    guard case .object(let pairs) = object else { return object }
    return .object(provenance.json + pairs)
}

/// True when `--name` (or `--name=value`) is on the command line, so that a value read from a
/// file can yield to an option the user gave explicitly.
func optionGiven(_ name: String, arguments: [String] = CommandLine.arguments) -> Bool {
    arguments.dropFirst().contains { $0 == "--\(name)" || $0.hasPrefix("--\(name)=") }
}

/// Prints `cotflow: warning: text` on stderr.
func warn(_ text: String) {
    FileHandle.standardError.write("cotflow: warning: \(text)\n".data(using: .utf8)!)
}

/// The task a parameter file was trained on: d, n, k and eta where it records them
/// (`eta_exact` first, else `eta` as a string or number).
struct ParameterFileTask {
    var d: Int?
    var n: Int?
    var k: Int?
    var eta: Rational?

    static func read(_ path: String) throws -> ParameterFileTask {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CotflowError("cannot read parameter file \(path)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CotflowError("parameter file \(path) is not a JSON object")
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value as? NSNumber, let i = Int(exactly: number.doubleValue) else {
                throw CotflowError("parameter file \(path): \"\(key)\" must be an integer")
            }
            return i
        }
        var eta: Rational?
        for key in ["eta_exact", "eta"] where eta == nil {
            if let text = object[key] as? String { eta = Rational.parse(text) } else if let x = object[key] as? NSNumber { eta = Rational.parse(x.stringValue) }
            if object[key] != nil, eta == nil || !(eta! > Rational.zero) {
                throw CotflowError("parameter file \(path): \"\(key)\" is not a positive number")
            }
        }
        return ParameterFileTask(d: try integer("d"), n: try integer("n"), k: try integer("k"), eta: eta)
    }
}
