import CotflowCore

/// Test problems with exact or reference solutions.
enum Systems {
    /// y' = -y.
    static let decay = ODESystem(
        dimension: 1,
        rightHandSide: { _, y, dydt in dydt[0] = -y[0] },
        jacobian: { _, _, dfdy, _ in dfdy[0] = -1 })

    /// y0' = y1, y1' = -y0; from (1, 0) the solution is (cos t, -sin t).
    static let oscillator = ODESystem(
        dimension: 2,
        rightHandSide: { _, y, dydt in
            dydt[0] = y[1]
            dydt[1] = -y[0]
        },
        jacobian: { _, _, dfdy, _ in
            dfdy[1] = 1
            dfdy[2] = -1
        })

    /// y' = A y with eigenvalues -1 (eigenvector (1, 1)) and -1e4 (eigenvector (1, -1));
    /// from (2, 0): y = e^{-t} (1, 1) + e^{-1e4 t} (1, -1).
    static let stiffLinear = ODESystem(
        dimension: 2,
        rightHandSide: { _, y, dydt in
            dydt[0] = -5000.5 * y[0] + 4999.5 * y[1]
            dydt[1] = 4999.5 * y[0] - 5000.5 * y[1]
        },
        jacobian: { _, _, dfdy, _ in
            dfdy[0] = -5000.5; dfdy[1] = 4999.5
            dfdy[2] = 4999.5; dfdy[3] = -5000.5
        })

    /// Robertson's chemical kinetics.
    static let robertson = ODESystem(
        dimension: 3,
        rightHandSide: { _, y, dydt in
            dydt[0] = -0.04 * y[0] + 1e4 * y[1] * y[2]
            dydt[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1]
            dydt[2] = 3e7 * y[1] * y[1]
        },
        jacobian: { _, y, j, _ in
            j[0] = -0.04; j[1] = 1e4 * y[2]; j[2] = 1e4 * y[1]
            j[3] = 0.04; j[4] = -1e4 * y[2] - 6e7 * y[1]; j[5] = -1e4 * y[1]
            j[6] = 0; j[7] = 6e7 * y[1]; j[8] = 0
        })

    /// y' = -y, but the right-hand side is NaN after t = 1.
    static let nanAfterOne = ODESystem(
        dimension: 1,
        rightHandSide: { t, y, dydt in dydt[0] = t > 1 ? .nan : -y[0] })

    /// y' = y^2 from y(0) = 1 blows up at t = 1.
    static let blowUp = ODESystem(
        dimension: 1,
        rightHandSide: { _, y, dydt in dydt[0] = y[0] * y[0] },
        jacobian: { _, y, dfdy, _ in dfdy[0] = 2 * y[0] })
}
