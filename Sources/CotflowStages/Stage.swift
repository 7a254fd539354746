import CotflowCore
import Foundation

/// The name of a stage, in the words of notes/stages.md. The stage table every command quotes is
/// read off the eigenvalues (`MechanisticDetector`): plateau, transition, convergence (and block
/// manifold for a random start). The cross-check by change points of ln(loss) names its stages
/// by their rates: plateau, stall, rise, descent, transition, convergence.
public enum StageName: String, Sendable, CaseIterable, CustomStringConvertible {
    case plateau, stall, rise, descent, transition, convergence
    case blockManifold = "block manifold"

    public var description: String { rawValue }
}

/// A stage of a loss curve: a time interval with its loss at both ends and its rate of decay.
public struct Stage: Sendable, Equatable {
    public var index: Int            // 1-based
    public var name: StageName
    /// 1, 2, ... when the table has several stages of this name (the label is then "transition 2"):
    /// names are unique within a table; nil when the name occurs once.
    public var ordinal: Int?
    public var tStart: Double, tEnd: Double
    public var lossStart: Double, lossEnd: Double
    /// (ln lossEnd - ln lossStart) / (tEnd - tStart)
    public var meanLogSlope: Double
    /// Least-squares slope of ln(loss) against t over the stage's points: the rate estimate.
    public var rate: Double
    public var duration: Double { tEnd - tStart }
    /// The name as tables print it: "transition", or "transition 2" when the name repeats.
    public var label: String { ordinal.map { "\(name.rawValue) \($0)" } ?? name.rawValue }

    public init(index: Int, name: StageName, ordinal: Int? = nil, tStart: Double, tEnd: Double, lossStart: Double, lossEnd: Double,
                meanLogSlope: Double, rate: Double) {
        self.index = index
        self.name = name
        self.ordinal = ordinal
        self.tStart = tStart
        self.tEnd = tEnd
        self.lossStart = lossStart
        self.lossEnd = lossEnd
        self.meanLogSlope = meanLogSlope
        self.rate = rate
    }

    /// The name and ordinal of a label ("transition 2"); nil for an unknown name.
    public static func parse(label: String) -> (name: StageName, ordinal: Int?)? {
        if let name = StageName(rawValue: label) { return (name, nil) }
        guard let space = label.lastIndex(of: " "), let ordinal = Int(label[label.index(after: space)...]), ordinal > 0,
              let name = StageName(rawValue: String(label[..<space])) else { return nil }
        return (name, ordinal)
    }

    /// `stages` with repeated names numbered 1, 2, ... in order, so that every label is unique.
    public static func numberingRepeats(_ stages: [Stage]) -> [Stage] {
        var total: [StageName: Int] = [:], seen: [StageName: Int] = [:]
        for s in stages { total[s.name, default: 0] += 1 }
        return stages.map { s in
            var s = s
            guard total[s.name, default: 0] > 1 else { s.ordinal = nil; return s }
            seen[s.name, default: 0] += 1
            s.ordinal = seen[s.name]
            return s
        }
    }
}

/// A validated loss curve: strictly increasing finite times and positive finite losses.
struct LossCurve {
    let t: [Double]
    /// ln(loss)
    let y: [Double]

    static let minimumPoints = 5

    init(times: [Double], losses: [Double]) throws {
        guard times.count == losses.count else {
            throw StageError.lengths(times: times.count, losses: losses.count)
        }
        guard times.count >= LossCurve.minimumPoints else {
            throw StageError.tooFewPoints(minimum: LossCurve.minimumPoints, got: times.count)
        }
        for (i, x) in times.enumerated() {
            guard x.isFinite else { throw StageError.timeNotFinite(row: i + 1, value: x) }
            if i > 0, x <= times[i - 1] {
                throw StageError.timesNotIncreasing(row: i + 1, t: x, previous: times[i - 1])
            }
        }
        for (i, l) in losses.enumerated() {
            guard l.isFinite, l > 0 else {
                throw StageError.lossNotPositive(row: i + 1, t: times[i], value: l)
            }
        }
        // The span and the resampling grid t0 + span i / (N - 1) must be resolved in double precision.
        let span = times[times.count - 1] - times[0]
        guard span.isFinite, span > 1e-9 * max(abs(times[0]), abs(times[times.count - 1])) else {
            throw StageError.timeSpanNotResolved(first: times[0], last: times[times.count - 1])
        }
        t = times
        y = losses.map { Foundation.log($0) }
    }

