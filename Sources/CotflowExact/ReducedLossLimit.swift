import CotflowCore

extension ReducedLoss {
    /// Largest k of the exact reduced loss (ode, compare, sweep, exact cot-loss): its rational
    /// moments have degree up to about 2k; k = 60 takes ~10 s and k = 200 over a minute on 2 cores.
    public static let maximumK = 100

    /// Throws an input error naming `option` when `k` is above `maximumK`.
    public static func checkSize(k: Int, option: String = "--k") throws {
        try ResourceLimit.check(k, atMost: maximumK, option: option,
                                reason: "the exact reduced loss uses rational Wishart moments of degree up to 2k, whose cost grows fast with k "
                                    + "(k = 60 takes about 10 s, k = 200 over a minute); `cotflow train` has no such limit")
    }
}
