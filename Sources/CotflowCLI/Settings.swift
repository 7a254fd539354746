import ArgumentParser
import CotflowModel
import CotflowCore
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

/// Prints `cotflow: warning: text` on stderr.
func warn(_ text: String) {
    FileHandle.standardError.write("cotflow: warning: \(text)\n".data(using: .utf8)!)
}
