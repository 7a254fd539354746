import CotflowCore
import CotflowStages
import Foundation
import XCTest

/// Synthetic curves: continuous piecewise-linear ln(loss) with Gaussian noise.
enum Synthetic {
    /// ln(loss) at t for a continuous piecewise-linear function starting at y0 with the given
    /// slopes on the intervals between the change points.
    static func logLoss(_ t: Double, y0: Double, changePoints: [Double], slopes: [Double]) -> Double {
        var y = y0, start = 0.0
        for (k, slope) in slopes.enumerated() {
            let end = k < changePoints.count ? changePoints[k] : .infinity
            y += slope * (min(t, end) - start)
            if t <= end { break }
            start = end
        }
        return y
    }

    static func linearGrid(_ n: Int, to end: Double) -> [Double] { (0..<n).map { end * Double($0) / Double(n - 1) } }

    /// 0 followed by n - 1 log-spaced times from `first` to `end` (like `cotflow ode --grid log`).
    static func logGrid(_ n: Int, first: Double = 1e-3, to end: Double) -> [Double] {
        [0] + (0..<(n - 1)).map { first * Foundation.pow(end / first, Double($0) / Double(n - 2)) }
    }

    static func losses(_ times: [Double], y0: Double, changePoints: [Double], slopes: [Double], noise: Double, seed: UInt64) -> [Double] {
        let random = Random(seed: seed)
        return times.map { Foundation.exp(logLoss($0, y0: y0, changePoints: changePoints, slopes: slopes) + noise * random.gaussian()) }
    }
}

final class ChangePointTests: XCTestCase {
    /// Recovers known change points within 3% of the span, for 2-4 segments, on linear and
    /// log-spaced grids, with noise sigma = 0.05 in ln(loss).
    func testRecoversKnownChangePoints() throws {
        let cases: [(changePoints: [Double], slopes: [Double])] = [
            ([4], [-0.05, -3]),
            ([2, 5], [-0.1, -3, -1]),
            ([1.5, 4, 7], [-0.05, -2, -0.6, -3]),
            ([3, 6], [-2, -0.2, -2.5]),
        ]
        let span = 10.0
        for (c, setting) in cases.enumerated() {
            for (g, times) in [Synthetic.linearGrid(201, to: span), Synthetic.logGrid(400, to: span)].enumerated() {
                for seed: UInt64 in [1, 2, 3] {
                    let losses = Synthetic.losses(times, y0: 1.5, changePoints: setting.changePoints, slopes: setting.slopes,
                                                  noise: 0.05, seed: seed)
                    let stages = try ChangePointDetector.stages(times: times, losses: losses)
                    let label = "case \(c), \(g == 0 ? "linear" : "log") grid, seed \(seed)"
                    XCTAssertEqual(stages.count, setting.slopes.count, "\(label): \(stages.map { ($0.tStart, $0.rate) })")
                    guard stages.count == setting.slopes.count else { continue }
                    for (k, cp) in setting.changePoints.enumerated() {
                        XCTAssertEqual(stages[k].tEnd, cp, accuracy: 0.03 * span, label)
                        XCTAssertEqual(stages[k + 1].tStart, stages[k].tEnd, label)
                    }
                    for (k, slope) in setting.slopes.enumerated() {
                        XCTAssertEqual(stages[k].rate, slope, accuracy: 0.1 * abs(slope) + 0.1, label)
                    }
                    XCTAssertEqual(stages.first?.tStart, 0)
                    XCTAssertEqual(stages.last?.tEnd, span)
                    XCTAssertEqual(stages.map(\.index), Array(1...stages.count))
                }
            }
        }
    }

    func testStraightLineIsOneStage() throws {
        for (noise, slope) in [(0.0, -2.0), (0.05, -1.0), (0.1, -0.5), (0.05, 0.0)] {
            for times in [Synthetic.linearGrid(101, to: 8), Synthetic.logGrid(200, to: 8)] {
                let losses = Synthetic.losses(times, y0: 1, changePoints: [], slopes: [slope], noise: noise, seed: 7)
                let stages = try ChangePointDetector.stages(times: times, losses: losses)
                XCTAssertEqual(stages.count, 1, "noise \(noise), slope \(slope): \(stages)")
                XCTAssertEqual(stages[0].rate, slope, accuracy: 0.05)
                XCTAssertEqual(stages[0].name, slope == 0 ? .plateau : .descent)
            }
        }
    }

