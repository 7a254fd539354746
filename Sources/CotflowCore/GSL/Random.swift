import CGSL

/// A seeded GSL Mersenne-twister stream. Streams are derived from a user seed and a list of
/// stream labels, so that independent parts of a run (initialisation, held-out set, the batch
/// chunks of training) draw from independent, reproducible sequences.
public final class Random {
    private let rng: UnsafeMutablePointer<gsl_rng>

    /// - Parameters:
    ///   - seed: the user's seed.
    ///   - stream: labels that select an independent stream (e.g. `[StreamLabel.heldOut]`).
    public init(seed: UInt64, stream: [UInt64] = []) {
        GSL.initialize()
        var state = seed
        var mixed = Random.splitMix(&state)
        for label in stream {
            state ^= label &* 0x9E37_79B9_7F4A_7C15
            mixed = Random.splitMix(&state)
        }
        // mt19937 uses 32 bits of its seed; 0 is mapped by GSL to its default, so avoid it.
        let seed32 = UInt(mixed & 0xFFFF_FFFF) | 1
        guard let rng = cot_rng_alloc(seed32) else { fatalError("gsl_rng_alloc failed: out of memory") }
        self.rng = rng
    }

    deinit { gsl_rng_free(rng) }

    /// Standard normal variate.
    @inline(__always) public func gaussian() -> Double { gsl_ran_gaussian_ziggurat(rng, 1.0) }

    /// Uniform on [0, 1).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// Uniform on [a, b).
    public func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * gsl_rng_uniform(rng) }

    /// Chi-squared variate with `degrees` degrees of freedom.
    public func chiSquared(_ degrees: Double) -> Double { gsl_ran_chisq(rng, degrees) }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
