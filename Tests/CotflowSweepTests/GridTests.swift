@testable import CotflowExperiments
import XCTest

/// Asserts that `body` throws an error whose text contains every one of `fragments`.
func assertThrows<T>(_ body: @autoclosure () throws -> T, containing fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for f in fragments where !text.contains(f) {
            XCTFail("error '\(text)' does not contain '\(f)'", file: file, line: line)
        }
    }
}

final class GridTests: XCTestCase {
    func testLinearRangeIncludesBothEndsAndPrintsAsTyped() throws {
        let axis = try SweepAxis.parse("eta=0.1:0.5:5")
        XCTAssertEqual(axis.name, "eta")
        XCTAssertEqual(axis.values, [0.1, 0.2, 0.3, 0.4, 0.5])
        XCTAssertEqual(axis.values.map(SweepFormat.number), ["0.1", "0.2", "0.3", "0.4", "0.5"])
        XCTAssertEqual(try SweepAxis.parse(" k = 1 : 10 : 10 ").values, (1...10).map(Double.init))
        XCTAssertEqual(try SweepAxis.parse("x=2:2:1").values, [2])
        XCTAssertEqual(try SweepAxis.parse("x=-1:1:3").values, [-1, 0, 1])
    }

    func testLogRangeIsGeometric() throws {
        XCTAssertEqual(try SweepAxis.parse("x=1:16:5:log").values, [1, 2, 4, 8, 16])
        XCTAssertEqual(try SweepAxis.parse("x=0.001:1000:7:log").values, [0.001, 0.01, 0.1, 1, 10, 100, 1000])
    }

    func testListKeepsItsOrder() throws {
        XCTAssertEqual(try SweepAxis.parse("x=3,1,2.5").values, [3, 1, 2.5])
        XCTAssertEqual(try SweepAxis.parse("x=7").values, [7])
        XCTAssertEqual(try SweepAxis.parse("x=1e-3,2E2").values, [0.001, 200])
    }

    func testIntegerAxesRoundRangesAndRejectFractionalLists() throws {
        XCTAssertEqual(try SweepAxis.parse("k=1:64:7:log", integerNames: ["k"]).values, [1, 2, 4, 8, 16, 32, 64])
        // Rounding a dense log range repeats values; they are dropped.
        XCTAssertEqual(try SweepAxis.parse("k=1:4:10:log", integerNames: ["k"]).values, [1, 2, 3, 4])
        XCTAssertEqual(try SweepAxis.parse("k=1:2:3", integerNames: ["k"]).values, [1, 2])
        assertThrows(try SweepAxis.parse("k=2.5,3", integerNames: ["k"]), containing: "integers", "2.5")
    }

    func testParseErrors() {
        assertThrows(try SweepAxis.parse("k"), containing: "name=lo:hi:count")
        assertThrows(try SweepAxis.parse("=1,2"), containing: "no name")
        assertThrows(try SweepAxis.parse("k="), containing: "empty grid")
        assertThrows(try SweepAxis.parse("k=1:2:0"), containing: "count must be at least 1", "got 0")
        assertThrows(try SweepAxis.parse("k=1:2:-3"), containing: "count must be at least 1")
        assertThrows(try SweepAxis.parse("k=5:1:3"), containing: "greater than", "lo <= hi")
        assertThrows(try SweepAxis.parse("x=0:1:3:log"), containing: "log range needs positive bounds")
        assertThrows(try SweepAxis.parse("x=-2:-1:3:log"), containing: "log range needs positive bounds")
        assertThrows(try SweepAxis.parse("x=1:2"), containing: "lo:hi:count")
        assertThrows(try SweepAxis.parse("x=1:2:3:4:5"), containing: "lo:hi:count")
        assertThrows(try SweepAxis.parse("x=1:2:3:cubic"), containing: "'log'")
        assertThrows(try SweepAxis.parse("x=1:2:three"), containing: "not an integer")
        assertThrows(try SweepAxis.parse("x=a:2:3"), containing: "not a finite number")
        assertThrows(try SweepAxis.parse("x=1:inf:3"), containing: "not a finite number")
        assertThrows(try SweepAxis.parse("x=1:2:1"), containing: "count 1 needs lo == hi")
        assertThrows(try SweepAxis.parse("x=1,,2"), containing: "empty entry")
        assertThrows(try SweepAxis.parse("x=1,b"), containing: "'b'")
        assertThrows(try SweepAxis.parse("x=1,2,1"), containing: "twice")
        assertThrows(try SweepAxis.parse("q=1,2", allowedNames: ["k", "d"]), containing: "unknown axis name 'q'", "k, d")
    }

