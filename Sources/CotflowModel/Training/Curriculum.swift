import CotflowCore

/// A curriculum over the number of loops (`looped`) or the chain length (`cot`): training starts at
/// `start` and the length grows by one in equal stages until it reaches the task's k at step
/// `round(rampFraction * steps)`; from there on the run trains at k (Yang et al. 2023 ramp the
/// number of loops the same way). Held-out records always use the task's k. notes/looped.md.
public struct Curriculum: Sendable, Equatable, Codable {
    /// The first length (number of loops or chain steps), 1 <= start.
    public var start: Int
    /// Fraction of the run, in [0, 1), over which the length ramps from `start` to k.
    public var rampFraction: Double

    public init(start: Int = 1, rampFraction: Double = Curriculum.defaultRampFraction) {
        self.start = start; self.rampFraction = rampFraction
    }

    public static let defaultRampFraction = 0.5

    /// One stage: the length trained on from optimizer step `fromStep` (inclusive) on.
    public struct Stage: Sendable, Equatable {
        public let fromStep: Int
        public let length: Int
    }

    public func validate(k: Int) throws {
        guard start >= 1, start <= k else {
            throw TrainingError.curriculumStart(start, k: k)
        }
        guard rampFraction.isFinite, rampFraction >= 0, rampFraction < 1 else {
            throw TrainingError.curriculumRamp(rampFraction)
        }
    }

    /// Step at which the length reaches k: round(rampFraction * steps), at most steps - 1 so that
    /// the last optimizer step trains at k.
    public func rampSteps(steps: Int) -> Int {
        min(max(steps - 1, 0), max(0, Int((rampFraction * Double(steps)).rounded())))
    }

    /// The length trained on at optimizer step `step` (0-based) of a run of `steps` steps.
    public func length(step: Int, steps: Int, k: Int) -> Int {
        let ramp = rampSteps(steps: steps), stages = k - start + 1
        guard stages > 1, step < ramp else { return k }
        // Stages start, ..., k-1 share [0, ramp) equally (integer division: deterministic).
        return start + step * (stages - 1) / ramp
    }

    /// The schedule as stages (first step and length), for summaries; stages of zero width are left out.
    public func stages(steps: Int, k: Int) -> [Stage] {
        let ramp = rampSteps(steps: steps), count = k - start + 1
        guard count > 1, ramp > 0 else { return [Stage(fromStep: 0, length: k)] }
        var out: [Stage] = []
        for l in start...k {
            // First step with start + step (count - 1) / ramp >= l.
            let from = l == k ? ramp : ((l - start) * ramp + count - 2) / (count - 1)
            if from < max(steps, 1), length(step: from, steps: steps, k: k) == l { out.append(Stage(fromStep: from, length: l)) }
        }
        return out
    }
}
