import CotflowModel
@testable import CotflowExperiments
import CotflowCore
import Foundation
import XCTest

/// The validity map: the compare job's regime says whether training follows the flow (within
/// `CompareMetrics.followTolerance`), with the first correction and the noise diagnostics as columns.
final class ValidityMapTests: XCTestCase {
    /// A training row by name (every other column NaN).
    private func training(_ values: [String: Double]) throws -> TrainMetrics {
        try XCTUnwrap(TrainMetrics(names: TrainMetrics.names, values: TrainMetrics.names.map { values[$0] ?? .nan }))
    }

    /// A compare row: training that converged unless `diverged`, its deviation from the flow, the validity columns.
    private func compare(deviation: Double?, diverged: Int? = nil, overflowed: Int = 0, expected: Bool? = true) throws -> CompareMetrics {
        var t = try training(["initial_cot_loss": 2, "final_cot_loss": 0.001, "distance_to_construction": 0.01])
        t.divergedStep = diverged
        return CompareMetrics(training: t, flowFinalLoss: 0.001, maxRelativeLossDeviation: deviation, maxEigenvalueDeviation: nil,
                              sameMechanisticStages: nil, maxBoundaryDifference: nil,
                              validity: ValidityMetrics(firstCorrectionDeviation: deviation.map { $0 / 2 }, noiseBound: 0.01, flowExpected: expected,
                                                        heldOutOverflowedRecords: overflowed))
    }

    /// The rule on hand-made metrics: within 5% follows (the bound included), above it does not;
    /// a held-out mean that overflowed is no deviation and does not follow; diverged training is
    /// diverged whatever its deviation; without a deviation and without overflow (Adam) the training's regime.
    func testRegimeRuleOnHandMadeMetrics() throws {
        let s = ExperimentSettings(job: .compare)
        XCTAssertEqual(CompareMetrics.followTolerance, 0.05)
        XCTAssertEqual(try compare(deviation: 0.01).regime(s).regime, .follows)
        XCTAssertEqual(try compare(deviation: 0.05).regime(s).regime, .follows)
        XCTAssertEqual(try compare(deviation: 0.050001).regime(s).regime, .doesNotFollow)
        let lagging = try compare(deviation: 0.95, expected: false).regime(s)
        XCTAssertEqual(lagging.regime, .doesNotFollow)
        XCTAssertTrue(lagging.detail.contains("0.95") && lagging.detail.contains("first correction 0.475") && lagging.detail.contains("not expected"), lagging.detail)
        let overflowed = try compare(deviation: nil, overflowed: 3).regime(s)
        XCTAssertEqual(overflowed.regime, .doesNotFollow)
        XCTAssertTrue(overflowed.detail.contains("no mean") && overflowed.detail.contains("3 records"), overflowed.detail)
        let diverged = try compare(deviation: 0.01, diverged: 40).regime(s)
        XCTAssertEqual(diverged.regime, .diverged)
        XCTAssertEqual(diverged.divergedStep, 40)
        XCTAssertEqual(try compare(deviation: nil).regime(s).regime, .converged)
        // The columns: the validity ones after the comparison's, the verdict a 0/1 integer, read back alike.
        XCTAssertEqual(Array(CompareMetrics.names.suffix(ValidityMetrics.CodingKeys.allCases.count)), ValidityMetrics.CodingKeys.allCases.map(\.stringValue))
        XCTAssertTrue(SweepJob.compare.integerMetrics.isSuperset(of: ["flow_expected", "held_out_overflowed_records"]))
        let row = try compare(deviation: 0.2, expected: false).row
        XCTAssertEqual(row["flow_expected"], 0)
        XCTAssertEqual(row["first_correction_deviation"], 0.1)
        let back = try XCTUnwrap(CompareMetrics(names: CompareMetrics.names, values: CompareMetrics.names.map { row[$0]! }))
        XCTAssertEqual(back.validity, try compare(deviation: 0.2, expected: false).validity)
        XCTAssertEqual(back.regime(s).regime, .doesNotFollow)
    }

