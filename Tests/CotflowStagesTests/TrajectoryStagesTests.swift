import CotflowCore
import CotflowStages
import Foundation
import XCTest

final class TrajectoryStagesTests: XCTestCase {
    let eta = 40.0 / 51.0

    /// A table of the synthetic curve of MechanisticTests with eigenvalue columns `prefix`1..3.
    private func table(loss: String = "loss", v: String = "v_", w: String = "w_", eigenvalues: Bool = true) throws -> CSVData {
        let times = Synthetic.linearGrid(201, to: 10)
        var header = ["t", loss]
        if eigenvalues { header += (1...3).map { "\(v)\($0)" } + (1...3).map { "\(w)\($0)" } }
        var text = header.joined(separator: ",") + "\n"
        for t in times {
            let y = Foundation.exp(Synthetic.logLoss(t, y0: Foundation.log(4), changePoints: [2, 5], slopes: [-0.05, -2, -3]))
            var row = [t, y]
            if eigenvalues {
                let decay: Double = 0.5 * Foundation.exp(-t / 1.5)
                let vs: [Double] = [1.0, 0.5, 0.25].map { (scale: Double) -> Double in -eta * (1 - scale * decay) }
                row += vs
                row += [1, 1, 1]
            }
            text += row.map { "\($0)" }.joined(separator: ",") + "\n"
        }
        return try CSVData.parse(text, source: "curve.csv")
    }

    func testRunsBothDetectorsAsTheyRunAlone() throws {
        let data = try table()
        let a = try TrajectoryStages(data: data) { self.eta }
        let times = try data.column("t"), losses = try data.column("loss")
        XCTAssertEqual(a.lossColumn, "loss")
        XCTAssertEqual(a.vPrefix, "v_")
        XCTAssertEqual(a.wPrefix, "w_")
        XCTAssertEqual(a.v.count, 201)
        XCTAssertEqual(a.changePoint, try ChangePointDetector.stages(times: times, losses: losses))
        let b = try MechanisticDetector.boundaries(times: times, losses: losses, v: data.rows(prefix: "v_"), w: data.rows(prefix: "w_"), eta: eta)
        XCTAssertEqual(a.boundaries, b)
        XCTAssertEqual(a.mechanistic, try MechanisticDetector.stages(times: times, losses: losses, boundaries: b))
        XCTAssertEqual(a.notes, [])
        XCTAssertFalse(a.hasManifoldColumn)
        XCTAssertGreaterThan(a.mechanistic.count, 1)
    }

    func testSkipsTheMechanisticStagesWithANote() throws {
        let noEta = try TrajectoryStages(data: try table()) { nil }
        XCTAssertNil(noEta.boundaries)
        XCTAssertEqual(noEta.mechanistic, [])
        XCTAssertEqual(noEta.notes, ["no --eta and no eta in summary.json beside curve.csv: the stage table is the change points of ln(loss), without the eigenvalue landmarks"])
        var asked = 0
        let noColumns = try TrajectoryStages(data: try table(eigenvalues: false)) { asked += 1; return self.eta }
        XCTAssertEqual(asked, 1)
        XCTAssertNil(noColumns.boundaries)
        XCTAssertEqual(noColumns.notes, ["no eigenvalue columns v_diag_1.. and w_diag_1.. in curve.csv: the stage table is the change points of ln(loss), without the eigenvalue landmarks"])
        XCTAssertFalse(noColumns.changePoint.isEmpty)
        // Without eigenvalues the table is the change points', and there is no cross-check.
        XCTAssertEqual(noColumns.story.basis, .changePoints)
        XCTAssertEqual(noColumns.story.stages, noColumns.changePoint)
        XCTAssertNil(noColumns.story.crossCheck)
        let both = try TrajectoryStages(data: try table()) { self.eta }
        XCTAssertEqual(both.story.basis, .eigenvalues)
        XCTAssertEqual(both.story.stages, both.mechanistic)
        XCTAssertNotNil(both.story.crossCheck)
    }

    func testChoosesColumnsAndPrefixes() throws {
        let diag = try TrajectoryStages(data: try table(loss: "cot_loss_mean", v: "v_diag_", w: "w_diag_")) { self.eta }
        XCTAssertEqual(diag.lossColumn, "cot_loss_mean")
        XCTAssertEqual(diag.vPrefix, "v_diag_")
        XCTAssertNotNil(diag.boundaries)
        var options = TrajectoryStagesOptions()
        options.lossColumn = "other"
        options.vPrefix = "a_"
        options.wPrefix = "b_"
        let data = try table(loss: "other", v: "a_", w: "b_")
        XCTAssertEqual(TrajectoryStages.prefixes(data, v: nil, w: nil).v, "v_diag_")
        let chosen = try TrajectoryStages(data: data, options: options) { self.eta }
        XCTAssertEqual(chosen.lossColumn, "other")
        XCTAssertEqual(chosen.wPrefix, "b_")
        XCTAssertNotNil(chosen.boundaries)

        XCTAssertThrowsError(try TrajectoryStages(data: try table(loss: "train_loss")) { self.eta }) { error in
            XCTAssertEqual(error as? StageError, .noLossColumn(source: "curve.csv", columns: ["t", "train_loss", "v_1", "v_2", "v_3", "w_1", "w_2", "w_3"]))
            XCTAssertEqual("\(error)", "curve.csv: no loss or cot_loss_mean column; choose one with --loss-column (columns: t, train_loss, v_1, v_2, v_3, w_1, w_2, w_3)")
            XCTAssertEqual((error as? StageError)?.kind, .input)
        }
    }

    func testRefusesAStageBeyondDoublePrecision() throws {
        // Times spanning nearly the whole range of a double: a stage's duration overflows.
        let times = (0..<60).map { (i: Int) -> Double in let f = Double(i) / 59; return -1.5e308 * (1 - f) + 1.5e308 * f }
        XCTAssertTrue(times.allSatisfy(\.isFinite))
        var text = "t,loss\n"
        for (i, t) in times.enumerated() { text += "\(t),\(Foundation.exp(-Double(i) / 10))\n" }
        // The span itself overflows: refused before any stage is made (the CLI names the file).
        XCTAssertThrowsError(try TrajectoryStages(data: try CSVData.parse(text, source: "far.csv")) { nil }) { error in
            XCTAssertEqual(error as? StageError, .timeSpanNotResolved(first: -1.5e308, last: 1.5e308))
            XCTAssertEqual((error as? StageError)?.kind, .input)
        }
    }
}
