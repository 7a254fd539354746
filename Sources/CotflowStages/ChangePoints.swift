import CotflowCore
import Foundation

/// Options of the data-driven change-point detector. See notes/stages.md.
public struct ChangePointOptions: Sendable, Codable, Equatable {
    /// Penalty per segment in units of ln(loss)^2 summed over the (weighted) grid; nil = the
    /// default `penaltyScale * sigma^2 * ln(N)` (see `ChangePointDetector`).
    public var penalty: Double?
    /// Minimum length of a segment as a fraction of the time span (and at least 3 grid points).
    public var minimumSegmentFraction: Double = 0.05
    /// Floor on the noise level sigma of ln(loss): a tolerance in ln-loss units below which
    /// deviations from a straight line are not worth a new segment.
    public var noiseFloor: Double = 0.05
    /// Number of equally spaced times the curve is resampled onto.
    public var gridPoints: Int = 200
    /// c in the default penalty c * sigma^2 * ln(N).
    public var penaltyScale: Double = 8
    /// Adjacent segments whose slopes differ by at most this fraction of the larger magnitude
    /// (or of the flat scale plateauRatio x steepest decay rate, if larger) are merged after the
    /// segmentation, as are two adjacent flat segments (both slopes within the flat scale).
    public var mergeSlopeTolerance: Double = 0.25
    /// A stage is flat ("plateau" before the steepest stage, "stall" after it) when the magnitude
    /// of its rate is at most this fraction of the steepest decay rate.
    public var plateauRatio: Double = 0.2
    /// A stage is also flat when |rate| x (time span of the whole curve) is at most this
    /// (the loss would change by less than this factor in ln units over the whole run).
    public var flatLogChange: Double = 0.1

    public init() {}
}

/// The result of the segmentation before naming (exposed for diagnostics and tests).
public struct Segmentation: Sendable {
    /// Boundaries in time: first time, interior change points, last time.
    public var boundaries: [Double]
    /// The noise level sigma of ln(loss) estimated from the data (before the floor).
    public var estimatedNoise: Double
    /// The penalty per segment that was used.
    public var penalty: Double
}

/// Data-driven stages: a penalised piecewise-linear segmentation of ln(loss) against t.
///
/// 1. ln(loss) is resampled by linear interpolation onto `gridPoints` equally spaced times, so a
///    log-spaced ODE grid and a linearly spaced training record weigh time alike.
///    Where noisy data are sparser than the grid, grid points get weights below 1
///    (interpolated points are not independent observations; see `weights`).
/// 2. Optimal partitioning (exact, O(N^2)) minimises the sum over segments of the weighted
///    least-squares RSS of a straight line plus `penalty` per segment, with every segment at
///    least `minimumSegmentFraction` of the span long.
/// 3. Default penalty: `penaltyScale * sigma^2 * ln(N)`, with sigma the larger of `noiseFloor`
///    and a robust estimate of the noise of ln(loss) (MAD of the normalised second differences
///    of the original points).
/// 4. Adjacent segments with nearly equal slopes are merged (`mergeSlopeTolerance`).
/// 5. Stages are named by rate: see `names(rates:span:options:)`; a name that occurs more than
///    once is numbered ("transition 1", "transition 2"), so names are unique within a table.
public enum ChangePointDetector {
    public static func stages(times: [Double], losses: [Double], options: ChangePointOptions = ChangePointOptions()) throws -> [Stage] {
        let curve = try LossCurve(times: times, losses: losses)
        let seg = try segment(curve, options: options)
        let b = seg.boundaries
        let rates = (0..<(b.count - 1)).map { curve.rate(from: b[$0], to: b[$0 + 1]) }
        let labels = names(rates: rates, span: curve.span, options: options)
        return Stage.numberingRepeats((0..<(b.count - 1)).map { curve.stage(index: $0 + 1, name: labels[$0], from: b[$0], to: b[$0 + 1]) })
    }

    /// The segmentation alone: boundaries, the noise estimate and the penalty.
    public static func segmentation(times: [Double], losses: [Double], options: ChangePointOptions = ChangePointOptions()) throws -> Segmentation {
        try segment(try LossCurve(times: times, losses: losses), options: options)
    }

