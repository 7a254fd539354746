import Foundation
import XCTest

/// `cotflow sweep --jobs N` (N > 1) runs points on threads: the same files and outcome as `--jobs 1`.
extension CLITests {
    private func sweepFiles(_ dir: String) throws -> [String: String] {
        var files: [String: String] = [:]
        for name in ["sweep.tsv", "sweep.json", "report.txt", "report.json", "shard-0-of-1.tsv", "shard-0-of-1.json"] {
            files[name] = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
        }
        return files
    }

    /// Runs `arguments` with --jobs 1 and --jobs 2 and checks the same exit status, output and files.
    private func checkJobsAgree(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (Run, String) {
        let base = temporaryDirectory()
        var runs: [Run] = [], files: [[String: String]] = []
        for jobs in [1, 2] {
            let dir = base + "/jobs\(jobs)"
            let run = try cotflow(arguments + ["--jobs", "\(jobs)", "--quiet", "--out", dir])
            runs.append(Run(status: run.status, stdout: run.stdout.replacingOccurrences(of: dir, with: "OUT"), stderr: run.stderr))
            files.append(try sweepFiles(dir))
        }
        XCTAssertEqual(runs[0].status, runs[1].status, runs[1].stderr, file: file, line: line)
        XCTAssertEqual(runs[0].stdout, runs[1].stdout, file: file, line: line)
        for name in files[0].keys.sorted() {
            XCTAssertEqual(files[0][name], files[1][name], "--jobs 1 and --jobs 2 wrote different \(name)", file: file, line: line)
        }
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + "/jobs2/summary.json"))) as? [String: Any]
        XCTAssertEqual(summary?["jobs"] as? Int, 2, file: file, line: line)
        XCTAssertEqual(summary?["jobs_used"] as? Int, min(2, ProcessInfo.processInfo.activeProcessorCount), file: file, line: line)
        return (runs[1], base + "/jobs2")
    }

    /// A training sweep (whose points make many small BLAS calls) on 2 threads writes the bytes of a serial run.
    func testTrainingSweepOnThreadsWritesTheSameBytesAsSerial() throws {
        let (run, _) = try checkJobsAgree(["sweep", "--job", "train", "--d", "3", "--n", "12", "--k", "2", "--params", "reduced",
                                           "--init", "assumption", "--optimizer", "sgd", "--steps", "300", "--batch-size", "64",
                                           "--held-out", "500", "--vary", "learning_rate=0.03:30:4:log", "--vary", "seed=0,1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("converged -> diverged between learning_rate = 0.3 and 3"), run.stdout)
    }

    /// A point that fails is recorded as with --jobs 1: same status text, metrics and report.
    func testFailingPointOnThreadsGivesTheSerialOutcome() throws {
        let (run, dir) = try checkJobsAgree(["sweep", "--vary", "k=2,40", "--d", "10", "--n", "40"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try String(contentsOfFile: dir + "/sweep.tsv", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(rows[2].contains("flow failed: the loss polynomial"), String(rows[2]))
        XCTAssertTrue(rows[1].hasSuffix("\tok"), String(rows[1]))
    }

    /// --jobs above the cores runs one point per core and says so (asked and used in the summary).
    func testJobsAreCappedAtTheCores() throws {
        let dir = temporaryDirectory()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let run = try cotflow(["sweep", "--vary", "k=1,2,3", "--d", "3", "--n", "8", "--points", "50", "--jobs", "\(cores + 3)", "--json", "--out", dir])
        XCTAssertEqual(run.status, 0, run.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json"))) as? [String: Any]
        XCTAssertEqual(summary?["jobs"] as? Int, cores + 3)
        XCTAssertEqual(summary?["jobs_used"] as? Int, cores)
    }
}
