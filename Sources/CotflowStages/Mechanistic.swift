import CotflowCore
import Foundation

/// Times at which the reduced model passes the landmarks of its dynamics.
public struct MechanisticBoundaries: Sendable, Equatable, Codable {
    /// First time the learned step reaches plateauProduct of the GD step: max_j |v_j w_j| >=
    /// plateauProduct x eta (interpolated; the start time when it holds there; nil if never).
    public var plateauEnd: Double?
    /// First time from which max_j |v_j w_j + eta| <= productTolerance x eta for good.
    public var productReached: Double?
    /// First time from which the local slope of ln(loss) stays within exponentialTolerance
    /// (relative) of the final rate; nil when the curve does not reach such a regime.
    public var exponentialStart: Double?
    /// First time from which the distance from the block manifold stays at or below
    /// blockManifoldFraction x its initial value (a random start); nil when no distance was given,
    /// the curve starts on the manifold (distance 0) or is outside the band at the end.
    public var blockManifoldReached: Double?

    public init(plateauEnd: Double? = nil, productReached: Double? = nil, exponentialStart: Double? = nil,
                blockManifoldReached: Double? = nil) {
        self.plateauEnd = plateauEnd
        self.productReached = productReached
        self.exponentialStart = exponentialStart
        self.blockManifoldReached = blockManifoldReached
    }

    private enum CodingKeys: String, CodingKey {
        case plateauEnd = "plateau_end", productReached = "product_reached", exponentialStart = "exponential_start"
        case blockManifoldReached = "block_manifold_reached"
    }

    /// `plateau_end`, `product_reached`, `exponential_start`, `block_manifold_reached` (null where absent).
    public var json: JSONValue {
        .object([("plateau_end", plateauEnd.map { .number($0) } ?? .null),
                 ("product_reached", productReached.map { .number($0) } ?? .null),
                 ("exponential_start", exponentialStart.map { .number($0) } ?? .null),
                 ("block_manifold_reached", blockManifoldReached.map { .number($0) } ?? .null)])
    }
}

/// Options of the mechanistic detector. See notes/stages.md.
public struct MechanisticOptions: Sendable, Codable, Equatable {
    /// The plateau ends when max_j |v_j w_j| reaches this fraction of eta (the construction's |v_j w_j|).
    public var plateauProduct = 0.1
    public var productTolerance = 0.05
    public var exponentialTolerance = 0.1
    /// The final rate is the least-squares slope of ln(loss) over this last fraction of the span.
    public var finalFraction = 0.2
    /// The local slope at t is the least-squares slope over [t - h, t + h] with h this fraction of
    /// the span (widened to the neighbouring points where the data are sparser).
    public var slopeHalfWindowFraction = 0.05
    /// The weights are on the block manifold once the norm of the data path outside the blocks
    /// (`TransformerParameters.dataPathOffBlockNorm`, column `data_off_block_norm`) is at most this
    /// fraction of its start (notes/full-flow.md: the chain path is not part of this landmark).
    public var blockManifoldFraction = 0.1
    public init() {}
}

/// Stage boundaries read off the mechanism (notes/stages.md): the end of the plateau (the products
/// v_j w_j, the learned step's use of the current iterate, reach a tenth of the GD value -eta), the
/// time they reach -eta (within 5%), and the start of the exponential (log-linear) convergence,
/// which is reported but cuts no stage. These are the stages every command quotes.
public enum MechanisticDetector {
    /// - Parameter manifoldDistance: the norm of the data path outside the blocks at each time (column
    ///   `data_off_block_norm`), for the block-manifold landmark of a random start; nil skips it.
    public static func boundaries(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double,
                                  options: MechanisticOptions = MechanisticOptions(),
                                  manifoldDistance: [Double]? = nil) throws -> MechanisticBoundaries {
        let curve = try LossCurve(times: times, losses: losses)
        try check(v: v, w: w, count: times.count, eta: eta, options: options)
        let t = curve.t

        // Plateau end: the first time max_j |v_j w_j| / eta reaches plateauProduct, interpolated.
        var plateauEnd: Double?
        let product = productFractions(v: v, w: w, eta: eta)
        if let i = product.firstIndex(where: { $0 >= options.plateauProduct }) {
            plateauEnd = i == 0 ? t[0] : crossing(t[i - 1], product[i - 1], t[i], product[i], level: options.plateauProduct)
        }

        // Products: the last entry into the tolerance band, interpolated; nil if outside at the end.
        let gap = zip(v, w).map { vs, ws in zip(vs, ws).map { abs($0 * $1 + eta) }.max()! / eta }
        var productReached: Double?
        if gap[gap.count - 1] <= options.productTolerance {
            var i = gap.count - 1
            while i > 0, gap[i - 1] <= options.productTolerance { i -= 1 }
            productReached = i == 0 ? t[0] : crossing(t[i - 1], gap[i - 1], t[i], gap[i], level: options.productTolerance)
        }

        return MechanisticBoundaries(plateauEnd: plateauEnd, productReached: productReached,
                                     exponentialStart: exponentialStart(curve, options: options),
                                     blockManifoldReached: try blockManifold(times: times, distance: manifoldDistance, curve: curve, options: options))
    }

