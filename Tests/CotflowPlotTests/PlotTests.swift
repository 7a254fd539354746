@testable import CotflowPlot
import Foundation
import XCTest

final class PlotTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cotflow-plot-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["COTFLOW_KEEP_PLOTS"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    func base(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A loss decaying through three stages over t in (0, 100], with one non-positive and one NaN value.
    func lossSpec(logX: Bool = true, logY: Bool = true) -> PlotSpec {
        let t = (1...200).map { Double($0) / 2 }
        var loss = t.map { 1 / (1 + $0) + 0.01 * exp(-$0 / 10) }
        loss[10] = 0
        loss[20] = .nan
        let slow = t.map { 0.5 * exp(-$0 / 50) }
        return PlotSpec(
            title: "CoT loss \"d=10\" `echo no` 'k'=5 a_b",
            xLabel: "t (learning rate x step)", yLabel: "loss",
            logX: logX, logY: logY,
            series: [PlotSeries(name: "flow", x: t, y: loss), PlotSeries(name: "training_sgd", x: t, y: slow)],
            shaded: [ShadedInterval(start: 0, end: 3, label: "stage 1"),
                     ShadedInterval(start: 3, end: 30, label: "stage 2"),
                     ShadedInterval(start: 30, end: .infinity, label: "stage 3")],
            verticalLines: [VerticalLine(x: 60, label: "contraction limit")])
    }

    func dataRows(_ path: String) throws -> Int {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
    }

    func missing() -> Plotter.Options { Plotter.Options(searchPath: "/nonexistent-cotflow-dir") }

    func testDataAndScriptWrittenWithDroppedPointsCounted() throws {
        let b = base("loss")
        let outcome = try Plotter.render(panels: [lossSpec()], title: nil, to: b, options: missing())
        XCTAssertFalse(outcome.rendered)
        XCTAssertEqual(outcome.files, [b + ".tsv", b + ".gp", b + "_data.csv"])
        // 400 points: one zero on the log y axis, one NaN.
        XCTAssertEqual(try dataRows(b + ".tsv"), 398)
        XCTAssertTrue(outcome.message.contains("dropped 1 point with non-positive values on a log axis (x or y)"), outcome.message)
        XCTAssertTrue(outcome.message.contains("dropped 1 non-finite point"), outcome.message)
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("cotflow_data = 'loss.tsv'"))
        XCTAssertTrue(script.contains("set logscale x"))
        XCTAssertTrue(script.contains("set logscale y"))
        XCTAssertTrue(script.contains("index 1 using 1:2"))
        // Titles are single-quoted: no backquote substitution, quotes doubled.
        XCTAssertTrue(script.contains("set title 'CoT loss \"d=10\" `echo no` ''k''=5 a_b' noenhanced"), script)

        // Linear axes keep the zero.
        let linear = try Plotter.render(panels: [lossSpec(logX: false, logY: false)], title: nil, to: base("linear"), options: missing())
        XCTAssertEqual(try dataRows(base("linear") + ".tsv"), 399)
        XCTAssertFalse(linear.message.contains("non-positive"))
    }

    func testLogXClampsStagesAndDropsNonPositiveMarkers() throws {
        var spec = lossSpec()
        spec.shaded.append(ShadedInterval(start: -2, end: 0, label: "before"))
        spec.verticalLines.append(VerticalLine(x: 0, label: "origin"))
        let b = base("clamped")
        let outcome = try Plotter.render(panels: [spec], title: nil, to: b, options: missing())
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        // Stage 1 starts at 0; on the log x axis it starts at the smallest t, 0.5.
        XCTAssertTrue(script.contains("set object rect from first 0.5, graph 0 to first 3.0, graph 1"), script)
        XCTAssertTrue(script.contains("to first 100.0, graph 1"), script)   // the open stage ends at the range
        XCTAssertTrue(script.contains("set xrange [0.5:100.0]"))
        XCTAssertEqual(script.components(separatedBy: "set object rect").count - 1, 3)
        XCTAssertTrue(outcome.message.contains("'before'"), outcome.message)
        XCTAssertTrue(outcome.message.contains("'origin'"), outcome.message)
    }

    func testRendersSVGAndPNGWithGnuplot() throws {
        guard Plotter.gnuplotPath() != nil else { throw XCTSkip("gnuplot is not installed") }
        let b = base("rendered figure ü 图/loss")
        let outcome = try Plotter.render(lossSpec(), to: b)
        XCTAssertTrue(outcome.rendered, outcome.message)
        XCTAssertEqual(outcome.files, [b + ".tsv", b + ".gp", b + ".svg", b + ".png", b + "_data.csv"])
        let svg = try String(contentsOfFile: b + ".svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("<svg"))
        XCTAssertTrue(svg.contains("stage 2"))
        XCTAssertTrue(svg.contains("contraction limit"))
        XCTAssertTrue(svg.contains("training_sgd"))
        XCTAssertTrue(svg.contains("`echo no`"), "backquotes must not be executed")
        let png = try Data(contentsOf: URL(fileURLWithPath: b + ".png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertGreaterThan(png.count, 1000)
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertEqual(script.components(separatedBy: "set object rect").count - 1, 3)
        XCTAssertTrue(script.contains("title '1: stage 1'"), script)   // stage names are in the key
        XCTAssertFalse(outcome.message.contains("gnuplot said"), outcome.message)

        // The script renders again from another directory, and a stale figure is replaced.
        try FileManager.default.removeItem(atPath: b + ".svg")
        let gnuplot = try XCTUnwrap(Plotter.gnuplotPath())
        let run = Plotter.runGnuplot(gnuplot, script: b + ".gp", directory: "/", timeout: 30)
        XCTAssertNil(run.failure)
        XCTAssertTrue(Plotter.nonEmptyFile(b + ".svg"))
    }

    func testMissingGnuplotStillWritesDataAndScript() throws {
        XCTAssertNil(Plotter.gnuplotPath(searchPath: "/nonexistent-cotflow-dir"))
        XCTAssertNil(Plotter.gnuplotPath(searchPath: ""))
        let b = base("nognuplot/loss")
        let outcome = try Plotter.render(panels: [lossSpec()], title: nil, to: b, options: missing())
        XCTAssertFalse(outcome.rendered)
        XCTAssertTrue(outcome.message.contains("gnuplot was not found"), outcome.message)
        XCTAssertTrue(outcome.message.contains("gnuplot \(b).gp"), outcome.message)
        XCTAssertTrue(FileManager.default.fileExists(atPath: b + ".tsv"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: b + ".gp"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: b + ".svg"))
    }

    func fakeGnuplot(_ body: String) throws -> String {
        let path = directory.appendingPathComponent("fake-gnuplot-\(UUID().uuidString)").path
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// Issue 24: gnuplot's warnings on a render that worked are not shown (they leaked to the terminal
    /// as "gnuplot said: ..."); on a failure they are (`testFailingOrHangingGnuplotIsReported`).
    func testWarningsOfASuccessfulRenderAreNotShown() throws {
        let warning = try fakeGnuplot("echo 'warning: empty y range [1:1], adjusting to [0.99:1.01]' >&2\n"
            + "stem=${1%.gp}\necho '<svg></svg>' > \"$stem.svg\"\necho png > \"$stem.png\"\nexit 0")
        let b = base("warning")
        let outcome = try Plotter.render(panels: [lossSpec()], title: nil, to: b, options: Plotter.Options(executable: warning))
        XCTAssertTrue(outcome.rendered, outcome.message)
        XCTAssertFalse(outcome.message.contains("empty y range"), outcome.message)
        XCTAssertFalse(outcome.message.contains("gnuplot said"), outcome.message)
    }

    func testFailingOrHangingGnuplotIsReported() throws {
        let failing = try fakeGnuplot("echo 'line 3: undefined variable' >&2\nexit 1")
        let b = base("failing")
        let failed = try Plotter.render(panels: [lossSpec()], title: nil, to: b,
                                        options: Plotter.Options(executable: failing))
        XCTAssertFalse(failed.rendered)
        XCTAssertTrue(failed.message.contains("exit status 1"), failed.message)
        XCTAssertTrue(failed.message.contains("undefined variable"), failed.message)
        XCTAssertEqual(failed.files, [b + ".tsv", b + ".gp", b + "_data.csv"])

        // A hang is stopped; stdin is /dev/null, so a reader sees end of file at once.
        let reader = try fakeGnuplot("cat > /dev/null\nexec sleep 30")
        let start = Date()
        let hung = try Plotter.render(panels: [lossSpec()], title: nil, to: base("hung"),
                                      options: Plotter.Options(executable: reader, timeout: 1))
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertFalse(hung.rendered)
        XCTAssertTrue(hung.message.contains("did not finish within 1 s"), hung.message)
        XCTAssertTrue(FileManager.default.fileExists(atPath: base("hung") + ".gp"))
    }

    /// gnuplot opens its outputs by name: a symlink planted at the figure's path while it runs
    /// (here by the fake gnuplot itself, before it writes) is replaced, never written through.
    func testFigurePlantedAsASymlinkDuringTheRenderIsReplacedNotFollowed() throws {
        let b = base("planted"), victim = directory.appendingPathComponent("victim.txt").path
        try "keep me\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let stem = URL(fileURLWithPath: b).lastPathComponent
        let planting = try fakeGnuplot("""
            ln -s '\(victim)' '\(b).svg'
            ln -s '\(victim)' '\(b).png'
            echo '<svg/>' > '\(stem).svg'
            echo 'png' > '\(stem).png'
            """)
        let outcome = try Plotter.render(panels: [lossSpec()], title: nil, to: b, options: Plotter.Options(executable: planting))
        XCTAssertTrue(outcome.rendered, outcome.message)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "keep me\n")
        for ext in [".svg", ".png"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: b + ext)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, ext)
        }
        XCTAssertEqual(try String(contentsOfFile: b + ".svg", encoding: .utf8), "<svg/>\n")
        // The private directory is gone.
        let left = try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: b).deletingLastPathComponent().path)
        XCTAssertFalse(left.contains { $0.hasPrefix("." + stem + ".tmp-") }, "\(left)")
    }

    func testMultiPanelAndManySeries() throws {
        let t = (0..<100).map { Double($0) / 10 }
        let eigen = (1...20).map { j in
            PlotSeries(name: "lambda_\(j)", x: t, y: t.map { 1 - exp(-Double(j) * $0 / 20) })
        }
        let panels = [
            lossSpec(),
            PlotSpec(title: "eigenvalues of V31", xLabel: "t", yLabel: "lambda", series: eigen,
                     shaded: [ShadedInterval(start: 0, end: 2, label: "stage 1")],
                     verticalLines: [VerticalLine(x: 5, label: "limit")]),
        ]
        let options = Plotter.gnuplotPath() == nil ? missing() : Plotter.Options()
        let b = base("panels")
        let outcome = try Plotter.render(panels: panels, title: "Training dynamics (d, n, k) = (10, 40, 5)", to: b, options: options)
        XCTAssertEqual(try dataRows(b + ".tsv"), 398 + 2000)
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("set multiplot layout 2,1 title 'Training dynamics (d, n, k) = (10, 40, 5)'"))
        XCTAssertTrue(script.contains("index 21 using 1:2"))
        XCTAssertTrue(script.contains("set key off"))
        XCTAssertTrue(script.contains("(20 series, lambda_1 ... lambda_20)"))
        XCTAssertTrue(outcome.message.contains("panel 1"), outcome.message)
        if Plotter.gnuplotPath() != nil {
            XCTAssertTrue(outcome.rendered, outcome.message)
            XCTAssertTrue(try String(contentsOfFile: b + ".svg", encoding: .utf8).contains("<svg"))
            XCTAssertTrue(Plotter.nonEmptyFile(b + ".png"))
        }
    }

    func testEmptyPanelStillRenders() throws {
        let spec = PlotSpec(title: "diverged", xLabel: "t", yLabel: "loss", logY: true,
                            series: [PlotSeries(name: "loss", x: [1, 2, 3], y: [.nan, -1, .infinity])])
        let options = Plotter.gnuplotPath() == nil ? missing() : Plotter.Options()
        let outcome = try Plotter.render(panels: [spec], title: nil, to: base("empty"), options: options)
        XCTAssertTrue(outcome.message.contains("the panel is empty"), outcome.message)
        XCTAssertEqual(try dataRows(base("empty") + ".tsv"), 0)
        if Plotter.gnuplotPath() != nil { XCTAssertTrue(outcome.rendered, outcome.message) }
    }

    func testAwkwardTextIsQuoted() throws {
        let spec = PlotSpec(title: "ends in a backslash \\", xLabel: "x \\", yLabel: "two\nlines",
                            series: [PlotSeries(name: "it's \"quoted\" @x $1 \\n", x: [1, 2, 3], y: [3, 1, 2])],
                            shaded: [ShadedInterval(start: 1, end: 2, label: "stage\twith tab \\")])
        let b = base("awkward")
        let options = Plotter.gnuplotPath() == nil ? missing() : Plotter.Options()
        let outcome = try Plotter.render(panels: [spec], title: "figure title \\", to: b, options: options)
        let script = try String(contentsOfFile: b + ".gp", encoding: .utf8)
        XCTAssertTrue(script.contains("# cotflow plot: figure title \\ \n"), script)
        XCTAssertTrue(script.contains("set multiplot layout 1,1 title 'figure title \\' noenhanced"))
        XCTAssertTrue(script.contains("set ylabel 'two lines' noenhanced"))
        XCTAssertTrue(script.contains("title 'it''s \"quoted\" @x $1 \\n' noenhanced"), script)
        guard Plotter.gnuplotPath() != nil else { return }
        XCTAssertTrue(outcome.rendered, outcome.message)
        XCTAssertFalse(outcome.message.contains("gnuplot said"), outcome.message)
        let svg = try String(contentsOfFile: b + ".svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("figure title \\"))
        XCTAssertTrue(svg.contains("ends in a backslash \\"))
        XCTAssertTrue(svg.contains("it's &quot;quoted&quot; @x $1 \\n") || svg.contains("it's \"quoted\" @x $1 \\n"))
    }

    func testBadSpecsThrow() throws {
        func message(_ body: () throws -> PlotOutcome) -> String {
            do {
                _ = try body()
                return ""
            } catch {
                return "\(error)"
            }
        }
        let ok = PlotSeries(name: "a", x: [1, 2], y: [1, 2])
        XCTAssertTrue(message { try Plotter.render(PlotSpec(title: "t", xLabel: "x", yLabel: "y", series: []), to: base("x")) }
            .contains("has no series"))
        XCTAssertTrue(message {
            try Plotter.render(PlotSpec(title: "t", xLabel: "x", yLabel: "y", series: [PlotSeries(name: "s", x: [1, 2, 3], y: [1])]), to: base("x"))
        }.contains("3 x values but 1 y values"))
        XCTAssertTrue(message { try Plotter.render(panels: [], to: base("x"), title: "t") }.contains("no panels"))
        XCTAssertTrue(message {
            try Plotter.render(PlotSpec(title: "t", xLabel: "x", yLabel: "y", series: [ok],
                                        shaded: [ShadedInterval(start: 2, end: 1, label: "back")]), to: base("x"))
        }.contains("after its end"))
        XCTAssertTrue(message {
            try Plotter.render(PlotSpec(title: "t", xLabel: "x", yLabel: "y", series: [ok],
                                        verticalLines: [VerticalLine(x: .nan, label: "v")]), to: base("x"))
        }.contains("non-finite"))
        let spec = PlotSpec(title: "t", xLabel: "x", yLabel: "y", series: [ok])
        XCTAssertTrue(message { try Plotter.render(spec, to: directory.path + "/") }.contains("invalid plot path"))
        XCTAssertTrue(message { try Plotter.render(spec, to: directory.path) }.contains("is a directory"))
        // A file where a directory should be: the path cannot be written.
        let blocker = base("blocker")
        try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
        XCTAssertTrue(message { try Plotter.render(spec, to: blocker + "/plot") }.contains("cannot write"))
    }

    func testBaseExtensionIsIgnored() throws {
        XCTAssertEqual(try Plotter.normalisedBase("out/loss.svg"), "out/loss")
        XCTAssertEqual(try Plotter.normalisedBase("out/loss.PNG"), "out/loss")
        XCTAssertEqual(try Plotter.normalisedBase("out/v1.5"), "out/v1.5")
        XCTAssertThrowsError(try Plotter.normalisedBase(""))
    }
}
