import Foundation
import XCTest

/// `--optimizer momentum --momentum beta` as a user runs it.
extension CLITests {
    func testMomentumOptionIsValidatedAndRecorded() throws {
        let small = ["--d", "2", "--n", "8", "--k", "2", "--quiet"]
        // --momentum without --optimizer momentum, or out of [0, 1): usage errors.
        for (command, extra) in [("train", ["--momentum", "0.9"]), ("train", ["--optimizer", "sgd", "--momentum", "0.9"]),
                                 ("compare", ["--momentum", "0.5"]), ("train", ["--optimizer", "momentum", "--momentum", "1"]),
                                 ("train", ["--optimizer", "momentum", "--momentum", "nan"])] {
            let bad = try cotflow([command] + small + extra)
            XCTAssertEqual(bad.status, 64, "\(command) \(extra): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains("momentum"), bad.stderr)
        }
        let run = try cotflow(["train"] + small + ["--optimizer", "momentum", "--momentum", "0.5", "--learning-rate", "0.01",
                                                    "--steps", "10", "--record-every", "5", "--held-out", "64", "--batch-size", "32", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.json["optimizer"] as? String, "momentum")
        XCTAssertEqual(run.json["momentum"] as? Double, 0.5)
        let compare = try cotflow(["compare"] + small + ["--optimizer", "momentum", "--steps", "50", "--record-every", "10",
                                                          "--held-out", "256", "--batch-size", "64", "--json"])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        XCTAssertEqual(compare.json["time_map"] as? String, "t = learning_rate / (1 - momentum) x (step - momentum (1 - momentum^step) / (1 - momentum))")
        XCTAssertEqual(compare.json["momentum"] as? Double, 0.9)
        XCTAssertEqual(try XCTUnwrap(compare.json["learning_rate"] as? Double), 0.002 * (1 - 0.9), accuracy: 1e-15)
        XCTAssertNotNil(compare.json["max_rel_loss_deviation"] as? Double)
    }
}