    /// The last entry of the distance into [0, fraction x its start], interpolated; nil as documented
    /// on `MechanisticBoundaries.blockManifoldReached`.
    static func blockManifold(times: [Double], distance: [Double]?, curve: LossCurve, options: MechanisticOptions) throws -> Double? {
        guard let m = distance else { return nil }
        guard m.count == times.count else {
            throw StageError.manifoldDistanceCount(times: times.count, got: m.count)
        }
        guard options.blockManifoldFraction > 0, options.blockManifoldFraction < 1 else {
            throw StageError.setting(name: "blockManifoldFraction", requirement: "in (0, 1)", value: "\(options.blockManifoldFraction)")
        }
        if let i = m.firstIndex(where: { !$0.isFinite || $0 < 0 }) { throw StageError.manifoldDistanceNotFinite(row: i + 1) }
        guard let m0 = m.first, m0 > 0 else { return nil }
        let level = options.blockManifoldFraction * m0
        guard m[m.count - 1] <= level else { return nil }
        var i = m.count - 1
        while i > 0, m[i - 1] <= level { i -= 1 }
        return i == 0 ? curve.t[0] : crossing(curve.t[i - 1], m[i - 1], curve.t[i], m[i], level: level)
    }

    public static func stages(times: [Double], losses: [Double], v: [[Double]], w: [[Double]], eta: Double,
                              options: MechanisticOptions = MechanisticOptions()) throws -> [Stage] {
        try stages(times: times, losses: losses, boundaries: boundaries(times: times, losses: losses, v: v, w: w, eta: eta, options: options))
    }

    /// The stages cut at boundaries already found by `boundaries(...)` on the same curve.
    public static func stages(times: [Double], losses: [Double], boundaries b: MechanisticBoundaries) throws -> [Stage] {
        stages(try LossCurve(times: times, losses: losses), b)
    }

    /// max_j |v_j w_j| / eta at each time: the learned step's weight on the current iterate
    /// against the GD step's (1 at the construction).
    public static func productFractions(v: [[Double]], w: [[Double]], eta: Double) -> [Double] {
        zip(v, w).map { vs, ws in (zip(vs, ws).map { abs($0 * $1) }.max() ?? 0) / eta }
    }

    /// Stage names in order: the landmark before each of the later ones opens it.
    static let names: [StageName] = [.plateau, .transition, .convergence]
    /// The stage opened by the block-manifold landmark (a random start), placed at its time.
    static let blockManifoldName = StageName.blockManifold

    /// Cuts [t0, t_end] at the plateau end and the products' arrival at -eta; each stage is named
    /// after the landmark that opens it. The first stage is the one whose landmark has been passed
    /// at t0 (a start with products already at a tenth of -eta has no plateau). A missing or
    /// out-of-order boundary merges its stage into the previous one. The exponential start cuts
    /// no stage: it is a property of the convergence stage (its rate), reported beside the table.
    static func stages(_ curve: LossCurve, _ b: MechanisticBoundaries) -> [Stage] {
        let landmarks = [b.plateauEnd, b.productReached]
        let passed = landmarks.lastIndex { $0.map { $0 <= curve.first } ?? false }.map { $0 + 1 } ?? 0
        var cuts: [(time: Double, name: StageName)] = [(curve.first, names[passed])]
        for (k, boundary) in landmarks.enumerated() where k >= passed {
            guard let x = boundary, x > cuts[cuts.count - 1].time, x < curve.last else { continue }
            cuts.append((x, names[k + 1]))
        }
        if let x = b.blockManifoldReached, x > curve.first, x < curve.last, !cuts.contains(where: { $0.time == x }) {
            cuts.insert((x, blockManifoldName), at: cuts.firstIndex(where: { $0.time > x }) ?? cuts.count)
        }
        return cuts.enumerated().map { i, cut in
            let end = i + 1 < cuts.count ? cuts[i + 1].time : curve.last
            return curve.stage(index: i + 1, name: cut.name, from: cut.time, to: end)
        }
    }