    /// A smooth curve shaped like the reduced flow (a saddle plateau, a fast fall, then
    /// exponential convergence): the loss of the scalar flow a' = -(ab - 1) b, b' = -(ab - 1) a from
    /// a = b = u0, for which u^2 = 1 / (1 + C e^{-2t}) and L = (1/2)(1 - u^2)^2, plus a slow drift.
    func testSmoothFlowCurveIsGridIndependent() throws {
        let c = Foundation.exp(4.0)
        func loss(_ t: Double) -> Double {
            let e = c * Foundation.exp(-2 * t)
            let gap = e / (1 + e)
            return 0.5 * gap * gap * Foundation.exp(-0.05 * t) * 9
        }
        let log = Synthetic.logGrid(176, to: 8)
        let linear = Synthetic.linearGrid(200, to: 8)
        let a = try ChangePointDetector.stages(times: log, losses: log.map(loss))
        let b = try ChangePointDetector.stages(times: linear, losses: linear.map(loss))
        XCTAssertEqual(a.count, b.count, "log grid: \(a.map(\.tEnd)), linear grid: \(b.map(\.tEnd))")
        XCTAssertGreaterThanOrEqual(a.count, 2)
        XCTAssertLessThanOrEqual(a.count, 5)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.tEnd, y.tEnd, accuracy: 0.1 * y.tEnd)
            XCTAssertEqual(x.name, y.name)
        }
        XCTAssertEqual(a.first?.name, .plateau)
        XCTAssertEqual(a.last?.rate ?? 0, -4.05, accuracy: 0.3)
    }

    /// The same with an integrated flow: RK4 on a' = -(ab - 1) b, b' = -(ab - 1) a from unequal
    /// small a, b (a saddle plateau, a fast fall, exponential convergence at rate 2(a^2 + b^2) -> 4),
    /// sampled on a log grid and on a linear grid.
    func testIntegratedToyFlowIsGridIndependent() throws {
        func losses(at times: [Double]) -> [Double] {
            var a = 0.03, b = 0.08, t = 0.0
            let dt = 1e-3
            func rhs(_ a: Double, _ b: Double) -> (Double, Double) { let r = a * b - 1; return (-r * b, -r * a) }
            return times.map { target in
                while t < target - 1e-12 {
                    let h = min(dt, target - t)
                    let k1 = rhs(a, b)
                    let k2 = rhs(a + h / 2 * k1.0, b + h / 2 * k1.1)
                    let k3 = rhs(a + h / 2 * k2.0, b + h / 2 * k2.1)
                    let k4 = rhs(a + h * k3.0, b + h * k3.1)
                    a += h / 6 * (k1.0 + 2 * k2.0 + 2 * k3.0 + k4.0)
                    b += h / 6 * (k1.1 + 2 * k2.1 + 2 * k3.1 + k4.1)
                    t += h
                }
                return 0.5 * (a * b - 1) * (a * b - 1)
            }
        }
        let log = Synthetic.logGrid(200, to: 8)
        let linear = Synthetic.linearGrid(161, to: 8)
        let a = try ChangePointDetector.stages(times: log, losses: losses(at: log))
        let b = try ChangePointDetector.stages(times: linear, losses: losses(at: linear))
        XCTAssertEqual(a.count, b.count, "log grid: \(a.map(\.tEnd)), linear grid: \(b.map(\.tEnd))")
        XCTAssertGreaterThanOrEqual(a.count, 2)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.tEnd, y.tEnd, accuracy: 0.1 * y.tEnd)
            XCTAssertEqual(x.name, y.name)
            XCTAssertEqual(x.rate, y.rate, accuracy: 0.1 * abs(y.rate) + 0.02)
        }
        XCTAssertEqual(a.first?.name, .plateau)
        XCTAssertEqual(a.last?.rate ?? 0, -4, accuracy: 0.2)
    }

    /// Two decaying stages before the steepest (issue 24: both were "transition"): the names are
    /// numbered, so every name in the table is unique, and a label reads back as its name and number.
    func testRepeatedNamesAreNumbered() throws {
        let times = Synthetic.linearGrid(400, to: 10)
        let losses = Synthetic.losses(times, y0: 0, changePoints: [2.5, 5, 7.5], slopes: [-0.05, -1, -2, -4], noise: 0, seed: 1)
        let stages = try ChangePointDetector.stages(times: times, losses: losses)
        XCTAssertEqual(stages.map(\.label), ["plateau", "transition 1", "transition 2", "descent"])
        XCTAssertEqual(Set(stages.map(\.label)).count, stages.count)
        XCTAssertEqual(StageTable.json(stages).arrayValue?.compactMap { $0["name"]?.stringValue }, stages.map(\.label))
        XCTAssertTrue(StageTable.csvText(stages).contains("\"transition 2\""))
        XCTAssertEqual(Stage.parse(label: "transition 2")?.name, .transition)
        XCTAssertEqual(Stage.parse(label: "transition 2")?.ordinal, 2)
        XCTAssertEqual(Stage.parse(label: "block manifold")?.name, .blockManifold)
        XCTAssertNil(Stage.parse(label: "transition x"))
    }

    func testNamesFollowTheRates() {
        XCTAssertEqual(ChangePointDetector.names(rates: [-0.05, -3, -1], span: 10), [.plateau, .descent, .convergence])
        XCTAssertEqual(ChangePointDetector.names(rates: [-0.05, -1, -3, -0.01], span: 10), [.plateau, .transition, .descent, .stall])
        XCTAssertEqual(ChangePointDetector.names(rates: [0.001], span: 10), [.plateau])
        XCTAssertEqual(ChangePointDetector.names(rates: [-2, 1], span: 10), [.descent, .rise])
    }

    func testNoiseEstimateAndPenalty() throws {
        let times = Synthetic.linearGrid(400, to: 10)
        let losses = Synthetic.losses(times, y0: 0, changePoints: [], slopes: [-1], noise: 0.2, seed: 3)
        let seg = try ChangePointDetector.segmentation(times: times, losses: losses)
        XCTAssertEqual(seg.estimatedNoise, 0.2, accuracy: 0.03)
        XCTAssertEqual(seg.penalty, 8 * seg.estimatedNoise * seg.estimatedNoise * Foundation.log(200), accuracy: 1e-12)
        var options = ChangePointOptions()
        options.penalty = 0
        options.mergeSlopeTolerance = 0
        let fine = try ChangePointDetector.stages(times: times, losses: losses, options: options)
        XCTAssertGreaterThan(fine.count, 1, "a zero penalty splits noise")
        XCTAssertTrue(fine.allSatisfy { $0.duration >= 0.05 * 10 * 0.9 }, "minimum segment length")
    }

    func testInputChecks() {
        let t = [0.0, 1, 2, 3, 4, 5]
        let l = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: [0, 1, 2], losses: [1, 1, 1]) }.contains("at least 5 points"))
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: [0, 1, 1, 3, 4, 5], losses: l) }.contains("strictly increasing"))
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: t, losses: [1, 0.9, 0, 0.7, 0.6, 0.5]) }.contains("row 3"))
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: t, losses: [1, 0.9, .nan, 0.7, 0.6, 0.5]) }.contains("row 3"))
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: t, losses: Array(l.dropLast())) }.contains("differ in length"))
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: [0, 1, .infinity, 3, 4, 5], losses: l) }.contains("row 3"))
        var options = ChangePointOptions()
        options.gridPoints = 3
        XCTAssertTrue(message { _ = try ChangePointDetector.stages(times: t, losses: l, options: options) }.contains("gridPoints"))
        XCTAssertEqual(message { _ = try ChangePointDetector.stages(times: t, losses: l) }, "no error")
    }
}