    /// Hand-made records over (n_over_d, k, learning_rate) with two seeds: training follows the
    /// flow at large n/d and not at small n/d; the report names the boundary along n_over_d, with
    /// the replicate spread (one seed changes one value earlier), and the legend names the regimes.
    func testReportNamesTheBoundaryWithItsReplicateSpread() throws {
        let grid = try SweepGrid(specs: ["n_over_d=2,3,4,5", "k=2,6", "learning_rate=0.001,0.002", "seed=0,1"],
                                 allowedNames: SweepJob.compare.axisNames, integerNames: SweepJob.integerAxes)
        XCTAssertNoThrow(try ExperimentSettings(job: .compare).checkAxes(Set(grid.names)))
        let names = CompareMetrics.names, deviation = names.firstIndex(of: "max_rel_loss_deviation")!
        let records = try grid.points.map { p -> SweepRecord in
            let ratio = p["n_over_d"]!, k = p["k"]!, seed = p["seed"]!
            // At k = 6 the boundary lies between n/d = 3 and 4; seed 1 already follows at 3.
            let follows = k == 2 || ratio >= 4 || (ratio == 3 && seed == 1)
            let row = try compare(deviation: follows ? 0.02 : 0.3).row
            var metrics = names.map { row[$0]! }
            metrics[deviation] = follows ? 0.02 + 0.001 * seed : 0.3 + 0.01 * seed
            return SweepRecord(index: p.index, values: p.values, metrics: metrics, status: SweepRecord.ok)
        }
        let report = PhaseReport(grid: grid, metricNames: names, records: records, settings: ExperimentSettings(job: .compare))
        // Along k the regime changes where n/d is small (a tie across seeds reads as does-not-follow).
        XCTAssertEqual(report.transitions.filter { $0.kind == .regime && $0.axis == "k" }.count, 4, report.text)
        let boundaries = report.transitions.filter { $0.kind == .regime && $0.axis == "n_over_d" }
        XCTAssertEqual(boundaries.count, 2, report.text)
        for b in boundaries {
            XCTAssertEqual(b.axis, "n_over_d")
            XCTAssertEqual(b.from, "does-not-follow"); XCTAssertEqual(b.to, "follows")
            XCTAssertEqual(b.between.0, 3); XCTAssertEqual(b.between.1, 4)
            XCTAssertEqual(b.interval?.0, 2); XCTAssertEqual(b.interval?.1, 4)
            XCTAssertEqual(b.fromShare, "1/2"); XCTAssertEqual(b.toShare, "2/2")
        }
        XCTAssertTrue(report.text.contains("does-not-follow -> follows between n_over_d = 3 and 4 at k = 6, learning_rate = 0.001 (1/2 does-not-follow, 2/2 follows); every replicate changes within n_over_d in [2, 4]"), report.text)
        XCTAssertTrue(report.text.contains("legend: A follows, N does-not-follow, C converged"), report.text)
        XCTAssertTrue(report.text.contains("regimes: 6 does-not-follow, 26 follows (follows: training's largest relative loss deviation from the flow is at most 0.05"), report.text)
        // Four ordered axes are refused; three and seed are a grid.
        XCTAssertThrowsError(try ExperimentSettings(job: .compare).checkAxes(["n_over_d", "k", "learning_rate", "batch_size"])) {
            XCTAssertTrue("\($0)".contains("at most 3 axes besides the replicate axis seed"), "\($0)")
        }
    }

    /// A small compare job at two batch sizes, full parameters: every validity column measured;
    /// the noise bound h tr(Sigma) / (4 B L) scales as 1/B at the same flow points and prompts, the
    /// noise scale does not depend on B, and the regime is the rule applied to the deviation.
    func testValidityColumnsOnTwoPoints() throws {
        let dir = try temporaryDirectory(self)
        var s = ExperimentSettings(job: .compare)
        s.d = 3; s.n = 12; s.k = 2
        s.training.trainable = .full
        s.training.steps = 300; s.training.heldOutSize = 2000
        let (outcome, report) = try sweep(s, ["batch_size=32,256"], jobs: 2, in: dir)
        XCTAssertEqual(outcome.failed, 0)
        let m = try outcome.records.map { try XCTUnwrap(CompareMetrics(names: CompareMetrics.names, values: $0.metrics)) }
        for (i, x) in m.enumerated() {
            let deviation = try XCTUnwrap(x.maxRelativeLossDeviation)
            XCTAssertEqual(report.regimes[i]?.regime, deviation <= 0.05 ? .follows : .doesNotFollow, report.text)
            XCTAssertNotNil(x.validity.firstCorrectionDeviation)
            XCTAssertNotNil(x.validity.flowExpected)
            XCTAssertEqual(x.validity.heldOutOverflowedRecords, 0)
            let loss = try XCTUnwrap(x.validity.lossTop1pctShare), gradient = try XCTUnwrap(x.validity.gradientTop1pctShare)
            // The top 1% carry at least their 1% and at most everything.
            XCTAssertTrue(loss > 0.01 && loss < 1 && gradient > 0.01 && gradient < 1, "\(loss) \(gradient)")
            XCTAssertGreaterThan(try XCTUnwrap(x.validity.gradientTailIndex), 0)
        }
        let (small, large) = (m[0].validity, m[1].validity)
        XCTAssertEqual(try XCTUnwrap(small.noiseBound) / XCTUnwrap(large.noiseBound), 8, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(small.noiseScale), try XCTUnwrap(large.noiseScale), accuracy: 1e-12 * large.noiseScale!)
        XCTAssertEqual(small.gradientTailIndex, large.gradientTailIndex)
    }