    /// Robust noise level of ln(loss): for each interior point, its deviation from the chord
    /// through its neighbours, divided by that deviation's standard deviation under i.i.d. noise
    /// of unit variance; sigma = 1.4826 x the median absolute deviation of these about their median.
    public static func noiseLevel(times: [Double], logLosses y: [Double]) -> Double {
        let t = times
        guard t.count >= 3 else { return 0 }
        var r: [Double] = []
        for i in 1..<(t.count - 1) {
            let h = t[i + 1] - t[i - 1]
            let a = (t[i + 1] - t[i]) / h, b = (t[i] - t[i - 1]) / h
            let dev = y[i] - (a * y[i - 1] + b * y[i + 1])
            r.append(dev / (1 + a * a + b * b).squareRoot())
        }
        let m = median(r)
        return 1.4826 * median(r.map { abs($0 - m) })
    }

    static func segment(_ curve: LossCurve, options: ChangePointOptions) throws -> Segmentation {
        guard options.gridPoints >= 10 else { throw StageError.setting(name: "gridPoints", requirement: "at least 10", value: "\(options.gridPoints)") }
        guard options.minimumSegmentFraction.isFinite, options.minimumSegmentFraction > 0, options.minimumSegmentFraction <= 0.5 else {
            throw StageError.setting(name: "minimumSegmentFraction", requirement: "in (0, 0.5]", value: "\(options.minimumSegmentFraction)")
        }
        guard options.noiseFloor.isFinite, options.noiseFloor >= 0 else { throw StageError.setting(name: "noiseFloor", requirement: "non-negative", value: "\(options.noiseFloor)") }
        if let p = options.penalty, !(p.isFinite && p >= 0) { throw StageError.setting(name: "penalty", requirement: "non-negative and finite", value: "\(p)") }
        guard options.penaltyScale.isFinite, options.penaltyScale >= 0 else { throw StageError.setting(name: "penaltyScale", requirement: "non-negative", value: "\(options.penaltyScale)") }
        guard options.mergeSlopeTolerance.isFinite, options.mergeSlopeTolerance >= 0 else { throw StageError.setting(name: "mergeSlopeTolerance", requirement: "non-negative", value: nil) }

        let n = options.gridPoints
        let t0 = curve.first, span = curve.span
        let grid = (0..<n).map { t0 + span * Double($0) / Double(n - 1) }
        let y = grid.map { curve.logLoss(at: $0) }

        let sigmaHat = noiseLevel(times: curve.t, logLosses: curve.y)
        let sigma = max(sigmaHat, options.noiseFloor)
        let penalty = options.penalty ?? options.penaltyScale * sigma * sigma * Foundation.log(Double(n))
        let rho = sigmaHat > 0 ? sigmaHat * sigmaHat / (sigmaHat * sigmaHat + options.noiseFloor * options.noiseFloor) : 0
        let weights = weights(grid: grid, times: curve.t, rho: rho)

        let minLength = max(3, Int((options.minimumSegmentFraction * Double(n)).rounded(.up)))
        var cuts = optimalPartition(y, weights: weights, minLength: minLength, penalty: penalty)
        cuts = mergeSimilar(Sums(y, weights: weights), cuts: cuts, options: options, span: span, n: n)

        var boundaries = [t0]
        for c in cuts.dropFirst().dropLast() { boundaries.append((grid[c - 1] + grid[c]) / 2) }
        boundaries.append(curve.last)
        return Segmentation(boundaries: boundaries, estimatedNoise: sigmaHat, penalty: penalty)
    }

    /// Weighted prefix sums for O(1) least-squares line costs with abscissa = grid index.
    struct Sums {
        var w: [Double], x: [Double], y: [Double], xx: [Double], xy: [Double], yy: [Double]
        init(_ v: [Double], weights: [Double]) {
            let n = v.count
            w = [0]; x = [0]; y = [0]; xx = [0]; xy = [0]; yy = [0]
            for i in 0..<n {
                let wi = weights[i], xi = Double(i), yi = v[i]
                w.append(w[i] + wi); x.append(x[i] + wi * xi); y.append(y[i] + wi * yi)
                xx.append(xx[i] + wi * xi * xi); xy.append(xy[i] + wi * xi * yi); yy.append(yy[i] + wi * yi * yi)
            }
        }
        /// Weighted RSS of the least-squares line over points i..<j and its slope per grid step.
        func fit(_ i: Int, _ j: Int) -> (rss: Double, slope: Double) {
            let m = w[j] - w[i]
            guard m > 0 else { return (0, 0) }
            let sx = x[j] - x[i], sy = y[j] - y[i]
            let sxx = (xx[j] - xx[i]) - sx * sx / m
            let sxy = (xy[j] - xy[i]) - sx * sy / m
            let syy = (yy[j] - yy[i]) - sy * sy / m
            guard sxx > 1e-12 * m else { return (max(0, syy), 0) }
            return (max(0, syy - sxy * sxy / sxx), sxy / sxx)
        }
    }

