import CotflowCore
import CotflowExperiments
import CotflowModel
import CotflowStages
import Foundation
import XCTest

/// The one pipeline (`OutputRun.solve(into:provenance:)`) and the one registry of recorded runs
/// (`Rerun.runTypes`), at the library's level: every computation solves a tiny run into a
/// directory, and `Rerun` decodes it from there by its `computation`, validates it and solves it
/// again bit for bit. A run type left out of the registry cannot be rerun and fails here.
final class RunPipelineTests: XCTestCase {
    private func temporaryDirectory() -> String {
        (NSTemporaryDirectory() as NSString).appendingPathComponent("cotflow-pipeline-\(UUID().uuidString)")
    }

    func testEveryRecordedComputationSolvesIntoADirectoryAndRerunsIdentically() throws {
        var directories: [String: String] = [:]
        var files: [String: Set<String>] = [:]
        func record<Run: OutputRun>(_ run: Run) throws {
            let directory = temporaryDirectory()
            let output = RunOutput(directory: directory, quiet: true, printing: false)
            let outcome = try run.solve(into: output, provenance: try Provenance(arguments: ["test", Run.computation], run: run))
            XCTAssertNil(run.failure(outcome, output: output), Run.computation)
            XCTAssertNil(directories.updateValue(directory, forKey: Run.computation), "\(Run.computation) recorded twice")
            files[Run.computation] = Set(try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") })
        }
        let train = try TrainingRun(d: 2, n: 8, k: 2, seed: 1, batchSize: 16, steps: 10, recordEvery: 5, heldOut: 32)
        try record(train)
        let parameters = InputFile((directories["train"]! as NSString).appendingPathComponent("parameters.json"))
        try record(ReducedFlowRun(d: 2, n: 8, k: 2, seed: 1))
        try record(FullFlowRun(d: 2, n: 8, k: 2, seed: 1, prompts: 16, solver: FlowSolverSettings(endTime: 0.5)))
        try record(try EvaluationRun(seed: 2, load: parameters, prompts: 64))
        try record(HessianRun(d: 2, n: 8, k: 2, seed: 2, load: parameters, objective: .cot, prompts: 32))
        try record(StagesRun(file: InputFile((directories["ode"]! as NSString).appendingPathComponent("trajectory.csv"))))
        try record(try ComparisonRun(d: 2, n: 8, k: 2, seed: 1, batchSize: 16, steps: 10, recordEvery: 2, heldOut: 32))
        var settings = ExperimentSettings(job: .exact)
        (settings.d, settings.n, settings.k) = (2, 8, 2)
        let plan = SweepPlan(settings: settings, axes: ["k=1,2"], directory: "", shards: 1)
        try record(SweepShardRun(plan: plan, shard: .whole, directory: "", jobs: 1, resume: false, force: false, plot: false, plotMetric: nil))

        // Each run wrote its own files (the sweep its shard files and merged report) and its summary.
        XCTAssertEqual(files["train"], ["trajectory.csv", "summary.json", "parameters.json", "initial_parameters.json"])
        XCTAssertEqual(files["ode"], ["trajectory.csv", "summary.json"])
        XCTAssertEqual(files["ode_full"], ["trajectory.csv", "summary.json", "parameters.json", "initial_parameters.json"])
        XCTAssertEqual(files["eval"], ["summary.json", "per_prompt.csv"])
        XCTAssertEqual(files["hessian"], ["summary.json", "eigenvalues.csv"])
        XCTAssertEqual(files["stages"], ["stages.csv", "change_point_stages.csv", "stages.json"])
        XCTAssertEqual(files["compare"], ["comparison.csv", "ode_trajectory.csv", "train_reduced_trajectory.csv", "summary.json"])
        XCTAssertEqual(files["sweep"], ["shard-0-of-1.tsv", "shard-0-of-1.json", "summary.json", "sweep.tsv", "sweep.json", "report.txt", "report.json"])

        // The registry holds every computation recorded here, and each reruns from its directory.
        XCTAssertEqual(Set(Rerun.runTypes.map { $0.computation }), Set(directories.keys))
        for (computation, directory) in directories.sorted(by: { $0.key < $1.key }) {
            let rerun = try Rerun(directory: directory) { XCTFail("\(computation): \($0)") }
            XCTAssertEqual(rerun.runs.map(\.computation), [computation])
            XCTAssertGreaterThan(try rerun.estimate().work.operations, 0, computation)
            let target = rerun.defaultTarget
            try rerun.solve(into: target) { _, _, _ in XCTFail("\(computation): no figure was recorded") }
            let report = rerun.report(rerun: target, tolerance: 0)
            XCTAssertTrue(report.reproduces, "\(computation): \(report.differences)")
            XCTAssertEqual(Set(report.files), files[computation]!.filter { $0.hasSuffix(".json") || $0.hasSuffix(".csv") || $0.hasSuffix(".tsv") }, computation)
            // A second rerun into the same directory is refused before any work.
            XCTAssertThrowsError(try rerun.solve(into: target) { _, _, _ in })
        }
    }

    /// A run that records another computation's name is refused by the registry, naming it.
    func testAnUnknownComputationIsRefusedByTheRegistry() throws {
        let recorded = try RecordedRun(json: .object([("cotflow_version", .string(cotflowVersion)), ("command", .string("cotflow x")),
                                                      ("arguments", .array([.string("x")])), ("computation", .string("x")), ("run", .object([]))]))
        XCTAssertThrowsError(try recorded.decoded(among: Rerun.runTypes, validating: false)) { error in
            XCTAssertEqual((error as? CotflowError)?.description, "cannot rerun a x run")
            XCTAssertEqual((error as? CotflowError)?.kind, .input)
        }
    }
}