    func testGridErrors() throws {
        assertThrows(try SweepGrid(specs: []), containing: "empty grid")
        assertThrows(try SweepGrid(specs: ["k=1,2", "k=3,4"]), containing: "'k' is given twice")
        assertThrows(try SweepGrid(specs: ["a=1", "b=1", "c=1", "e=1", "f=1"]), containing: "at most 4 axes")
        assertThrows(try SweepGrid(axes: [SweepAxis(name: "a", spec: "a=", values: [])]), containing: "empty grid")
        assertThrows(try SweepGrid(specs: ["z=1"], allowedNames: ["k"]), containing: "unknown axis name 'z'")
        assertThrows(try SweepDescription(grid: SweepGrid(specs: ["k=1"]), metricNames: ["loss", "loss"]), containing: "'loss' is repeated")
        assertThrows(try SweepDescription(grid: SweepGrid(specs: ["k=1"]), metricNames: ["k"]), containing: "clashes")
        assertThrows(try SweepDescription(grid: SweepGrid(specs: ["k=1"]), metricNames: ["a\tb"]), containing: "tabs")
        assertThrows(try SweepDescription(grid: SweepGrid(specs: ["status=1"]), metricNames: []), containing: "reserved")
    }

    func testPointsAreRowMajorWithStableIndices() throws {
        let grid = try SweepGrid(specs: ["a=1,2", "b=10:30:3"])
        XCTAssertEqual(grid.count, 6)
        XCTAssertEqual(grid.names, ["a", "b"])
        let points = grid.points
        XCTAssertEqual(points.map(\.index), Array(0..<6))
        XCTAssertEqual(points.map(\.values), [[1, 10], [1, 20], [1, 30], [2, 10], [2, 20], [2, 30]])
        XCTAssertEqual(grid.point(4).positions, [1, 1])
        XCTAssertEqual(grid.point(4)["b"], 20)
        XCTAssertNil(grid.point(4)["c"])
        XCTAssertEqual(grid.point(5).label, "a = 2, b = 30")
        XCTAssertEqual(grid.spec, "a=1,2 b=10:30:3")
        // Indices depend only on the axes: parsing again gives the same points.
        XCTAssertEqual(try SweepGrid(specs: ["a=1,2", "b=10:30:3"]).points, points)
    }

    func testNumberFormat() {
        XCTAssertEqual(SweepFormat.number(3), "3")
        XCTAssertEqual(SweepFormat.number(-0.25), "-0.25")
        XCTAssertEqual(SweepFormat.number(.nan), "nan")
        XCTAssertEqual(SweepFormat.number(.infinity), "inf")
        XCTAssertEqual(SweepFormat.number(-.infinity), "-inf")
        XCTAssertEqual(Double(SweepFormat.number(1.0 / 3)), 1.0 / 3)
        XCTAssertEqual(Double(SweepFormat.number(1e300)), 1e300)
        XCTAssertEqual(SweepFormat.oneLine("a\tb\n\nc\r\n"), "a b c")
    }
}

final class ShardTests: XCTestCase {
    func testParsing() throws {
        XCTAssertEqual(try Shard(parsing: "1/4"), try Shard(index: 1, count: 4))
        XCTAssertEqual(try Shard(parsing: "0/1"), Shard.whole)
        XCTAssertEqual(try Shard(parsing: "2/3").fileStem, "shard-2-of-3")
        assertThrows(try Shard(parsing: "4/4"), containing: "out of range", "0 <= i < 4")
        assertThrows(try Shard(parsing: "-1/4"), containing: "out of range")
        assertThrows(try Shard(parsing: "0/0"), containing: "at least 1")
        assertThrows(try Shard(parsing: "1/-2"), containing: "at least 1")
        for bad in ["", "x", "1/", "/2", "1/2/3", "1.5/2", "a/b", "1 of 2"] {
            assertThrows(try Shard(parsing: bad), containing: "i/N")
        }
    }