    /// The compare job sharded in 3 and merged gives the bytes of the unsharded sweep.
    func testShardedAndMergedEqualsUnsharded() throws {
        var s = ExperimentSettings(job: .compare)
        s.d = 3; s.n = 12; s.k = 2
        s.training.steps = 200; s.training.batchSize = 64; s.training.heldOutSize = 1000
        let specs = ["learning_rate=0.002,0.02", "seed=0,1"]
        let whole = try temporaryDirectory(self), sharded = try temporaryDirectory(self)
        _ = try sweep(s, specs, jobs: 2, in: whole)
        let grid = try SweepGrid(specs: specs, allowedNames: s.job.axisNames, integerNames: SweepJob.integerAxes)
        for i in 0..<3 { _ = try s.sweep(grid, shard: Shard(index: i, count: 3), directory: sharded, jobs: 1) }
        try mergeShards(directory: sharded, reporter: PhaseReport.reporter())
        for name in ["sweep.tsv", "sweep.json", "report.txt", "report.json"] {
            XCTAssertEqual(try read(sharded, name), try read(whole, name), name)
        }
        XCTAssertTrue(try read(whole, "report.txt").contains("follow"))
    }

    /// A counted record whose held-out mean overflowed (NaN) leaves no largest deviation, with the
    /// reason, wherever it is (first or later: `max()` over NaN returned NaN or skipped it before);
    /// a record below the floor does not count; summary.json writes null and the reason.
    func testDeviationWithoutAHeldOutMeanIsNullWithAReason() throws {
        let times = [0, 0.1, 0.2, 0.3]
        for losses in [[1, .nan, 0.5, 0.2], [.nan, 0.9, 0.5, 0.2]] {
            let d = Comparator.relativeLossDeviation(losses, from: [1, 0.9, 0.5, 0.1], floorFraction: 1e-3, times: times)
            XCTAssertNil(d.largest)
            let why = try XCTUnwrap(d.missing)
            XCTAssertTrue(why.contains("no mean") && why.contains("1 of the 4 records") && why.hasSuffix("first at t = \(losses[0].isNaN ? "0" : "0.1")"), why)
        }
        let belowFloor = Comparator.relativeLossDeviation([1, 1.1, .nan], from: [1, 1, 1e-4], floorFraction: 1e-3, times: [0, 1, 2])
        XCTAssertEqual(try XCTUnwrap(belowFloor.largest), 0.1, accuracy: 1e-15)
        XCTAssertNil(belowFloor.missing)
        let fine = Comparator.relativeLossDeviation([1, 1.2, 0.5], from: [1, 1, 0.5], floorFraction: 1e-3)
        XCTAssertEqual(try XCTUnwrap(fine.largest), 0.2, accuracy: 1e-15)

        let json = #"{"max_rel_loss_deviation": null, "max_rel_loss_deviation_missing": "the held-out CoT loss has no mean", "final_loss": 1, "#
            + #""max_off_block_norm": 0, "max_offdiag_norm": 0, "max_commutator_norm": 0, "final_w24": -1}"#
        let run = try JSONDecoder().decode(ComparisonMetrics.Run.self, from: Data(json.utf8))
        XCTAssertNil(run.maxRelLossDeviation)
        XCTAssertEqual(run.maxRelLossDeviationMissing, "the held-out CoT loss has no mean")
        let encoded = String(decoding: try JSONEncoder().encode(run), as: UTF8.self)
        XCTAssertTrue(encoded.contains(#""max_rel_loss_deviation":null"#) && encoded.contains(#""max_rel_loss_deviation_missing":"the held-out CoT loss has no mean""#), encoded)
    }
}
