import Foundation
import XCTest

/// `cotflow ode --params full` and `cotflow compare --full-flow` as a user runs them.
extension CLITests {
    func testODEParamsFullRefusesImplicitSteppersAndRuns() throws {
        for stepper in ["msbdf", "rk4imp", "bsimp"] {
            let run = try cotflow(["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "64", "--stepper", stepper])
            XCTAssertEqual(run.status, 64, run.stderr)
            XCTAssertTrue(run.stderr.contains("Jacobian") && run.stderr.contains("rkf45"), run.stderr)
        }
        let dir = temporaryDirectory()
        let run = try cotflow(["ode", "--params", "full", "--d", "2", "--n", "8", "--k", "2", "--prompts", "64", "--t-end", "2",
                               "--points", "20", "--json", "--out", dir])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.json["params"] as? String, "full")
        XCTAssertEqual(run.json["prompts"] as? Int, 64)
        let initial = try XCTUnwrap(run.json["initial_loss"] as? Double), final = try XCTUnwrap(run.json["final_loss"] as? Double)
        XCTAssertLessThan(final, initial)
        let csv = try String(contentsOfFile: dir + "/trajectory.csv", encoding: .utf8)
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        for name in ["t", "loss", "v_eig_1", "w_diag_2", "w24", "off_block_norm", "data_off_block_norm"] {
            XCTAssertTrue(header.contains(name), name)
        }
        // `cotflow stages` reads the flow's trajectory, block-manifold landmark included.
        let stages = try cotflow(["stages", dir + "/trajectory.csv", "--json"])
        XCTAssertEqual(stages.status, 0, stages.stderr)
        let boundaries = try XCTUnwrap(stages.json["mechanistic_boundaries"] as? [String: Any])
        XCTAssertNotNil(boundaries["block_manifold_reached"])
    }

    func testCompareFullFlowFromARandomStartCarriesTheDecomposition() throws {
        let run = try cotflow(["compare", "--d", "2", "--n", "10", "--k", "2", "--init", "random", "--params", "full", "--full-flow",
                               "--prompts", "512", "--steps", "300", "--record-every", "30", "--learning-rate", "0.01",
                               "--held-out", "2000", "--json", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let runs = try XCTUnwrap(run.json["runs"] as? [String: Any])
        let full = try XCTUnwrap(runs["full"] as? [String: Any])
        XCTAssertTrue(full["max_rel_loss_deviation"] is NSNull, "no reduced flow from a random start")
        let fullFlow = try XCTUnwrap(full["full_flow"] as? [String: Any])
        XCTAssertNotNil(fullFlow["max_rel_loss_deviation"] as? Double)
        XCTAssertNotNil(fullFlow["stage_agreement_mechanistic"] as? [String: Any])
        let flow = try XCTUnwrap(run.json["full_flow"] as? [String: Any])
        XCTAssertEqual(flow["prompts"] as? Int, 512)
        XCTAssertTrue(flow["max_rel_loss_deviation_from_reduced_flow"] is NSNull)
        let boundaries = try XCTUnwrap(run.json["stage_boundaries"] as? [String: Any])
        XCTAssertNotNil(boundaries["full_flow"])
        XCTAssertNil(boundaries["ode"])

        // From the Assumption 4.1 point all three curves: the reduction's part is reported too.
        let both = try cotflow(["compare", "--d", "2", "--n", "10", "--k", "2", "--params", "full", "--full-flow", "--prompts", "512",
                                "--steps", "300", "--record-every", "30", "--learning-rate", "0.01", "--held-out", "2000", "--json", "--quiet"])
        XCTAssertEqual(both.status, 0, both.stderr)
        let flow2 = try XCTUnwrap(both.json["full_flow"] as? [String: Any])
        XCTAssertNotNil(flow2["max_rel_loss_deviation_from_reduced_flow"] as? Double)

        // Bad combinations are usage errors.
        for arguments in [["--init", "random", "--full-flow"], ["--init", "random", "--params", "full"],
                          ["--full-flow", "--optimizer", "adam"], ["--full-flow", "--stepper", "msbdf"]] {
            let bad = try cotflow(["compare", "--d", "2", "--n", "10", "--k", "2", "--quiet"] + arguments)
            XCTAssertEqual(bad.status, 64, "\(arguments): \(bad.stderr)")
        }
    }
}