    func testShardsPartitionTheGrid() throws {
        let grid = try SweepGrid(specs: ["x=1:10:10"])
        let shards = try (0..<3).map { try Shard(index: $0, count: 3) }
        XCTAssertEqual(shards.map { $0.indices(in: grid) }, [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]])
        XCTAssertTrue(shards[1].contains(7))
        XCTAssertFalse(shards[1].contains(6))
        XCTAssertEqual(try Shard(index: 11, count: 12).indices(in: grid), [])
        XCTAssertEqual(Shard.whole.indices(in: grid), Array(0..<10))
    }

    func testSlurmEnvironment() throws {
        XCTAssertNil(try Shard.fromEnvironment([:]))
        XCTAssertNil(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2"]))
        XCTAssertNil(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_COUNT": "4"]))
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"]), try Shard(index: 2, count: 4))
        // 1-based arrays (--array=1-4).
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]),
                       try Shard(index: 3, count: 4))
        // Stepped arrays (--array=10-16:2): IDs 10, 12, 14, 16.
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "14", "SLURM_ARRAY_TASK_COUNT": "4",
                                                  "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "2"]),
                       try Shard(index: 2, count: 4))
        assertThrows(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"]), containing: "out of range", "SLURM_ARRAY_TASK_ID = 4")
        assertThrows(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]), containing: "does not fit")
        assertThrows(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"]), containing: "SLURM_ARRAY_TASK_ID", "not an integer")
        assertThrows(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "0"]), containing: "at least 1")

        let env = ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"]
        XCTAssertEqual(try Shard.resolve(nil, environment: env), try Shard(index: 1, count: 2))
        XCTAssertEqual(try Shard.resolve("0/3", environment: env), try Shard(index: 0, count: 3))
        XCTAssertEqual(try Shard.resolve(nil, environment: [:]), Shard.whole)
        assertThrows(try Shard.resolve("5/3", environment: [:]), containing: "out of range")
    }

    /// Refusals are typed, with the messages the CLI prints.
    func testTypedErrors() {
        XCTAssertThrowsError(try SweepAxis.parse("d=4:2:3")) { error in
            XCTAssertEqual(error as? GridError, .loAboveHi(axis: "d", lo: "4", hi: "2"))
            XCTAssertEqual("\(error)", "axis 'd': lo = 4 is greater than hi = 2 (give lo:hi:count with lo <= hi)")
        }
        XCTAssertThrowsError(try SweepGrid(specs: ["a=1", "b=1", "c=1", "e=1", "f=1"])) { error in
            XCTAssertEqual(error as? GridError, .tooManyAxes(names: ["a", "b", "c", "e", "f"]))
            XCTAssertEqual("\(error)", "a grid has at most 4 axes (got 5: a, b, c, e, f)")
        }
        XCTAssertThrowsError(try Shard(parsing: "4/4")) { error in
            XCTAssertEqual(error as? ShardError, .indexOutOfRange(index: 4, count: 4))
            XCTAssertEqual("\(error)", "shard index 4 is out of range for 4 shards (0-based: 0 <= i < 4)")
        }
        XCTAssertThrowsError(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "2"])) { error in
            XCTAssertEqual("\(error)", "from SLURM_ARRAY_TASK_ID = 5, SLURM_ARRAY_TASK_MIN = 0, SLURM_ARRAY_TASK_COUNT = 2: shard index 5 is out of range for 2 shards (0-based: 0 <= i < 2)")
        }
        let grid = try! SweepGrid(specs: ["d=1,2"])
        XCTAssertThrowsError(try SweepDescription(grid: grid, metricNames: ["loss", "d"])) { error in
            XCTAssertEqual(error as? SweepDescriptionError, .metricRepeated("d"))
            XCTAssertEqual("\(error)", "metric name 'd' is repeated or clashes with an axis or column name")
        }
        XCTAssertThrowsError(try SweepDescription(grid: grid, metricNames: ["loss"], integerMetrics: ["steps"])) { error in
            XCTAssertEqual(error as? SweepDescriptionError, .unknownIntegerMetric("steps"))
        }
        XCTAssertEqual(SweepDescriptionError.olderFormat(file: "f", format: "1").kind, .input)
        XCTAssertThrowsError(try mergeShards(directory: "/nonexistent-cotflow-dir")) { error in
            XCTAssertEqual(error as? MergeError, .notADirectory("/nonexistent-cotflow-dir"))
            XCTAssertEqual("\(error)", "merge: /nonexistent-cotflow-dir is not a directory")
        }
    }
}
