import XCTest
@testable import CotflowCore

/// Every double the tool writes reads back to the same bits (issue 23): `JSONValue` writes the
/// shortest representation that round-trips, and `JSONInput` reads it with `Double(String)`.
final class RoundTripTests: XCTestCase {
    /// Doubles over the whole finite range, subnormals and signs included, from a fixed stream.
    private func doubles(_ count: Int) -> [Double] {
        var state: UInt64 = 0x9E3779B97F4A7C15
        var out: [Double] = [0.1, 1.0 / 3.0, -2.220446049250313e-16, 5e-324, .greatestFiniteMagnitude, -0.0]
        while out.count < count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let x = Double(bitPattern: state)
            if x.isFinite { out.append(x) }
        }
        return out
    }

    func testEveryWrittenDoubleReadsBackToTheSameBits() throws {
        let xs = doubles(20000)
        let text = JSONValue.object([("v", .numbers(xs))]).rendered()
        let object = try XCTUnwrap(try JSONInput.parse(Data(text.utf8), source: "test") as? [String: Any])
        let back = try XCTUnwrap(object["v"] as? [Any]).map { JSONInput.number($0) }
        XCTAssertEqual(back.count, xs.count)
        let mismatches = zip(xs, back).filter { $0.0.bitPattern != $0.1?.bitPattern }
        XCTAssertEqual(mismatches.count, 0, "first: \(mismatches.first.map { "\($0.0) read as \(String(describing: $0.1))" } ?? "")")
    }

    func testFoundationTypesAreKept() throws {
        let object = try XCTUnwrap(try JSONInput.parse(Data(#"{"d": 3, "x": 0.5, "b": true, "s": "a", "n": null, "a": [1]}"#.utf8), source: "t") as? [String: Any])
        XCTAssertEqual(object["d"] as? Int, 3)
        XCTAssertEqual(JSONInput.number(object["x"]!), 0.5)
        XCTAssertEqual(object["b"] as? Bool, true)
        XCTAssertNil(JSONInput.number(object["b"]!), "a boolean is not a number")
        XCTAssertEqual(object["s"] as? String, "a")
        XCTAssertTrue(object["n"] is NSNull)
        XCTAssertEqual((object["a"] as? [Any])?.count, 1)
    }

    func testDuplicateKeysAndBadTextAreRefusedNamingTheFile() {
        for (text, reason) in [(#"{"v": 1, "v": 2}"#, "duplicate key \"v\""), ("[1,", "unexpected end"), ("\u{FEFF}[1] x", "trailing characters")] {
            XCTAssertThrowsError(try JSONInput.parse(Data(text.utf8), source: "file.json")) { error in
                let message = describe(error)
                XCTAssertTrue(message.contains("file.json") && message.contains(reason), message)
            }
        }
        // A leading UTF-8 byte order mark (as Windows editors write) is skipped, as in CSV files.
        XCTAssertEqual((try? JSONInput.parse(Data("\u{FEFF}{\"d\": 3}".utf8), source: "bom.json") as? [String: Any])?["d"] as? Int, 3)
        XCTAssertThrowsError(try JSONInput.parse(Data([0x7B, 0xFF, 0x7D]), source: "bytes.json")) { error in
            XCTAssertTrue(describe(error).contains("not UTF-8"), describe(error))
        }
    }

    func testRerunComparisonSeesALastBitDifference() throws {
        let dir = NSTemporaryDirectory() + "roundtrip-\(getpid())"
        let a = dir + "/a", b = dir + "/b"
        try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: b, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let x = 0.1 + 0.2
        try JSONValue.object([("loss", .number(x))]).rendered().write(toFile: a + "/summary.json", atomically: true, encoding: .utf8)
        try JSONValue.object([("loss", .number(x.nextUp))]).rendered().write(toFile: b + "/summary.json", atomically: true, encoding: .utf8)
        let comparison = OutputComparison(original: a, rerun: b, tolerance: 0)
        XCTAssertEqual(comparison.compared, ["summary.json"])
        XCTAssertEqual(comparison.differences.count, 1, "one ulp apart must differ at tolerance 0")
    }
}
