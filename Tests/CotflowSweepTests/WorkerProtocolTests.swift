@testable import CotflowSweep
import Foundation
import XCTest

/// The line protocol between `runSweep`'s process path and its worker processes.
final class WorkerProtocolTests: XCTestCase {
    private func roundTrip(_ message: SweepWorkerMessage, file: StaticString = #filePath, line: UInt = #line) throws -> SweepWorkerMessage {
        let text = message.line
        XCTAssertFalse(text.contains("\n") || text.contains("\r"), "one line: \(text)", file: file, line: line)
        return try SweepWorkerMessage(line: text)
    }

    func testRecordsRoundTripExactly() throws {
        let metrics: [Double] = [0.1, 1 / 3, -0.0, 0, .pi, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, -1e300,
                                 .infinity, -.infinity, .nan, -Double.nan, Double(bitPattern: 0x7ff8_0000_dead_beef), .signalingNaN]
        let statuses = ["ok", "", "flow failed: at t = 1e-3\nthe step\r\nwas refused", "a \\ backslash, \\n not a newline, trailing \\",
                        "  spaces  and\ttabs ", "unicode: η → ∞"]
        for status in statuses {
            guard case .record(let index, let back, let text) = try roundTrip(.record(index: 41, metrics: metrics, status: status)) else {
                return XCTFail("not a record")
            }
            XCTAssertEqual(index, 41)
            XCTAssertEqual(back.map(\.bitPattern), metrics.map(\.bitPattern), "every double arrives bit for bit")
            XCTAssertEqual(text, status)
        }
        guard case .record(_, let none, let ok) = try roundTrip(.record(index: 0, metrics: [], status: "ok")) else { return XCTFail() }
        XCTAssertEqual(none, [])
        XCTAssertEqual(ok, "ok")
    }

    func testPointsAndInterruptionsRoundTrip() throws {
        guard case .point(let index) = try roundTrip(.point(123_456)) else { return XCTFail() }
        XCTAssertEqual(index, 123_456)
        let reason = "SIGTERM received;\nthe finished points are kept \\ rerun"
        guard case .interrupted(let back) = try roundTrip(.interrupted(reason)) else { return XCTFail() }
        XCTAssertEqual(back, reason)
    }

    func testMalformedLinesAreRefused() {
        for line in ["", "point", "point -1", "point x", "point 1 2", "record 1 3ff0000000000000", "record 1 xyz ok",
                     "record -1 - \"ok\"", "record 1 - ok", "record 1 - \"bad \\q escape\"", "record 1 - \"unterminated", "hello 1", "interrupted"] {
            XCTAssertThrowsError(try SweepWorkerMessage(line: line), line)
        }
    }
}
