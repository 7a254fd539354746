import Foundation
import XCTest

/// Runs under the limits of a shared machine or a batch system: a small address space and few
/// processes. The run either completes with its files or fails with a message; it never hangs or
/// dies by a signal (OpenBLAS's allocator did both when further copies of it were loaded per thread).
final class ResourceLimitTests: XCTestCase {
    func testTrainUnderAddressSpaceAndProcessLimits() throws {
        for limits in ["ulimit -v 1000000", "ulimit -u 8"] {
            let dir = Cotflow.temporaryDirectory()
            let run = try Cotflow.run(["train", "--d", "10", "--n", "40", "--k", "5", "--steps", "50", "--quiet", "--out", dir],
                                      timeout: 120, limits: limits)
            XCTAssertFalse(run.signaled || run.timedOut, "\(limits): \(run.summary)")
            if run.status == 0 {
                for name in ["trajectory.csv", "summary.json", "parameters.json"] {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(name)), "\(limits): \(name)")
                }
                XCTAssertEqual(Cotflow.outputProblems(in: dir), [], limits)
            } else if run.status == 64 {
                // On a machine of many cores the address-space check may refuse 1 GB (200 MB a core for OpenBLAS).
                XCTAssertTrue(limits.contains("-v") && run.stderr.contains("ulimit -v"), "\(limits): \(run.summary)")
            } else {
                XCTAssertEqual(run.status, 1, "\(limits): \(run.summary)")
                XCTAssertFalse(run.stderr.isEmpty, "\(limits): a failure must say why")
            }
        }
    }
}
