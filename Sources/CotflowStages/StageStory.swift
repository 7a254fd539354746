import CotflowCore
import Foundation

/// The one stage table of a curve that every command, figure and example quotes, with the other
/// detector as a cross-check (notes/stages.md). With eigenvalue columns and eta the table is read
/// off the eigenvalues (`MechanisticDetector`: plateau, transition, convergence); without them it
/// is the change-point table, and there is no cross-check.
public struct StageStory: Sendable {
    /// What the table is read off.
    public enum Basis: String, Sendable, Codable {
        case eigenvalues = "eigenvalues: products v_j w_j against -eta"
        case changePoints = "change points of ln(loss)"
    }

    public let basis: Basis
    /// The stage table.
    public let stages: [Stage]
    /// The eigenvalue landmarks (nil: the table is the change points').
    public let boundaries: MechanisticBoundaries?
    /// The change-point stages: the table itself without eigenvalues, the cross-check with them.
    public let changePoints: [Stage]
    /// The cross-check of the plateau end (nil without eigenvalues).
    public let crossCheck: StageCrossCheck?
    /// The landmarks' settings (for the words of `landmarkLine`).
    public let options: MechanisticOptions

    /// The story of a curve whose eigenvalue landmarks are known (`boundaries`), or of a loss alone
    /// (nil). `stages` are the stages cut at `boundaries`; v, w, eta give the products for the reason.
    public init(times: [Double], losses: [Double], changePoints: [Stage], boundaries: MechanisticBoundaries?, stages: [Stage],
                v: [[Double]], w: [[Double]], eta: Double?, options: MechanisticOptions = MechanisticOptions()) throws {
        self.options = options
        self.changePoints = changePoints
        self.boundaries = boundaries
        if let boundaries, let eta {
            basis = .eigenvalues
            self.stages = stages
            crossCheck = try StageCrossCheck(times: times, losses: losses, changePoints: changePoints, plateauEnd: boundaries.plateauEnd,
                                             products: MechanisticDetector.productFractions(v: v, w: w, eta: eta), plateauProduct: options.plateauProduct)
        } else {
            basis = .changePoints
            self.stages = changePoints
            crossCheck = nil
        }
    }

    /// The end of the plateau in the table (nil when the table opens with another stage).
    public var plateauEnd: Double? { stages.first.flatMap { $0.name == .plateau ? $0.tEnd : nil } }

    /// The landmarks in words: where the plateau ends and the products reach -eta, and the exponential
    /// regime inside the convergence stage (which cuts no stage).
    public var landmarkLine: String? {
        guard let b = boundaries else { return nil }
        func show(_ x: Double?) -> String { x.map(fmt) ?? "not reached" }
        // A fraction as a percentage (as a multiple where the percentage would overflow).
        func percent(_ x: Double) -> String { (100 * x).isFinite ? "\(fmt(100 * x))%" : "\(fmt(x)) times" }
        var parts = ["plateau end \(show(b.plateauEnd)) (products v_j w_j reach \(percent(options.plateauProduct)) of -eta)",
                     "convergence from \(show(b.productReached)) (products within \(percent(options.productTolerance)) of -eta)"]
        if let e = b.exponentialStart {
            parts.append("ln(loss) within \(percent(options.exponentialTolerance)) of its final rate from \(fmt(e))" + (b.productReached.map { e < $0 ? ", before the products arrive" : "" } ?? ""))
        }
        return parts.joined(separator: "; ")
    }

    /// The table in one line, as `ode` and `train` print it: "stages (...): plateau until t = 1.08,
    /// transition until t = 4.01, convergence to t = 10.3".
    public var summaryLine: String {
        let parts = stages.enumerated().map { i, s in i + 1 < stages.count ? "\(s.label) until t = \(fmt(s.tEnd))" : "\(s.label) to t = \(fmt(s.tEnd))" }
        return "stages (\(basis == .eigenvalues ? "eigenvalues" : "change points of ln(loss)"); notes/stages.md): " + parts.joined(separator: ", ")
    }

    /// The cross-check in one line (nil without one).
    public var crossCheckLine: String? {
        crossCheck.map { "cross-check by change points of ln(loss) (\(changePoints.map(\.label).joined(separator: ", "))): \($0.text)" }
    }

    /// `stages_by`, `stages`, `plateau_end`, `change_point_stages` and `stage_cross_check`, as summary.json has them.
    public var json: [(String, JSONValue)] {
        [("stages_by", .string(basis.rawValue)), ("stages", StageTable.json(stages)), ("plateau_end", plateauEnd.map { .number($0) } ?? .null),
         ("change_point_stages", StageTable.json(changePoints)), ("stage_cross_check", crossCheck?.json ?? .null)]
    }
}