    var first: Double { t[0] }
    var last: Double { t[t.count - 1] }
    var span: Double { last - first }

    /// ln(loss) at time `x` by linear interpolation (clamped to the ends).
    func logLoss(at x: Double) -> Double {
        if x <= t[0] { return y[0] }
        if x >= t[t.count - 1] { return y[y.count - 1] }
        var lo = 0, hi = t.count - 1
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if t[mid] <= x { lo = mid } else { hi = mid }
        }
        let f = (x - t[lo]) / (t[hi] - t[lo])
        return y[lo] + f * (y[hi] - y[lo])
    }

    /// The first index whose time is strictly greater than x (t.count if none).
    func firstIndex(after x: Double) -> Int {
        var lo = 0, hi = t.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if t[mid] <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Least-squares slope of ln(loss) against t over [a, b]: the interpolated values at a and b
    /// and the data points strictly inside, each weighted by the time it represents (trapezoid
    /// weights), so the estimate does not depend on how densely the curve was sampled.
    func rate(from a: Double, to b: Double) -> Double {
        guard b > a else { return 0 }
        var xs = [a], ys = [logLoss(at: a)]
        var i = firstIndex(after: a)
        while i < t.count, t[i] < b { xs.append(t[i]); ys.append(y[i]); i += 1 }
        xs.append(b); ys.append(logLoss(at: b))
        return weightedSlope(xs, ys)
    }

    /// The stage over [a, b].
    func stage(index: Int, name: StageName, from a: Double, to b: Double) -> Stage {
        let ya = logLoss(at: a), yb = logLoss(at: b)
        return Stage(index: index, name: name, tStart: a, tEnd: b, lossStart: Foundation.exp(ya), lossEnd: Foundation.exp(yb),
                     meanLogSlope: b > a ? (yb - ya) / (b - a) : 0, rate: rate(from: a, to: b))
    }
}

/// Least-squares slope with trapezoid weights over sorted abscissae. The abscissae are scaled by
/// a power of two to at most 1 in magnitude (exact: the slope has the same bits), so that the sums
/// of weight x distance^2 stay finite for any finite times (times near 1e150 overflowed them).
func weightedSlope(_ xs: [Double], _ ys: [Double]) -> Double {
    let n = xs.count
    guard n >= 2 else { return 0 }
    let largest = max(abs(xs[0]), abs(xs[n - 1]))
    guard largest > 0, largest.isFinite else { return 0 }
    let scale = Double(sign: .plus, exponent: -largest.exponent - 1, significand: 1)
    let u = xs.map { $0 * scale }
    var weights = [Double](repeating: 0, count: n)
    for i in 0..<(n - 1) {
        let h = (u[i + 1] - u[i]) / 2
        weights[i] += h
        weights[i + 1] += h
    }
    var sw = 0.0, sx = 0.0, sy = 0.0
    for i in 0..<n { sw += weights[i]; sx += weights[i] * u[i]; sy += weights[i] * ys[i] }
    guard sw > 0 else { return 0 }
    let mx = sx / sw, my = sy / sw
    var sxx = 0.0, sxy = 0.0
    for i in 0..<n {
        let dx = u[i] - mx
        sxx += weights[i] * dx * dx
        sxy += weights[i] * dx * (ys[i] - my)
    }
    return sxx > 0 ? sxy / sxx * scale : 0
}
