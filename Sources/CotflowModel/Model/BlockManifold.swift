/// How far the parameters are from the block manifold (only V31, W13, W24 non-zero), measured on
/// the entries the chain objectives read: V's block-3 rows and W's block-3/4 columns (the other
/// entries get no gradient from cot, eval or nocot and keep their initial values).
///
/// Those entries form two bilinear paths into the prediction (notes/full-flow.md): the data path
/// `V3{1,2} G_data W{1,2}{3,4}`, whose entries outside the blocks are V32, W14 and W23, and the
/// chain path `V3{3,4} C W{3,4}{3,4}` (C the chain tokens' Gram matrix / n), which the
/// construction does not use at all.
public extension TransformerParameters {
    /// `||(V32, W14, W23)||_F`: the data path outside the blocks. Gradient flow from a random start
    /// drives it to zero at a rate of order one (the block-manifold landmark uses it).
    var dataPathOffBlockNorm: Double {
        let d = self.d, dim = tokenSize
        let b1 = Self.blockRange(1, d: d), b2 = Self.blockRange(2, d: d), b3 = Self.blockRange(3, d: d), b4 = Self.blockRange(4, d: d)
        var s = 0.0
        for r in b3 { for c in b2 { s += V[r * dim + c] * V[r * dim + c] } }  // V32
        for r in b1 { for c in b4 { s += W[r * dim + c] * W[r * dim + c] } }  // W14
        for r in b2 { for c in b3 { s += W[r * dim + c] * W[r * dim + c] } }  // W23
        return s.squareRoot()
    }

    /// `||V3{3,4}||_F ||W{3,4}{3,4}||_F`: a bound (up to ||C||) on the chain path. Its factors have
    /// a rescaling symmetry of their own and, from a small start, a gradient of second order in
    /// their size, so gradient flow moves them slowly (notes/full-flow.md).
    var chainPathNormProduct: Double {
        let d = self.d, dim = tokenSize
        let chain = Self.blockRange(3, d: d).lowerBound..<Self.blockRange(4, d: d).upperBound
        var v = 0.0, w = 0.0
        for r in Self.blockRange(3, d: d) { for c in chain { v += V[r * dim + c] * V[r * dim + c] } }
        for r in chain { for c in chain { w += W[r * dim + c] * W[r * dim + c] } }
        return v.squareRoot() * w.squareRoot()
    }
}
