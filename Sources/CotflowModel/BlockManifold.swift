/// Distance of the parameters from the block manifold (only V31, W13, W24 non-zero), measured on
/// the entries the chain objectives read: V's block-3 rows and W's block-3/4 columns (the other
/// entries get no gradient from cot, eval or nocot and keep their initial values).
///
/// Those entries form two bilinear paths into the prediction (notes/full-flow.md):
/// the data path `V3{1,2} G_data W{1,2}{3,4}`, whose entries outside the blocks are V32, W14, W23,
/// and the chain path `V3{3,4} C W{3,4}{3,4}` (C the chain tokens' Gram matrix). The chain path
/// has a rescaling symmetry of its own, so `||W_c||^2 - ||V_c||^2` is conserved by gradient flow
/// and one of its factors keeps a norm set by the initialisation while the product vanishes; it is
/// therefore counted through the product of its factors' norms:
/// `distance = sqrt(||(V32, W14, W23)||_F^2 + ||V3{3,4}||_F ||W{3,4}{3,4}||_F)`.
public extension TransformerParameters {
    var blockManifoldDistance: Double {
        let d = self.d, dim = tokenSize
        let b1 = Self.blockRange(1, d: d), b2 = Self.blockRange(2, d: d), b3 = Self.blockRange(3, d: d), b4 = Self.blockRange(4, d: d)
        var data = 0.0, chainV = 0.0, chainW = 0.0
        for r in b3 {
            for c in b2 { data += V[r * dim + c] * V[r * dim + c] }                       // V32
            for c in b3.lowerBound..<b4.upperBound { chainV += V[r * dim + c] * V[r * dim + c] }  // V3{3,4}
        }
        for r in b1 { for c in b4 { data += W[r * dim + c] * W[r * dim + c] } }          // W14
        for r in b2 { for c in b3 { data += W[r * dim + c] * W[r * dim + c] } }          // W23
        for r in b3.lowerBound..<b4.upperBound {
            for c in b3.lowerBound..<b4.upperBound { chainW += W[r * dim + c] * W[r * dim + c] }  // W{3,4}{3,4}
        }
        return (data + chainV.squareRoot() * chainW.squareRoot()).squareRoot()
    }
}