    static func check(v: [[Double]], w: [[Double]], count: Int, eta: Double, options: MechanisticOptions) throws {
        guard eta.isFinite, eta > 0 else { throw StageError.setting(name: "eta", requirement: "positive and finite", value: "\(eta)") }
        guard v.count == count, w.count == count else {
            throw StageError.eigenvalueRows(times: count, v: v.count, w: w.count)
        }
        let d = v[0].count
        guard d > 0 else { throw StageError.noEigenvalues }
        for i in 0..<count {
            guard v[i].count == d, w[i].count == d else {
                throw StageError.eigenvalueCount(row: i + 1, v: v[i].count, w: w[i].count, d: d)
            }
            guard v[i].allSatisfy(\.isFinite), w[i].allSatisfy(\.isFinite) else {
                throw StageError.eigenvalueNotFinite(row: i + 1)
            }
        }
        guard options.plateauProduct > 0, options.plateauProduct < 1 else { throw StageError.setting(name: "plateauProduct", requirement: "in (0, 1)", value: "\(options.plateauProduct)") }
        guard options.productTolerance.isFinite, options.productTolerance > 0 else { throw StageError.setting(name: "productTolerance", requirement: "positive", value: "\(options.productTolerance)") }
        guard options.exponentialTolerance.isFinite, options.exponentialTolerance > 0 else { throw StageError.setting(name: "exponentialTolerance", requirement: "positive", value: "\(options.exponentialTolerance)") }
        guard options.finalFraction > 0, options.finalFraction <= 0.5 else { throw StageError.setting(name: "finalFraction", requirement: "in (0, 0.5]", value: "\(options.finalFraction)") }
        guard options.slopeHalfWindowFraction > 0, options.slopeHalfWindowFraction <= 0.5 else {
            throw StageError.setting(name: "slopeHalfWindowFraction", requirement: "in (0, 0.5]", value: "\(options.slopeHalfWindowFraction)")
        }
    }

    static func crossing(_ t0: Double, _ y0: Double, _ t1: Double, _ y1: Double, level: Double) -> Double {
        guard y1 != y0 else { return t1 }
        let f = min(1, max(0, (level - y0) / (y1 - y0)))
        return t0 + f * (t1 - t0)
    }

    /// The final rate is the slope over the last `finalFraction` of the span; the exponential
    /// regime starts at the first point from which every local slope is within the tolerance of
    /// it (records longer than 2000 points are scanned at a stride of n / 2000 points). nil when the final rate is not a decay (>= 0, or |rate| x span <= 0.1), or when the
    /// regime would start only inside the final window.
    static func exponentialStart(_ curve: LossCurve, options: MechanisticOptions) -> Double? {
        let t = curve.t, n = t.count
        let finalStart = curve.last - options.finalFraction * curve.span
        let finalRate = curve.rate(from: finalStart, to: curve.last)
        guard finalRate < 0, -finalRate * curve.span > 0.1 else { return nil }
        let h = options.slopeHalfWindowFraction * curve.span
        var start: Int?
        // Long records are scanned at a stride, so that at most about 2000 local slopes are fitted.
        let step = max(1, n / 2000)
        for i in stride(from: n - 1, through: 0, by: -step) {
            let lo = min(max(t[0], t[i] - h), i > 0 ? t[i - 1] : t[0])
            let hi = max(min(curve.last, t[i] + h), i < n - 1 ? t[i + 1] : curve.last)
            let slope = curve.rate(from: lo, to: hi)
            guard abs(slope - finalRate) <= options.exponentialTolerance * abs(finalRate) else { break }
            start = i
        }
        guard let s = start, t[s] <= finalStart else { return nil }
        return t[s]
    }
}
