import CotflowCore

// Estimates of a reduced flow's memory from its sizes, checked before any allocation
// (notes/reliability.md).

/// Sizes a flow may have, checked before any allocation (memory of the output grid and of an
/// implicit stepper's Jacobian).
public enum FlowLimits {
    /// Largest number of output points of a flow (each holds 2d + 1 numbers).
    public static let maximumOutputPoints = 10_000_000

    /// Bytes of a flow: the stored trajectory (points x (2d + 1)) and, for the implicit steppers,
    /// a few (2d) x (2d) Jacobian matrices.
    public static func flowBytes(d: Int, points: Int, implicit: Bool) -> Double {
        let state = 2 * Double(d)
        return 8 * Double(points) * (state + 1) * 2 + (implicit ? 8 * 4 * state * state : 0)
    }

    public static func checkFlow(d: Int, points: Int, stepper: Stepper, what: String) throws {
        try ResourceLimit.check(points, atMost: maximumOutputPoints, option: "--points",
                                reason: "each output point is stored with its 2d eigenvalues")
        // Only the implicit steppers' linear algebra calls BLAS.
        try ResourceLimit.checkMemory(flowBytes(d: d, points: points, implicit: stepper.mayUseJacobian), what: what, blas: stepper.mayUseJacobian)
    }
}
