import CotflowCore

extension TransformerParameters {
    /// Sorted eigenvalues of the symmetric parts of V31 and W13 (nil when the eigensolver fails).
    public var blockEigenvalues: (v: [Double], w: [Double])? {
        guard let v = try? symmetricPartEigenvalues(V31, d: d), let w = try? symmetricPartEigenvalues(W13, d: d) else { return nil }
        return (v, w)
    }

    /// The same for the invariant pair ((-W24) V31, W13 / (-W24)), the parameters rescaled to
    /// W24 = -1 (a symmetry of the model); nil when W24 is already -1 (within 1e-6) or 0.
    public var rescaledBlockEigenvalues: (v: [Double], w: [Double])? {
        guard abs(W24 + 1) > 1e-6, abs(W24) > 1e-12 else { return nil }
        let c = -W24
        guard let v = try? symmetricPartEigenvalues(V31.map { $0 * c }, d: d),
              let w = try? symmetricPartEigenvalues(W13.map { $0 / c }, d: d) else { return nil }
        return (v, w)
    }
}
