import CotflowCore
@testable import CotflowExperiments
import Foundation
import XCTest

/// Issue 22: one strict reader for the shards the tool reads back (merge, --resume), and the
/// scaling fits' model choice when a law has too few points for AICc.
final class StrictReaderTests: XCTestCase {
    /// A finished two-shard sweep of the synthetic metrics in a fresh directory.
    private func shardedSweep() throws -> String {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:3:4"])
        for i in 0..<2 {
            try runSweep(grid: grid, shard: try Shard(index: i, count: 2), directory: dir, metricNames: syntheticMetrics,
                         integerMetrics: ["flag"], run: syntheticRun)
        }
        return dir
    }

    private func tamper(_ dir: String, _ body: (String) -> String) throws {
        let path = (dir as NSString).appendingPathComponent("shard-0-of-2.json")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = body(text)
        XCTAssertNotEqual(changed, text, "the tampering applies")
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func testTamperedShardValuesAreRefusedByMergeAndResume() throws {
        XCTAssertNoThrow(try mergeShards(directory: try shardedSweep()), "the untampered sweep merges")
        let cases: [(String, (String) -> String, String)] = [
            ("a number beyond a double", { $0.replacingFirst(#""third": 0.3333333333333333"#, with: #""third": 1e999"#) }, "is not finite"),
            ("0.5 in an integer column", { $0.replacingFirst(#""flag": 1"#, with: #""flag": 0.5"#) }, "is not a whole number"),
            ("a text metric", { $0.replacingFirst(#""third": 0.3333333333333333"#, with: #""third": "0.3""#) }, "is not a number or null"),
            ("a status of two lines", { $0.replacingFirst(#""status": "ok""#, with: #""status": "ok\nfine""#) }, "not one line"),
        ]
        for (label, change, message) in cases {
            let dir = try shardedSweep()
            try tamper(dir, change)
            XCTAssertThrowsError(try mergeShards(directory: dir), label) { error in
                XCTAssertEqual((error as? ReportableError)?.kind, .input, label)
                XCTAssertTrue("\(error)".contains("shard-0-of-2.json") && "\(error)".contains(message), "\(label): \(error)")
            }
            XCTAssertThrowsError(try runSweep(grid: try SweepGrid(specs: ["x=0:3:4"]), shard: try Shard(index: 0, count: 2), directory: dir,
                                              metricNames: syntheticMetrics, integerMetrics: ["flag"], resume: true, run: syntheticRun), label)
        }
    }

    func testANegativeLossIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=1:4:4"])
        try runSweep(grid: grid, shard: try Shard(index: 0, count: 1), directory: dir, metricNames: ["final_loss"],
                     run: { p in ["final_loss": p["x"]! / 10] })
        let path = (dir as NSString).appendingPathComponent("shard-0-of-1.json")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingFirst(#""final_loss": 0.1"#, with: #""final_loss": -0.1"#).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try mergeShards(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("final_loss = -0.1 is negative"), "\(error)")
        }
    }

    func testAShardWithEveryPointButNotMarkedCompleteSaysSo() throws {
        let dir = try shardedSweep()
        try tamper(dir) { $0.replacingFirst(#""complete": true"#, with: #""complete": false"#) }
        XCTAssertThrowsError(try mergeShards(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("shard-0-of-2.json holds all 2 points but is not marked complete"), "\(error)")
            XCTAssertFalse("\(error)".contains("2 of 2 points done"), "\(error)")
        }
    }

    func testAnUnknownFigureMetricIsRefusedBeforeMergeWritesAnything() throws {
        let dir = try shardedSweep()
        XCTAssertThrowsError(try mergeShards(directory: dir, metric: "bogus")) { error in
            XCTAssertEqual((error as? ReportableError)?.kind, .input)
            XCTAssertTrue("\(error)".contains("bogus"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("sweep.tsv")))
    }

    func testMergeOfAMissingDirectoryIsAnInputError() {
        XCTAssertThrowsError(try mergeShards(directory: "/nonexistent/cotflow-sweep")) { error in
            XCTAssertEqual((error as? ReportableError)?.kind, .input)
        }
    }

    func testALawWithTooFewPointsForAICcIsNeverChosenNorCompared() throws {
        // y = 2 x^-1.5 exactly at 5 points: the power law (K = 3) has an AICc, the saturation law
        // (K = 4, N - K - 1 = 0) has none.
        let x = [1.0, 2, 3, 4, 5], y = x.map { 2 * pow($0, -1.5) }
        let analysis = try XCTUnwrap(ScalingAnalysis(x: x, y: y))
        let best = try XCTUnwrap(analysis.best)
        XCTAssertTrue(best.aicc.isFinite)
        XCTAssertNil(Cotflow_nonFinite(analysis.verdict), analysis.verdict)
        // At 4 points no law has an AICc: none is chosen, and the verdict says why.
        let four = try XCTUnwrap(ScalingAnalysis(x: Array(x.prefix(4)), y: Array(y.prefix(4))))
        XCTAssertNil(four.best)
        XCTAssertNil(Cotflow_nonFinite(four.verdict), four.verdict)
        XCTAssertTrue(four.verdict.contains("AICc needs more points"), four.verdict)
    }
}

/// A non-finite number in a text (`inf`, `nan`), or nil.
private func Cotflow_nonFinite(_ text: String) -> String? {
    guard let r = text.range(of: #"(^|[\s=(:,\[])[-+]?(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]) else { return nil }
    return String(text[r])
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
