import CotflowCore

/// What `cotflow ode` reports about W24: with W24 free, the conserved quantity and the zero-loss family
/// member reached (MODEL.md section 8).
public enum W24Report {
    /// The family member `Vt = (eta/u) I`, `Wt = -u I` at the end, the member the conserved
    /// quantity at the start predicts, and the end point's distance from them.
    public struct Family: Sendable {
        public let conservedStart: Double, conservedEnd: Double
        public let reachedU: Double, predictedU: Double
        /// max_j max(|v_j - eta/u|, |w_j + u|) at the end, u the final W24.
        public let distance: Double
    }

    public static func family(_ t: FlowTrajectory) -> Family? {
        guard t.w24.isFree, let v = t.v.last, let w = t.w.last, let u = t.u.last, !t.times.isEmpty else { return nil }
        let start = t.conservedQuantity(at: 0), end = t.conservedQuantity(at: t.times.count - 1)
        let predicted = FlowTrajectory.familyMember(conserved: start, d: v.count, eta: t.eta, sign: t.u[0])
        let distance = zip(v, w).map { max(abs($0 - t.eta / u), abs($1 + u)) }.max() ?? .nan
        return Family(conservedStart: start, conservedEnd: end, reachedU: u, predictedU: predicted, distance: distance)
    }

    public static func json(_ t: FlowTrajectory) -> [(String, JSONValue)] {
        guard let f = family(t) else { return [] }
        return [
            ("conserved_quantity_start", .number(f.conservedStart)), ("conserved_quantity_end", .number(f.conservedEnd)),
            ("family_member", .object([
                ("u", .number(f.reachedU)), ("v", .number(t.eta / f.reachedU)), ("w", .number(-f.reachedU)),
                ("predicted_u", .number(f.predictedU)), ("max_distance", .number(f.distance)),
                ("reached", .bool(t.converged)),
            ])),
        ]
    }

    public static func lines(_ t: FlowTrajectory) -> [String] {
        guard let f = family(t) else { return [] }
        return [
            "W24 free: u = \(fmt(t.u.first ?? .nan)) -> \(fmt(f.reachedU)); conserved sum w_j^2 + u^2 - sum v_j^2 = \(fmt(f.conservedStart)) at t = 0, \(fmt(f.conservedEnd)) at the end",
            (t.converged ? "zero-loss family member reached" : "nearest zero-loss family member (not reached: the flow did not converge)")
                + ": u = \(fmt(f.reachedU)), Vt = (eta/u) I = \(fmt(t.eta / f.reachedU)) I, Wt = -u I = \(fmt(-f.reachedU)) I"
                + " (largest eigenvalue distance \(fmt(f.distance))); the conserved quantity predicts u = \(fmt(f.predictedU))",
        ]
    }
}
