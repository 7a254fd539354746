@testable import CotflowPlot
import Foundation
import XCTest

/// Key entries per group, reference lines, markers on sparse curves, log ticks and the tidy CSV.
extension PlotTests {
    func testGroupsShareOneKeyEntryAndReferenceLinesAreNamed() throws {
        let t = (0..<100).map { Double($0) / 10 }
        var series: [PlotSeries] = []
        for j in 1...6 {
            series.append(PlotSeries(name: "v_\(j)", x: t, y: t.map { -0.1 * Double(j) * $0 }, group: "v_j", colourGroup: "v"))
            series.append(PlotSeries(name: "w_\(j)", x: t, y: t.map { 0.1 * Double(j) * $0 }, group: "w_j", colourGroup: "w"))
        }
        series.append(PlotSeries(name: "training v_1", x: [0, 5, 9], y: [0, -0.5, -0.8], group: "training v_j", dashed: true, colourGroup: "v"))
        let spec = PlotSpec(title: "eigenvalues", xLabel: "t", yLabel: "eigenvalue", series: series,
                            horizontalLines: [HorizontalLine(y: -0.8, label: "construction: v = -eta"), HorizontalLine(y: 1, label: "construction: w = 1")])
        let b = base("groups/eigen")
        let outcome = try Plotter.render(panels: [spec], title: nil, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        // 13 curves, 3 key entries: the key is on and each group is titled once.
        XCTAssertTrue(script.contains("set key on"), script)
        for name in ["v_j", "w_j", "training v_j"] {
            XCTAssertEqual(script.components(separatedBy: "title '\(name)'").count - 1, 1, name)
        }
        XCTAssertEqual(script.components(separatedBy: "notitle").count - 1, 10)
        XCTAssertTrue(script.contains("-0.8 with lines dt 3 lw 1.5 lc rgb \"#505050\" title 'construction: v = -eta'"), script)
        XCTAssertTrue(script.contains("1.0 with lines dt 3 lw 1.5 lc rgb \"#505050\" title 'construction: w = 1'"))
        // Flow and training of v share a colour; training is dashed and, with 3 points, marked.
        let lines = script.split(separator: "\n").map(String.init)
        let flowV = try XCTUnwrap(lines.first { $0.contains("title 'v_j'") })
        let trainingV = try XCTUnwrap(lines.first { $0.contains("title 'training v_j'") })
        let colour = try XCTUnwrap(flowV.range(of: "lc rgb \"#[0-9a-f]{6}\"", options: .regularExpression).map { String(flowV[$0]) })
        XCTAssertTrue(trainingV.contains(colour + " dt 2"), trainingV)
        XCTAssertTrue(trainingV.contains("with linespoints"), trainingV)
        XCTAssertTrue(flowV.contains("with lines "), flowV)
        // Room above and below, so that a reference line at the extreme value is not on the frame.
        XCTAssertTrue(script.contains("set offsets 0, 0, graph 0.05, graph 0.05"))
        XCTAssertTrue(outcome.files.contains(b + "_data.csv"))
        let csv = try String(contentsOfFile: b + "_data.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv[0], "panel,panel_title,series,group,x,y,low,high")
        XCTAssertEqual(csv.count, 1 + 12 * 100 + 3)
        XCTAssertTrue(csv[1].hasPrefix("1,\"eigenvalues\",\"v_1\",\"v_j\",0.0,"), String(csv[1]))
    }

    func testVerticalLinesAreLetteredWithTheirTextInTheKey() throws {
        let spec = PlotSpec(title: "loss", xLabel: "t", yLabel: "loss", series: [PlotSeries(name: "flow", x: [0, 1, 2], y: [3, 2, 1])],
                            verticalLines: [VerticalLine(x: 0.1, label: "SGD: plateau end"), VerticalLine(x: 1.5, label: "SGD: transition end")])
        let b = base("vertical/lines")
        _ = try Plotter.render(panels: [spec], title: nil, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("set label 'A' at first 0.1, graph 0.88"), script)
        XCTAssertTrue(script.contains("title 'A: SGD: plateau end'") && script.contains("title 'B: SGD: transition end'"), script)
        XCTAssertFalse(script.contains("rotate by 90"))
    }

    func testLogTicksArePowersOfTenAndSpreadsAreErrorBars() throws {
        let x = [1.0, 10, 100, 1000]
        let spec = PlotSpec(title: "medians over seeds", xLabel: "sigma", yLabel: "time", logX: true, logY: true,
                            series: [PlotSeries(name: "plateau end", x: x, y: [1, 2, 3, 4], low: [0.5, 1.5, 2.5, 3.5], high: [1.5, 2.5, 3.5, 4.5])])
        let b = base("log/ticks")
        _ = try Plotter.render(panels: [spec], title: nil, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("set format x \"10^{%L}\""), script)
        XCTAssertFalse(script.contains("×10^"), "no 1x10^0 labels")
        XCTAssertTrue(script.contains("set format y \"%g\""), "y spans less than a decade")
        XCTAssertTrue(script.contains("set ytics (0.5, 1.0, 2.0)"), script)   // 1-2-5 tics inside [0.5, 4.5]
        XCTAssertTrue(script.contains("using 1:2:3:4 with yerrorlines"), script)
        let data = try String(contentsOfFile: b + ".tsv", encoding: .utf8)
        XCTAssertTrue(data.contains("10.0\t2.0\t1.5\t2.5\n"), data)
    }

    func testLongPanelTitlesAreWrapped() throws {
        let title = "stage boundaries against sigma: medians over seeds, bars from the smallest to the largest seed, (d, n, k) = (10, 40, 5)"
        let spec = PlotSpec(title: title, xLabel: "x", yLabel: "y",
                            series: [PlotSeries(name: "a series with a rather long name for the key", x: [0, 1], y: [0, 1])])
        let b = base("wrap/title")
        _ = try Plotter.render(panels: [spec], title: nil, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        let line = try XCTUnwrap(script.split(separator: "\n").first { $0.hasPrefix("set title") })
        XCTAssertTrue(line.contains("' . \"\\n\" . '"), String(line))
        XCTAssertEqual(line.replacingOccurrences(of: "' . \"\\n\" . '", with: " "), "set title '\(title)' noenhanced")
    }
}
