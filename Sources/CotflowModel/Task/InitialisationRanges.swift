import CotflowCore
import CotflowExact

extension AssumptionInitialisation {
    /// The eigenvalue ranges of an Assumption 4.1 start at `scale`, each given as text "lo,hi" or
    /// nil for the default of `defaultRanges(scale:)`; checked (bad input names the options).
    public static func ranges(scale: Double, v: String?, w: String?) throws -> (v: ClosedRange<Double>, w: ClosedRange<Double>) {
        try check(scale: scale)
        func range(_ text: String?, _ name: String) throws -> ClosedRange<Double>? {
            guard let text else { return nil }
            let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo.isFinite, hi.isFinite, lo <= hi, abs(lo) <= 100, abs(hi) <= 100 else {
                throw TaskOptionError("\(name) must be two numbers lo,hi with lo <= hi and |lo|, |hi| <= 100 (got '\(text)')")
            }
            return lo...hi
        }
        let defaults = defaultRanges(scale: scale)
        return (try range(v, "--v-range") ?? defaults.v, try range(w, "--w-range") ?? defaults.w)
    }

    /// `--init-scale`'s bounds, for the option and for every run decoded from a file (rerun, a
    /// sweep description), whose value has not been through `ranges`: in (0, 100].
    public static func check(scale: Double) throws {
        guard scale.isFinite, scale > 0 else { throw TaskOptionError("--init-scale must be positive (got \(scale))") }
        // Assumption 4.1 is a small initialisation; far above 1 the loss grows like sigma^(4k) and the flow crawls.
        guard scale <= 100 else { throw TaskOptionError("--init-scale must be at most 100 (got \(scale)): the model is studied from a small initialisation") }
    }
}
