import CotflowCore

/// What a trajectory records about the parameters, shared by training and the full-matrix
/// gradient flow: eigenvalues of the symmetric parts of V31 and W13, their diagonals in a basis
/// (the initial eigenbasis), W24, the norm outside the V31/W13/W24 blocks, the off-diagonal mass of
/// V31 and W13 in the basis, their commutator norm, the data path outside the blocks and the
/// chain path (`TransformerParameters.dataPathOffBlockNorm`, `chainPathNormProduct`), and
/// `||W||_F^2 - ||V||_F^2` (conserved by gradient flow). `values` is its row in a trajectory table.
public struct ParameterColumns: Sendable, Equatable {
    /// Eigenvalues of sym(V31) and sym(W13), ascending (`v_eig_j`, `w_eig_j`).
    public let vEigenvalues: [Double]
    public let wEigenvalues: [Double]
    /// Diagonals of V31 and W13 in the basis (`v_diag_j`, `w_diag_j`).
    public let vDiagonal: [Double]
    public let wDiagonal: [Double]
    public let w24: Double
    public let offBlockNorm: Double
    /// Off-diagonal mass of V31 and W13 in the basis (`offdiag_norm`).
    public let offDiagonalNorm: Double
    /// ||V31 W13 - W13 V31||_F.
    public let commutatorNorm: Double
    public let dataOffBlockNorm: Double
    public let chainPathNormProduct: Double
    /// ||W||_F^2 - ||V||_F^2.
    public let w2MinusV2: Double

    public static func names(d: Int) -> [String] {
        var h: [String] = []
        for name in ["v_eig", "w_eig", "v_diag", "w_diag"] { for j in 1...d { h.append("\(name)_\(j)") } }
        return h + ["w24", "off_block_norm", "offdiag_norm", "commutator_norm", "data_off_block_norm", "chain_path_norm_product", "w2_minus_v2"]
    }

    /// The values in the order of `names(d:)`.
    public var values: [Double] {
        vEigenvalues + wEigenvalues + vDiagonal + wDiagonal
            + [w24, offBlockNorm, offDiagonalNorm, commutatorNorm, dataOffBlockNorm, chainPathNormProduct, w2MinusV2]
    }

    /// The columns of `params`, with the diagonals taken in `basis` (d x d row-major, columns are vectors).
    public init(_ params: TransformerParameters, basis: [Double]) throws {
        let d = params.d
        let v31 = params.V31, w13 = params.W13
        let finite = v31.allSatisfy { $0.isFinite } && w13.allSatisfy { $0.isFinite }
        let nanRow = [Double](repeating: .nan, count: d)
        vEigenvalues = finite ? try symmetricPartEigenvalues(v31, d: d) : nanRow
        wEigenvalues = finite ? try symmetricPartEigenvalues(w13, d: d) : nanRow
        let vInBasis = inBasis(v31, basis: basis, d: d), wInBasis = inBasis(w13, basis: basis, d: d)
        vDiagonal = (0..<d).map { vInBasis[$0 * d + $0] }
        wDiagonal = (0..<d).map { wInBasis[$0 * d + $0] }
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
        w24 = params.W24
        offBlockNorm = params.offBlockNorm
        offDiagonalNorm = offDiagonal.squareRoot()
        commutatorNorm = commutator.squareRoot()
        dataOffBlockNorm = params.dataPathOffBlockNorm
        chainPathNormProduct = params.chainPathNormProduct
        // ||W||_F^2 - ||V||_F^2: conserved by gradient flow (scale symmetry), drifts under SGD.
        w2MinusV2 = params.W.reduce(0) { $0 + $1 * $1 } - params.V.reduce(0) { $0 + $1 * $1 }
    }

    /// The invariant pair ((-W24) diag V31, diag W13 / (-W24)) (notes/conventions.md): every
    /// zero-loss family member maps to (-eta, 1).
    public var invariantPair: (v: [Double], w: [Double]) {
        (vDiagonal.map { $0 * -w24 }, wDiagonal.map { $0 / -w24 })
    }
}
