import CotflowCore

extension ReducedLoss {
    /// Largest k of the exact reduced loss (ode, compare, sweep, exact cot-loss): its rational
    /// moments have degree up to about 2k; k = 60 takes about a second and k = 100 about 20 s (notes/reliability.md, "Estimates").
    public static let maximumK = 100

    /// Throws an input error naming `option` when `k` is above `maximumK`.
    public static func checkSize(k: Int, option: String = "--k") throws {
        try ResourceLimit.check(k, atMost: maximumK, option: option,
                                reason: "the exact reduced loss uses rational Wishart moments of degree up to 2k, whose cost grows fast with k "
                                    + "(k = 60 takes about a second, k = 100 about 20 s); `cotflow train` has no such limit")
    }
}
