@testable import CotflowCore
import Foundation
import XCTest

/// Issue 22: the one file writer, the output directory's lock, one value's standard error, and
/// CSV headers with a byte order mark or escape sequences.
final class HardeningTests: XCTestCase {
    private func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "cotflow-hardening-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testTheWriterReplacesASymlinkAtItsTargetAndLeavesNoTemporaryFile() throws {
        let dir = try scratch()
        let victim = dir + "/victim", target = dir + "/out.json"
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: victim)
        try FileOutput.write("new\n", to: target)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target)[.type] as? FileAttributeType, .typeRegular)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "new\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["out.json", "victim"])
    }

    func testTheLockRefusesASecondHolderNamingItsPid() throws {
        let dir = try scratch()
        // Another process holds the lock (flock is per open file: a child's lock excludes this
        // process) until its stdin closes.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/flock") else { throw XCTSkip("no flock(1)") }
        try "12345\n".write(toFile: dir + "/" + OutputDirectory.lockName, atomically: false, encoding: .utf8)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--exclusive", dir + "/" + OutputDirectory.lockName, "cat"]
        let input = Pipe()
        holder.standardInput = input
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { try? input.fileHandleForWriting.close(); holder.waitUntilExit() }
        // Wait until the child holds the lock (a non-blocking attempt of our own fails).
        let fd = open(dir + "/" + OutputDirectory.lockName, O_RDONLY)
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); usleep(2000) }
        XCTAssertThrowsError(try OutputDirectory.prepare(dir, files: [], force: false)) { error in
            XCTAssertEqual((error as? ReportableError)?.kind, .input)
            XCTAssertTrue("\(error)".contains("in use by another cotflow run (pid 12345)"), "\(error)")
        }
    }

    func testOneValueHasNoStandardError() {
        let one = SampleSummary([2.5])
        XCTAssertTrue(one.standardError.isNaN)
        XCTAssertFalse(one.report(name: "loss").contains("± 0"), one.report(name: "loss"))
        XCTAssertNil(one.json(prefix: "").first { $0.0 == "stderr" }.flatMap { if case .number(let x) = $0.1, x.isFinite { return x } else { return nil } })
        XCTAssertEqual(SampleSummary([1, 3]).standardError, 1)
    }

    func testAByteOrderMarkIsNotPartOfTheFirstColumn() throws {
        let csv = try CSVData.parse("\u{FEFF}t,loss\n0,1\n1,0.5\n", source: "bom.csv")
        XCTAssertEqual(csv.header, ["t", "loss"])
        XCTAssertEqual(try csv.column("t"), [0, 1])
    }

    func testEscapeSequencesInACSVNeverReachTheMessageRaw() {
        XCTAssertThrowsError(try CSVData.parse("t,\u{1B}[31mloss\n0,1\n", source: "esc.csv")) { error in
            XCTAssertFalse("\(error)".contains("\u{1B}"), "\(error)")
            XCTAssertTrue("\(error)".contains("\\u{1b}[31mloss"), "\(error)")
        }
        let text = (try? CSVData.parse("t,loss\n0,\u{1B}]0;owned\u{7}\n", source: "cell.csv")).flatMap { data -> String? in
            do { _ = try data.column("loss"); return nil } catch { return "\(error)" }
        }
        XCTAssertNotNil(text)
        XCTAssertFalse(text?.contains("\u{1B}") ?? true, text ?? "")
    }
}