/// The plateau end of the eigenvalue table against the change points': how far apart, and why.
public struct StageCrossCheck: Sendable, Codable, Equatable {
    /// The table's plateau end (products at 10% of -eta) and the change points' (end of their first
    /// stage when it is flat); nil where a table has no plateau.
    public var plateauEnd: Double?
    public var changePointPlateauEnd: Double?
    /// (change point - table) / table; nil unless both are there.
    public var relativeDifference: Double?
    /// The local decay rate of ln(loss) at the table's plateau end, as a fraction of the steepest
    /// decay rate of the curve (the change points call a stage flat up to 0.2).
    public var slopeFractionAtPlateauEnd: Double?
    /// max_j |v_j w_j| / eta at the change points' plateau end.
    public var productsAtChangePointPlateauEnd: Double?
    /// Agreement within `tolerance` (relative).
    public var agrees: Bool
    public static let tolerance = 0.1

    /// The products' fraction of eta that ends the table's plateau.
    public var plateauProduct: Double

    public init(times: [Double], losses: [Double], changePoints: [Stage], plateauEnd: Double?, products: [Double], plateauProduct: Double) throws {
        self.plateauProduct = plateauProduct
        let curve = try LossCurve(times: times, losses: losses)
        self.plateauEnd = plateauEnd
        changePointPlateauEnd = changePoints.first.flatMap { $0.name == .plateau && changePoints.count > 1 ? $0.tEnd : nil }
        if let a = plateauEnd, let b = changePointPlateauEnd, a > 0 { relativeDifference = (b - a) / a }
        // Local slopes over windows of 10% of the span, as the exponential regime is read.
        let h = 0.05 * curve.span
        func localRate(_ x: Double) -> Double { curve.rate(from: max(curve.first, x - h), to: min(curve.last, x + h)) }
        let steepest = stride(from: 0, through: 200, by: 1).map { localRate(curve.first + curve.span * Double($0) / 200) }.min() ?? 0
        if let a = plateauEnd, steepest < 0 { slopeFractionAtPlateauEnd = max(0, -localRate(a)) / -steepest }
        if let b = changePointPlateauEnd {
            let i = curve.firstIndex(after: b)
            if i > 0, i < times.count {
                let f = (b - times[i - 1]) / (times[i] - times[i - 1])
                productsAtChangePointPlateauEnd = products[i - 1] + f * (products[i] - products[i - 1])
            }
        }
        switch (plateauEnd, changePointPlateauEnd) {
        case (nil, nil): agrees = true
        case let (a?, b?): agrees = abs(b - a) <= Self.tolerance * max(a, b)
        default: agrees = false
        }
    }

    /// The agreement, or the disagreement with its reason.
    public var text: String {
        switch (plateauEnd, changePointPlateauEnd) {
        case (nil, nil): return "neither finds a plateau"
        case (nil, let b?): return "a flat first stage until \(fmt(b)), while the products v_j w_j are at \(fmt(100 * plateauProduct))% of -eta from the start"
        case (let a?, nil): return "no flat first stage (the loss falls from the start at more than 0.2 of its steepest rate), while the products v_j w_j reach \(fmt(100 * plateauProduct))% of -eta only at \(fmt(a))"
        case let (a?, b?):
            let difference = "plateau until \(fmt(b)), \(String(format: "%+.0f", 100 * (relativeDifference ?? 0)))% from the table's \(fmt(a))"
            if agrees { return difference + ": agrees within \(Int(100 * Self.tolerance))%" }
            var reason: [String] = []
            if let f = slopeFractionAtPlateauEnd {
                reason.append("at \(fmt(a)) ln(loss) falls at \(String(format: "%.2f", f)) of its steepest rate" + (f <= 0.2 ? " (still flat by the change points' measure, <= 0.2)" : ""))
            }
            if let p = productsAtChangePointPlateauEnd {
                reason.append("at \(fmt(b)) the products are at \(String(format: "%.0f", 100 * p))% of -eta")
            }
            return difference + (reason.isEmpty ? "" : "; " + reason.joined(separator: ", ")
                + (b > a ? ": a straight-line fit of ln(loss) bends only once the loss falls fast, after the learned step has begun to grow" : ""))
        }
    }

    public var json: JSONValue { (try? JSONValue.encoding(self)) ?? .null }

    private enum CodingKeys: String, CodingKey {
        case plateauEnd = "plateau_end", changePointPlateauEnd = "change_point_plateau_end", relativeDifference = "relative_difference"
        case slopeFractionAtPlateauEnd = "slope_fraction_at_plateau_end", productsAtChangePointPlateauEnd = "products_at_change_point_plateau_end"
        case agrees, plateauProduct = "plateau_product"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ x: Double?, _ key: CodingKeys) throws { if let x { try c.encode(x, forKey: key) } else { try c.encodeNil(forKey: key) } }
        try put(plateauEnd, .plateauEnd); try put(changePointPlateauEnd, .changePointPlateauEnd); try put(relativeDifference, .relativeDifference)
        try put(slopeFractionAtPlateauEnd, .slopeFractionAtPlateauEnd); try put(productsAtChangePointPlateauEnd, .productsAtChangePointPlateauEnd)
        try c.encode(agrees, forKey: .agrees); try c.encode(plateauProduct, forKey: .plateauProduct)
    }
}