    /// Weight of each grid point: 1 / (1 + rho (r - 1)) where r = max(1, data spacing / grid
    /// spacing) around the point and rho = sigmaHat^2 / (sigmaHat^2 + noiseFloor^2) is the share
    /// of noise in the variance. Where noisy data are sparser than the grid, the interpolated
    /// points are not independent and together count as about as many points as the data hold
    /// there (weight 1 / r); a smooth curve (rho near 0) keeps weight 1 everywhere, since
    /// interpolating it loses little.
    static func weights(grid: [Double], times t: [Double], rho: Double) -> [Double] {
        let h = grid.count > 1 ? grid[1] - grid[0] : 1
        var i = 0
        return grid.map { g in
            while i < t.count - 2, t[i + 1] < g { i += 1 }
            let r = max(1, (t[i + 1] - t[i]) / h)
            return 1 / (1 + rho * (r - 1))
        }
    }

    /// Cut indices [0, c1, ..., N] of the exact minimiser of sum(RSS) + penalty x segments.
    static func optimalPartition(_ y: [Double], weights: [Double], minLength: Int, penalty: Double) -> [Int] {
        let n = y.count
        guard n >= 2 * minLength else { return [0, n] }
        let sums = Sums(y, weights: weights)
        var best = [Double](repeating: .infinity, count: n + 1)
        var previous = [Int](repeating: -1, count: n + 1)
        best[0] = 0
        for j in minLength...n {
            var i = 0
            while i <= j - minLength {
                if best[i].isFinite {
                    let value = best[i] + sums.fit(i, j).rss + penalty
                    if value < best[j] { best[j] = value; previous[j] = i }
                }
                i += (i == 0 ? minLength : 1)
            }
        }
        var cuts = [n]
        var j = n
        while j > 0 { j = previous[j]; cuts.append(j) }
        return cuts.reversed()
    }

    /// Merges adjacent segments with nearly equal slopes, the closest pair first, until none is left.
    static func mergeSimilar(_ sums: Sums, cuts: [Int], options: ChangePointOptions, span: Double, n: Int) -> [Int] {
        let step = span / Double(n - 1)
        var cuts = cuts
        while cuts.count > 2 {
            let slopes = (0..<(cuts.count - 1)).map { sums.fit(cuts[$0], cuts[$0 + 1]).slope / step }
            let steepest = slopes.map { -$0 }.max() ?? 0
            let flatScale = options.plateauRatio * max(steepest, 0)
            var bestPair = -1, bestScore = Double.infinity
            for k in 0..<(slopes.count - 1) {
                let a = slopes[k], b = slopes[k + 1]
                let scale = max(abs(a), abs(b), flatScale)
                // Two flat neighbours are one plateau whatever their slopes.
                let bothFlat = max(abs(a), abs(b)) <= flatScale
                let score = bothFlat || scale == 0 ? 0 : abs(a - b) / scale
                if score <= options.mergeSlopeTolerance, score < bestScore { bestScore = score; bestPair = k }
            }
            guard bestPair >= 0 else { break }
            cuts.remove(at: bestPair + 1)
        }
        return cuts
    }

    /// Stage names from the rates (documented in notes/stages.md):
    /// - flat (|rate| <= plateauRatio x steepest decay rate, or |rate| x span <= flatLogChange):
    ///   "plateau" before the steepest stage, "stall" after it;
    /// - a rising, not flat stage: "rise";
    /// - the steepest decaying stage: "descent";
    /// - other decaying stages: "transition" before the steepest, "convergence" after it.
    public static func names(rates: [Double], span: Double, options: ChangePointOptions = ChangePointOptions()) -> [StageName] {
        // The steepest decay; a NaN rate (never made by `LossCurve`) is never the steepest.
        guard let steepest = rates.indices.filter({ !rates[$0].isNaN }).min(by: { rates[$0] < rates[$1] }) else {
            return rates.map { _ in .plateau }
        }
        let steepestRate = rates[steepest]
        let decay = max(0, -steepestRate)
        func isFlat(_ r: Double) -> Bool { abs(r) <= options.plateauRatio * decay || abs(r) * span <= options.flatLogChange }
        return rates.enumerated().map { i, r in
            if isFlat(r) { return i <= steepest ? .plateau : .stall }
            if r > 0 { return .rise }
            if i == steepest { return .descent }
            return i < steepest ? .transition : .convergence
        }
    }
}
