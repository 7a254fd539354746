@testable import CotflowCore
@testable import CotflowModel
import Foundation
import XCTest

/// Issue 23, item 4: a double the tool writes reads back to the same bits through each file it reads
/// back: parameters.json (`TransformerParameters.load`, `eval --load`, `hessian --load`), summary.json
/// (`LossStatistics` and every run's metrics, read by `rerun`) and `exact ... --from` (which reads the
/// `v`, `w` arrays of a summary.json as `NSNumber`s from `JSONInput`).
final class DoubleRoundTripTests: XCTestCase {
    /// Random bit patterns over the whole finite range (signs, subnormals, extremes) from a fixed stream,
    /// after the edge cases.
    private func doubles(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        var out: [Double] = [5e-324, -5e-324, Double.leastNormalMagnitude, Double.leastNormalMagnitude.nextDown,
                             .greatestFiniteMagnitude, -.greatestFiniteMagnitude, -0.0, 0.0, 0.1, 1.0 / 3.0, 1e23, 9007199254740994]
        while out.count < count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let bits = state ^ (state >> 29)
            // Every fourth one a subnormal (exponent bits cleared).
            let x = Double(bitPattern: out.count % 4 == 0 ? bits & 0x800F_FFFF_FFFF_FFFF : bits)
            if x.isFinite { out.append(x) }
        }
        return out
    }

    private func assertSameBits(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let first = zip(a, b).first { $0.0.bitPattern != $0.1.bitPattern }
        XCTAssertNil(first, "\(what): \(first.map { "\($0.0) read back as \($0.1)" } ?? "")", file: file, line: line)
    }

    private func directory() throws -> String {
        let dir = NSTemporaryDirectory() + "double-roundtrip-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testParameterFilesReadBackTheSameBits() throws {
        let dir = try directory()
        let d = 20, entries = (2 * d + 2) * (2 * d + 2)
        for seed in [1, 2, 3] as [UInt64] {
            let xs = doubles(2 * entries, seed: seed)
            let p = TransformerParameters(d: d, V: Array(xs[..<entries]), W: Array(xs[entries...]))
            let path = dir + "/parameters_\(seed).json"
            try p.save(to: path, provenance: Provenance(arguments: ["test"], settings: []), task: [("d", .int(d))])
            let back = try TransformerParameters.load(from: path)
            assertSameBits(back.V, p.V, "V (seed \(seed))")
            assertSameBits(back.W, p.W, "W (seed \(seed))")
        }
    }

    func testSummaryValuesReadBackTheSameBits() throws {
        let dir = try directory()
        let xs = doubles(6000, seed: 4)
        // The `--from` route: a summary's arrays read through JSONInput as NSNumbers.
        let path = dir + "/summary.json"
        try writeText(JSONValue.object([("v", .numbers(xs)), ("w24", .number(xs[7]))]).rendered() + "\n", to: path)
        let object = try XCTUnwrap(try JSONInput.object(path, what: "summary") as? [String: Any])
        let v = try XCTUnwrap(object["v"] as? [Any]).compactMap { ($0 as? NSNumber)?.doubleValue }
        assertSameBits(v, xs, "--from v")
        XCTAssertEqual((object["w24"] as? NSNumber)?.doubleValue.bitPattern, xs[7].bitPattern)

        // The typed route of every run's summary (`rerun`): statistics encoded, rendered, parsed, decoded.
        struct Summary: Codable {
            var s: LossStatistics
            init(_ s: LossStatistics) { self.s = s }
            func encode(to encoder: Encoder) throws { try s.encode(to: encoder, prefix: "eval_loss_") }
            init(from decoder: Decoder) throws { s = try LossStatistics(from: decoder, prefix: "eval_loss_") }
        }
        var stats = LossStatistics(SampleSummary((1...200).map(Double.init)))
        for i in stride(from: 0, to: xs.count - 10, by: 10) {
            (stats.mean, stats.standardError, stats.median, stats.p90, stats.p99) = (xs[i], xs[i + 1], xs[i + 2], xs[i + 3], xs[i + 4])
            (stats.maximum, stats.topPercentShare, stats.divergedFraction, stats.trimmedMean) = (xs[i + 5], xs[i + 6], xs[i + 7], xs[i + 8])
            (stats.tailIndex, stats.tailIndexStandardError) = (xs[i + 9], xs[i + 10])
            let text = try JSONValue.encoding(Summary(stats)).rendered()
            let back = try JSONReader.parse(text).decoded(as: Summary.self).s
            assertSameBits([back.mean, back.standardError, back.median, back.p90, back.p99, back.maximum, back.topPercentShare,
                            back.divergedFraction, back.trimmedMean, back.tailIndex, back.tailIndexStandardError],
                           Array(xs[i...(i + 10)]), "summary statistics at \(i)")
        }
    }
}
