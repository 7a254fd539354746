import CotflowModel
import CotflowNumerics

/// The trajectory columns that describe the parameters, shared by training and the full-matrix
/// gradient flow: eigenvalues of the symmetric parts of V31 and W13, their diagonals in a basis
/// (the initial eigenbasis), W24, the norm outside the V31/W13/W24 blocks, the off-diagonal mass of
/// V31 and W13 in the basis, their commutator norm, and the data path outside the blocks and the
/// chain path (`TransformerParameters.dataPathOffBlockNorm`, `chainPathNormProduct`), and
/// `||W||_F^2 - ||V||_F^2` (conserved by gradient flow).
public enum ParameterColumns {
    public static func names(d: Int) -> [String] {
        var h: [String] = []
        for name in ["v_eig", "w_eig", "v_diag", "w_diag"] { for j in 1...d { h.append("\(name)_\(j)") } }
        return h + ["w24", "off_block_norm", "offdiag_norm", "commutator_norm", "data_off_block_norm", "chain_path_norm_product", "w2_minus_v2"]
    }

    /// The values for `params`, with the diagonals taken in `basis` (d x d row-major, columns are vectors).
    public static func values(_ params: TransformerParameters, basis: [Double]) throws -> [Double] {
        let d = params.d
        let v31 = params.V31, w13 = params.W13
        let finite = v31.allSatisfy { $0.isFinite } && w13.allSatisfy { $0.isFinite }
        let nanRow = [Double](repeating: .nan, count: d)
        let vEig = finite ? try symmetricPartEigenvalues(v31, d: d) : nanRow
        let wEig = finite ? try symmetricPartEigenvalues(w13, d: d) : nanRow
        let vInBasis = inBasis(v31, basis: basis, d: d), wInBasis = inBasis(w13, basis: basis, d: d)
        var r = vEig + wEig + (0..<d).map { vInBasis[$0 * d + $0] } + (0..<d).map { wInBasis[$0 * d + $0] }
        // Distance from the invariant manifold of the reduced flow: off-diagonal mass of V31 and
        // W13 in the initial eigenbasis, and their non-commutation ||V31 W13 - W13 V31||_F.
        var offDiagonal = 0.0, commutator = 0.0
        for i in 0..<d {
            for j in 0..<d where i != j {
                offDiagonal += vInBasis[i * d + j] * vInBasis[i * d + j] + wInBasis[i * d + j] * wInBasis[i * d + j]
            }
            for j in 0..<d {
                var c = 0.0
                for a in 0..<d { c += v31[i * d + a] * w13[a * d + j] - w13[i * d + a] * v31[a * d + j] }
                commutator += c * c
            }
        }
        // ||W||_F^2 - ||V||_F^2: conserved by gradient flow (scale symmetry), drifts under SGD.
        let w2MinusV2 = params.W.reduce(0) { $0 + $1 * $1 } - params.V.reduce(0) { $0 + $1 * $1 }
        r += [params.W24, params.offBlockNorm, offDiagonal.squareRoot(), commutator.squareRoot(), params.dataPathOffBlockNorm, params.chainPathNormProduct, w2MinusV2]
        return r
    }
}
