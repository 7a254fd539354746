import CotflowCore
import CotflowStages
import Foundation
import XCTest

final class CSVTests: XCTestCase {
    private func temporaryFile(_ text: String?) throws -> String {
        let path = NSTemporaryDirectory() + "cotflow-stages-\(UUID().uuidString).csv"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        if let text { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        return path
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    /// pandas' default `to_csv`: an unnamed index column, empty cells for NaN, quoted text with commas.
    func testReadsPandasDefaultCSVWithIndexAndTextColumns() throws {
        let text = ",t,loss,stage,v_1\n0,0.0,4.5,\"plateau, early\",-0.1\n1,1.0,3.0,decay,\n"
        let data = try CSVData.parse(text, source: "pandas.csv")
        XCTAssertEqual(data.header, ["index", "t", "loss", "stage", "v_1"])
        XCTAssertEqual(try data.column("index"), [0, 1])
        XCTAssertEqual(try data.column("loss"), [4.5, 3.0])
        XCTAssertEqual(data.textColumns, ["stage"])
        XCTAssertEqual(data.numericColumns, ["index", "t", "loss", "v_1"])
        XCTAssertTrue(try data.column("v_1")[1].isNaN)
        XCTAssertTrue(message { _ = try data.column("stage") }.contains("'stage' holds text"))
        // A file with its own index column keeps it; pandas' unnamed one becomes "Unnamed: 0".
        XCTAssertEqual(try CSVData.parse(",index,loss\n0,5,1.0\n", source: "x").header, ["Unnamed: 0", "index", "loss"])
    }

    func testLoadsAGoodFile() throws {
        let path = try temporaryFile("t,loss,v_1,v_2,w_1,w_2\r\n0,4.5,-0.1,-0.2,0.1,0.2\n1, 3.0 ,-0.3,-0.4,0.3,nan\n\n")
        let data = try CSVData.load(path: path)
        XCTAssertEqual(data.header, ["t", "loss", "v_1", "v_2", "w_1", "w_2"])
        XCTAssertEqual(try data.column("loss"), [4.5, 3.0])
        XCTAssertTrue(data.hasColumn("t"))
        XCTAssertFalse(data.hasColumn("v_3"))
        XCTAssertEqual(data.rows(prefix: "v_"), [[-0.1, -0.2], [-0.3, -0.4]])
        XCTAssertEqual(data.rows(prefix: "w_")[0], [0.1, 0.2])
        XCTAssertTrue(data.rows(prefix: "w_")[1][1].isNaN)
        XCTAssertEqual(data.rows(prefix: "v_diag_").count, 0)
        XCTAssertTrue(message { _ = try data.column("cot_loss_mean") }.contains("columns: t, loss, v_1"))
    }

    func testClearErrors() throws {
        XCTAssertTrue(message { _ = try CSVData.load(path: "/nonexistent/trajectory.csv") }.contains("/nonexistent/trajectory.csv: no such file"))
        XCTAssertTrue(message { _ = try CSVData.load(path: try self.temporaryFile("")) }.contains("empty file"))
        XCTAssertTrue(message { _ = try CSVData.load(path: NSTemporaryDirectory()) }.contains("is a directory"))
        XCTAssertTrue(message { _ = try CSVData.parse("t,loss\n0,1\n1,2,3\n", source: "x.csv") }.contains("x.csv: line 3 has 3 cells but the header has 2 columns"))
        XCTAssertTrue(message { _ = try CSVData.parse("t,loss\n0,1\n1,abc\n", source: "x.csv").column("loss") }.contains("x.csv: column 'loss' holds text, not numbers ('abc' on line 3)"))
        XCTAssertTrue(message { _ = try CSVData.parse("t,loss\n", source: "x.csv") }.contains("no data rows"))
        XCTAssertTrue(message { _ = try CSVData.parse("t,t\n0,1\n", source: "x.csv") }.contains("appears twice"))
    }

    func testStageTablesRoundTrip() throws {
        let times = Synthetic.linearGrid(101, to: 10)
        let losses = times.map { Foundation.exp(Synthetic.logLoss($0, y0: 1.5, changePoints: [4], slopes: [-0.05, -3])) }
        let stages = try ChangePointDetector.stages(times: times, losses: losses)
        XCTAssertEqual(stages.map(\.name), [.plateau, .descent])

        let table = StageTable.csv(stages)
        let reread = try CSVData.parse(table.text, source: "stages.csv")
        XCTAssertEqual(reread.header, ["index", "t_start", "t_end", "loss_start", "loss_end", "mean_log_slope", "rate", "duration"])
        XCTAssertEqual(try reread.column("index"), [1, 2])
        XCTAssertEqual(try reread.column("t_end"), stages.map(\.tEnd))
        XCTAssertEqual(try reread.column("rate"), stages.map(\.rate))
        XCTAssertEqual(try reread.column("duration"), stages.map(\.duration))

        let named = StageTable.csvText(stages)
        let lines = named.split(separator: "\n")
        XCTAssertEqual(lines[0], "index,name,t_start,t_end,loss_start,loss_end,mean_log_slope,rate,duration")
        XCTAssertTrue(lines[1].hasPrefix("1,\"plateau\",0.0,"))
        XCTAssertEqual(lines.count, 3)

        let json = StageTable.json(stages).rendered()
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        XCTAssertEqual(object?.count, 2)
        XCTAssertEqual(Set(object?[0].keys.map { $0 } ?? []),
                       ["index", "name", "t_start", "t_end", "loss_start", "loss_end", "mean_log_slope", "rate", "duration"])
        XCTAssertEqual(object?[1]["name"] as? String, "descent")

        let text = StageTable.text(stages, title: "stages:")
        let textLines = text.split(separator: "\n")
        XCTAssertEqual(textLines[0], "stages:")
        XCTAssertTrue(textLines[1].contains("mean_log_slope"))
        XCTAssertEqual(Set(textLines.dropFirst().map(\.count)).count, 1, "aligned columns:\n\(text)")
        XCTAssertTrue(StageTable.text([], title: "none:").contains("(no stages)"))
    }

    func testStageArithmetic() throws {
        let times = Synthetic.linearGrid(51, to: 5)
        let stages = try ChangePointDetector.stages(times: times, losses: times.map { 3 * Foundation.exp(-2 * $0) })
        XCTAssertEqual(stages.count, 1)
        let s = stages[0]
        XCTAssertEqual(s.duration, 5)
        XCTAssertEqual(s.meanLogSlope, (Foundation.log(s.lossEnd) - Foundation.log(s.lossStart)) / s.duration, accuracy: 1e-12)
        XCTAssertEqual(s.rate, -2, accuracy: 1e-9)
        XCTAssertEqual(s.lossStart, 3, accuracy: 1e-12)
    }
}
