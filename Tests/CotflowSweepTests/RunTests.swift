import CotflowCore
@testable import CotflowExperiments
import Foundation
import XCTest

/// A fresh temporary directory, removed after the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("cotflow-sweep-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

func readText(_ dir: String, _ name: String) throws -> String {
    try String(contentsOfFile: (dir as NSString).appendingPathComponent(name), encoding: .utf8)
}

func readJSON(_ dir: String, _ name: String) throws -> JSONValue {
    try JSONReader.parse(try readText(dir, name))
}

/// Cheap synthetic metrics of a point (x, y): smooth, with a non-finite value and awkward doubles.
func syntheticRun(_ p: SweepPoint) throws -> [String: Double] {
    let x = p["x"] ?? 0, y = p["y"] ?? 0
    return ["square": x * x + y, "third": (x + 1) / 3, "inverse": x == 0 ? .infinity : 1 / x,
            "tiny": 1e-300 * (x + 2), "flag": x < 3 ? 1 : 0]
}

let syntheticMetrics = ["square", "third", "inverse", "tiny", "flag"]

final class RunTests: XCTestCase {
    /// Every point rewrote both shard files with every record so far: O(points^2) bytes (a shard of
    /// 5000 quick points ran past a minute against its 5 s estimate). They are now rewritten at most
    /// every `SweepFiles.writeInterval`, and at the end with every record.
    func testAShardOfManyQuickPointsIsNotRewrittenAfterEveryPoint() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:499:500"])
        let json = (dir as NSString).appendingPathComponent(Shard.whole.fileStem + ".json")
        var versions = Set<UInt64>()
        let outcome = try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: syntheticMetrics, run: syntheticRun) { _, _ in
            // A rewrite renames a new file into place: a new inode.
            var info = stat()
            if stat(json, &info) == 0 { versions.insert(UInt64(info.st_ino)) }
        }
        XCTAssertEqual(outcome.records.count, 500)
        // 500 points of microseconds each: one rewrite a second at most, not one a point.
        XCTAssertLessThan(versions.count, 50, "\(versions.count) versions of the shard file over 500 points")
        let records = try readJSON(dir, Shard.whole.fileStem + ".json")["records"]?.arrayValue ?? []
        XCTAssertEqual(records.count, 500)
    }

    func testUnshardedRunWritesTablesJSONAndMergedFiles() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:5:6", "y=0.5,1"])
        // A temporary file left by a killed run is cleaned up.
        try SweepFiles.writeAtomically("partial", to: (dir as NSString).appendingPathComponent(".shard-0-of-1.json.tmp-99999"))
        var calls: [Int] = []
        var progress: [Int] = []
        let outcome = try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: syntheticMetrics,
                                   settings: [("mode", .string("test"))],
                                   run: { calls.append($0.index); return try syntheticRun($0) },
                                   progress: { done, total in XCTAssertEqual(total, 12); progress.append(done) })
        XCTAssertEqual(calls, Array(0..<12))
        XCTAssertEqual(progress, Array(1...12))
        XCTAssertEqual(outcome.records.count, 12)
        XCTAssertEqual(outcome.failed, 0)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(names, [".cotflow.lock", "shard-0-of-1.tsv", "shard-0-of-1.json", "sweep.tsv", "sweep.json", "report.txt"])
        let tsv = try readText(dir, "sweep.tsv").split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(tsv.first, "index\tx\ty\tsquare\tthird\tinverse\ttiny\tflag\tstatus")
        XCTAssertEqual(tsv.count, 14) // header, 12 rows, final empty piece after the last newline
        XCTAssertEqual(tsv[1], "0\t0\t0.5\t0.5\t\(1.0 / 3)\tinf\t2e-300\t1\tok")
        XCTAssertEqual(try readText(dir, "sweep.tsv"), try readText(dir, "shard-0-of-1.tsv"))
        let json = try readJSON(dir, "shard-0-of-1.json")
        XCTAssertEqual(json["complete"]?.boolValue, true)
        XCTAssertEqual(json["records"]?.arrayValue?.count, 12)
        XCTAssertEqual(json["settings"]?["mode"]?.stringValue, "test")
        XCTAssertEqual(json["records"]?.arrayValue?[0]["metrics"]?["inverse"]?.stringValue, "inf")
        XCTAssertEqual(try readJSON(dir, "sweep.json")["complete"]?.boolValue, true)
        // The files are assembled from pre-rendered records; they are exactly the rendering of the whole object.
        for name in ["shard-0-of-1.json", "sweep.json"] {
            XCTAssertEqual(try readJSON(dir, name).rendered() + "\n", try readText(dir, name), name)
        }
    }

    func testOutputsAreValidDuringTheRunAndHoldEveryPointAfterAnInterruption() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:9:10"])
        let shard = try Shard(index: 0, count: 1)
        XCTAssertThrowsError(try runSweep(grid: grid, shard: shard, directory: dir, metricNames: syntheticMetrics, run: { p in
            // Before each point the files are valid and hold finished points in order: those of the last
            // rewrite (at most every `SweepFiles.writeInterval`), every one after a stop (below).
            let json = try readJSON(dir, "shard-0-of-1.json")
            let written = json["records"]?.arrayValue?.map { $0["index"]?.intValue ?? -1 } ?? [-1]
            XCTAssertEqual(written, Array(0..<written.count))
            XCTAssertLessThanOrEqual(written.count, p.index)
            XCTAssertEqual(json["complete"]?.boolValue, false)
            XCTAssertEqual(try readText(dir, "shard-0-of-1.tsv").split(separator: "\n").count, written.count + 1)
            if p.index == 6 { throw SweepInterrupted("test stop") }
            return try syntheticRun(p)
        })) { error in XCTAssertTrue(error is SweepInterrupted) }
        let json = try readJSON(dir, "shard-0-of-1.json")
        XCTAssertEqual(json["complete"]?.boolValue, false)
        XCTAssertEqual(json["done"]?.intValue, 6)
        XCTAssertEqual(json["records"]?.arrayValue?.count, 6)
        let rows = try readText(dir, "shard-0-of-1.tsv").split(separator: "\n")
        XCTAssertEqual(rows.count, 7)
        XCTAssertTrue(rows.allSatisfy { $0.split(separator: "\t", omittingEmptySubsequences: false).count == 8 })
        XCTAssertFalse(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("sweep.tsv")))
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains(".tmp") })
        assertThrows(try mergeShards(directory: dir), containing: "shard-0-of-1.json is incomplete", "6 of 10", "missing points 6, 7, 8, 9")

        // A cancellation stops a sweep in the same way.
        let dir2 = try temporaryDirectory(self)
        XCTAssertThrowsError(try runSweep(grid: grid, shard: shard, directory: dir2, metricNames: ["square"], run: { p in
            if p.index == 2 { throw CancellationError() }
            return try syntheticRun(p)
        })) { error in XCTAssertTrue(error is CancellationError) }
        XCTAssertEqual(try readJSON(dir2, "shard-0-of-1.json")["records"]?.arrayValue?.count, 2)

        // Resuming runs only the missing points and ends with the same bytes as an uninterrupted run.
        var rerun: [Int] = []
        let outcome = try runSweep(grid: grid, shard: shard, directory: dir, metricNames: syntheticMetrics, resume: true,
                                   run: { rerun.append($0.index); return try syntheticRun($0) })
        XCTAssertEqual(rerun, [6, 7, 8, 9])
        XCTAssertEqual(outcome.resumed, 6)
        let fresh = try temporaryDirectory(self)
        try runSweep(grid: grid, shard: shard, directory: fresh, metricNames: syntheticMetrics, run: syntheticRun)
        for name in ["shard-0-of-1.tsv", "shard-0-of-1.json", "sweep.tsv", "sweep.json", "report.txt"] {
            XCTAssertEqual(try readText(dir, name), try readText(fresh, name), name)
        }
        // Resuming with another grid is refused.
        assertThrows(try runSweep(grid: try SweepGrid(specs: ["x=0:9:5"]), shard: shard, directory: dir, metricNames: syntheticMetrics,
                                  resume: true, run: syntheticRun), containing: "cannot resume", "another sweep")
    }

    func testAFailingPointIsRecordedAndTheSweepGoesOn() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:5:6"])
        let outcome = try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: syntheticMetrics, run: { p in
            if p.index == 2 { throw CotflowError("bad\tpoint\nhere") }
            if p.index == 4 { throw SweepPointFailure("partly done", metrics: ["square": 99]) }
            return try syntheticRun(p)
        })
        XCTAssertEqual(outcome.records.count, 6)
        XCTAssertEqual(outcome.failed, 2)
        XCTAssertEqual(outcome.records[2].status, "bad point here")
        XCTAssertTrue(outcome.records[2].metrics.allSatisfy(\.isNaN))
        XCTAssertEqual(outcome.records[4].status, "partly done")
        XCTAssertEqual(outcome.records[4].metrics[0], 99)
        XCTAssertTrue(outcome.records[4].metrics[1].isNaN)
        XCTAssertTrue(outcome.records[5].succeeded)
        let rows = try readText(dir, "sweep.tsv").split(separator: "\n")
        // A metric not measured is an empty cell (never the text nan); in JSON it is null.
        XCTAssertEqual(rows[3], "2\t2\t\t\t\t\t\tbad point here")
        XCTAssertEqual(rows[5], "4\t4\t99\t\t\t\t\tpartly done")
        XCTAssertEqual(try readJSON(dir, "sweep.json")["records"]?.arrayValue?[4]["metrics"]?["third"]?.rendered(), "null")
        XCTAssertEqual(try readJSON(dir, "sweep.json")["failed"]?.intValue, 2)
        let report = try readText(dir, "report.txt")
        XCTAssertTrue(report.contains("4 ok, 2 failed"), report)
        XCTAssertTrue(report.contains("failed at x = 2: bad point here"), report)
    }

    func testMergingShardsGivesTheBytesOfTheUnshardedRun() throws {
        let grid = try SweepGrid(specs: ["x=0:6:7", "y=1:100:3:log"])
        let whole = try temporaryDirectory(self)
        try runSweep(grid: grid, shard: .whole, directory: whole, metricNames: syntheticMetrics, settings: [("s", .string("1"))], run: syntheticRun)
        for count in [2, 3, 5, 30] {
            let dir = try temporaryDirectory(self)
            // Shards run in any order, each writing its own files.
            for i in (0..<count).reversed() {
                let shard = try Shard(index: i, count: count)
                let outcome = try runSweep(grid: grid, shard: shard, directory: dir, metricNames: syntheticMetrics,
                                           settings: [("s", .string("1"))], run: { p in
                    XCTAssertTrue(shard.contains(p.index))
                    return try syntheticRun(p)
                })
                XCTAssertNil(outcome.merged)
                XCTAssertEqual(outcome.records.map(\.index), shard.indices(in: grid))
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("sweep.tsv")))
            let merged = try mergeShards(directory: dir)
            XCTAssertEqual(merged.shardCount, count)
            XCTAssertEqual(merged.records.map(\.index), Array(0..<21))
            for name in ["sweep.tsv", "sweep.json", "report.txt"] {
                XCTAssertEqual(try readText(dir, name), try readText(whole, name), "\(name) with \(count) shards")
            }
        }
    }

    func testMergeErrors() throws {
        let grid = try SweepGrid(specs: ["x=0:5:6"])
        // No shards.
        let empty = try temporaryDirectory(self)
        assertThrows(try mergeShards(directory: empty), containing: "no shard files")
        assertThrows(try mergeShards(directory: empty + "/nothing"), containing: "not a directory")

        // A missing shard.
        let dir = try temporaryDirectory(self)
        for i in [0, 2] {
            try runSweep(grid: grid, shard: try Shard(index: i, count: 4), directory: dir, metricNames: ["square"], run: syntheticRun)
        }
        assertThrows(try mergeShards(directory: dir), containing: "missing shards 1, 3 of 4", "shard-1-of-4.json", "3 of 6 points missing", "--allow-partial")
        // ... merged anyway on request, listing what is missing.
        let partial = try mergeShards(directory: dir, allowPartial: true)
        XCTAssertEqual(partial.records.map(\.index), [0, 2, 4])
        XCTAssertEqual(partial.missing, [1, 3, 5])
        XCTAssertEqual(partial.incompleteShards, [1, 3])
        XCTAssertEqual(try readJSON(dir, "sweep.json")["complete"]?.boolValue, false)
        XCTAssertTrue(partial.report.contains("3 of 6 points missing (1, 3, 5)"), partial.report)

        // Shards of another grid (or other settings, or other metrics) in the same directory.
        try runSweep(grid: try SweepGrid(specs: ["x=0:5:7"]), shard: try Shard(index: 1, count: 4), directory: dir,
                     metricNames: ["square"], run: syntheticRun)
        assertThrows(try mergeShards(directory: dir), containing: "describe different sweeps", "x=0:5:7 vs x=0:5:6")
        try runSweep(grid: grid, shard: try Shard(index: 1, count: 4), directory: dir, metricNames: ["square"],
                     settings: [("d", .string("3"))], run: syntheticRun)
        assertThrows(try mergeShards(directory: dir), containing: "describe different sweeps", "settings")
        try runSweep(grid: grid, shard: try Shard(index: 1, count: 4), directory: dir, metricNames: ["third"], run: syntheticRun)
        assertThrows(try mergeShards(directory: dir), containing: "describe different sweeps", "metrics")

        // Shards of runs with different shard counts.
        try runSweep(grid: grid, shard: try Shard(index: 0, count: 2), directory: dir, metricNames: ["square"], run: syntheticRun)
        assertThrows(try mergeShards(directory: dir), containing: "different shard counts", "N = 2, 4")
        XCTAssertEqual(try mergeShards(directory: dir, shardCount: 2, allowPartial: true).records.map(\.index), [0, 2, 4])

        // A damaged shard file.
        let broken = try temporaryDirectory(self)
        try SweepFiles.writeAtomically("{\"format\": ", to: (broken as NSString).appendingPathComponent("shard-0-of-1.json"))
        assertThrows(try mergeShards(directory: broken), containing: "invalid JSON")
        try SweepFiles.writeAtomically("{\"format\": \"other\"}", to: (broken as NSString).appendingPathComponent("shard-0-of-1.json"))
        assertThrows(try mergeShards(directory: broken), containing: "not a sweep shard file")
    }

    func testDoublesSurviveTheJSONRoundTrip() throws {
        // The merged TSV is written from the shard JSON, the shard TSV from memory: they agree only
        // if every double (and inf, -inf, nan) survives the trip.
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt64 { // SplitMix64: deterministic bit patterns
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        var values: [Double] = [0.1, 1.0 / 3, -2.5e-308, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 123456789012345680, -0.0, 1e15, 1e-5, .infinity, -.infinity, .nan]
        for _ in 0..<200 {
            values.append(Double(bitPattern: next()))
        }
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["i=0:\(values.count - 1):\(values.count)"])
        try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: ["v"], run: { ["v": values[$0.index]] })
        XCTAssertEqual(try readText(dir, "sweep.tsv"), try readText(dir, "shard-0-of-1.tsv"))
    }

    func testTSVLoadsWithAStandardCSVReader() throws {
        let dir = try temporaryDirectory(self)
        let grid = try SweepGrid(specs: ["x=0:4:5", "y=1,2"])
        try runSweep(grid: grid, shard: .whole, directory: dir, metricNames: syntheticMetrics, run: { p in
            if p.index == 3 { throw CotflowError("a \"quoted\", comma\tand tab") }
            return try syntheticRun(p)
        })
        let text = try readText(dir, "sweep.tsv")
        // Plain TSV: no quoting needed, so every reader sees one value per column.
        XCTAssertFalse(text.contains("\r"))
        let rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 11)
        XCTAssertTrue(rows.allSatisfy { $0.count == rows[0].count })

        // Python's csv module, when Python is installed.
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { return }
        let script = """
        import csv, math, sys
        with open(sys.argv[1], newline='') as f:
            rows = list(csv.reader(f, delimiter='\\t'))
        header, body = rows[0], rows[1:]
        assert header[:3] == ['index', 'x', 'y'] and header[-1] == 'status', header
        assert len(body) == 10 and all(len(r) == len(header) for r in body)
        for r in body:
            [float(v) if v != '' else math.nan for v in r[1:-1]]
        assert all(v == '' for v in body[3][3:-1]), body[3]
        try:
            import pandas as pd
            df = pd.read_csv(sys.argv[1], sep='\t')
            assert df.iloc[3, 3:-1].isna().all() and not df.iloc[0, 3:-1].isna().any(), df
            assert str(df['index'].dtype) == 'int64', df['index'].dtype
        except ImportError:
            pass
        print(len(body), body[3][-1])
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, (dir as NSString).appendingPathComponent("sweep.tsv")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(output, "10 a 'quoted', comma and tab\n")
    }
}
