import CotflowCore

/// The Hessian of an objective's mean loss over a fixed batch (the full-batch loss of N prompts,
/// common random numbers), with respect to chosen entries of V and W: central differences of the
/// analytic gradient, `H[:, e] = (g(p + h e_e) - g(p - h e_e)) / 2h`, then symmetrised. Its
/// asymmetry before symmetrising bounds the difference error. notes/looped.md uses it to tell a
/// saddle from a minimum or a slow direction.
public struct FullBatchHessian: Sendable {
    /// Indices of the differentiated entries: `i < D^2` is `V[i]`, otherwise `W[i - D^2]`.
    public let entries: [Int]
    public let loss: Double
    /// Gradient of the mean loss at the entries.
    public let gradient: [Double]
    /// Eigenvalues in ascending order.
    public let eigenvalues: [Double]
    /// Eigenvectors as columns (entries.count x entries.count, row-major), in the order of `eigenvalues`.
    public let eigenvectors: [Double]
    /// max |H - H^T| / max |H| before symmetrising.
    public let relativeAsymmetry: Double
    public let differenceStep: Double

    public var gradientNorm: Double { gradient.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Eigenvector `j` (column) as a vector over `entries`.
    public func eigenvector(_ j: Int) -> [Double] {
        let m = entries.count
        return (0..<m).map { eigenvectors[$0 * m + j] }
    }

    /// `progress(done, total)` after every column of the differences (done = total: the eigensystem is next).
    public static func compute(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                               batch: PromptBatch, entries: [Int], step h: Double = 1e-4,
                               progress: ((Int, Int) -> Void)? = nil) throws -> FullBatchHessian {
        let size = parameters.V.count, m = entries.count
        guard m >= 1, entries.allSatisfy({ $0 >= 0 && $0 < 2 * size }) else {
            throw ModelError.hessianEntries(count: 2 * size)
        }
        guard h.isFinite, h > 0 else { throw ModelError.hessianStep(h) }
        let workspaces = WorkspacePool()
        func grad(_ p: TransformerParameters) -> (loss: Double, g: [Double]) {
            let r = Objectives.compute(objective, parameters: p, task: task, batch: batch, workspaces: workspaces)
            let all = r.gradV! + r.gradW!
            return (r.loss, entries.map { all[$0] })
        }
        let center = grad(parameters)
        guard center.loss.isFinite, center.g.allSatisfy({ $0.isFinite }) else {
            throw ModelError.hessianNotFiniteAtPoint
        }
        var H = [Double](repeating: 0, count: m * m)
        for (col, e) in entries.enumerated() {
            var plus = parameters, minus = parameters
            if e < size { plus.V[e] += h; minus.V[e] -= h } else { plus.W[e - size] += h; minus.W[e - size] -= h }
            let gp = grad(plus).g, gm = grad(minus).g
            for row in 0..<m { H[row * m + col] = (gp[row] - gm[row]) / (2 * h) }
            progress?(col + 1, m)
        }
        guard H.allSatisfy({ $0.isFinite }) else { throw ModelError.hessianNotFinite }
        var asym = 0.0, scale = 0.0
        for i in 0..<m { for j in 0..<m {
            asym = max(asym, abs(H[i * m + j] - H[j * m + i])); scale = max(scale, abs(H[i * m + j]))
        } }
        let eigen = try symmetricPartEigensystem(H, m: m, what: "Hessian")
        return FullBatchHessian(entries: entries, loss: center.loss, gradient: center.g,
                                eigenvalues: eigen.values, eigenvectors: eigen.vectors,
                                relativeAsymmetry: scale > 0 ? asym / scale : 0, differenceStep: h)
    }

    /// Share of a vector over `entries` carried by each (matrix, row block, column block), as
    /// ("V31", 0.8) pairs in the order V11...V44, W11...W44; shares sum to 1.
    public static func blockShares(_ vector: [Double], entries: [Int], d: Int) -> [(name: String, share: Double)] {
        let dim = 2 * d + 2, size = dim * dim
        func block(_ i: Int) -> Int { (1...4).first { TransformerParameters.blockRange($0, d: d).contains(i) }! }
        var mass = [Double](repeating: 0, count: 32)
        for (t, e) in entries.enumerated() {
            let matrix = e < size ? 0 : 1, idx = e % size
            mass[matrix * 16 + (block(idx / dim) - 1) * 4 + block(idx % dim) - 1] += vector[t] * vector[t]
        }
        let total = mass.reduce(0, +)
        return (0..<32).map { i in
            ("\(i < 16 ? "V" : "W")\((i % 16) / 4 + 1)\(i % 4 + 1)", total > 0 ? mass[i] / total : 0)
        }
    }

    /// The differenced entries of (V, W) as one index 0..<2 D^2: every entry, or V31 and W13 (`reduced`).
    public static func entries(reduced: Bool, d: Int) -> [Int] {
        let size = (2 * d + 2) * (2 * d + 2)
        guard reduced else { return Array(0..<(2 * size)) }
        let m = TransformerParameters.reducedMasks(d: d)
        return m.V.indices.filter { m.V[$0] } + m.W.indices.filter { m.W[$0] }.map { $0 + size }
    }

    /// The gradient's component along each eigenvector.
    public var gradientComponents: [Double] {
        let m = entries.count
        return (0..<m).map { j in (0..<m).reduce(0.0) { $0 + eigenvectors[$1 * m + j] * gradient[$1] } }
    }

    /// Eigenvalues within this of zero are not resolved: the difference error scales with the largest one.
    public var resolution: Double {
        max(relativeAsymmetry, 1e-12) * max(abs(eigenvalues.first!), abs(eigenvalues.last!))
    }

    /// Eigenvalues below `-resolution`, and within `resolution` of zero.
    public var negativeCount: Int { eigenvalues.filter { $0 < -resolution }.count }
    public var unresolvedCount: Int { eigenvalues.filter { abs($0) <= resolution }.count }

    /// The blocks carrying at least 1% of eigenvector `j`, largest share first.
    public func mainBlocks(_ j: Int, d: Int) -> [(name: String, share: Double)] {
        Self.blockShares(eigenvector(j), entries: entries, d: d).filter { $0.share >= 0.01 }.sorted { $0.share > $1.share }
    }

    /// Frobenius norms of the 16 blocks of V and of W, named "V11" ... "W44".
    public static func blockNorms(_ p: TransformerParameters) -> [(name: String, norm: Double)] {
        var out: [(String, Double)] = []
        for (name, m) in [("V", p.V), ("W", p.W)] {
            for r in 1...4 { for c in 1...4 {
                let b = TransformerParameters.block(m, d: p.d, r, c)
                out.append(("\(name)\(r)\(c)", b.reduce(0) { $0 + $1 * $1 }.squareRoot()))
            } }
        }
        return out
    }

}

/// How noisy the batch gradients are at fixed parameters: `count` independent batches of `size`
/// prompts. Adam's update on coordinate i is about lr E[g_i] / sqrt(E[g_i^2]) once its moment
/// estimates settle, so `adamRatio` (that ratio averaged over coordinates) is the fraction of
/// the learning rate Adam moves per step; `clippedAdamRatio` is the same for gradients scaled to
/// unit norm (what clipping every step gives). notes/looped.md.
public struct GradientNoise: Sendable {
    public let norms: [Double]
    public let meanGradientNorm: Double
    public let adamRatio: Double
    public let clippedAdamRatio: Double

    public static func measure(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                               batches count: Int, size: Int, seed: UInt64, entries: [Int]) -> GradientNoise {
        var grads: [[Double]] = []
        let workspaces = WorkspacePool()
        for b in 0..<count {
            let batch = PromptBatch.sample(task: task, count: size, random: Random(seed: seed, stream: [StreamLabel.monteCarlo, UInt64(b)]),
                                           includeData: objective.needsData)
            let r = Objectives.compute(objective, parameters: parameters, task: task, batch: batch, workspaces: workspaces)
            let all = r.gradV! + r.gradW!
            grads.append(entries.map { all[$0] })
        }
        let norms = grads.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        func ratio(_ gs: [[Double]]) -> Double {
            let m = entries.count, c = Double(gs.count)
            var total = 0.0
            for i in 0..<m {
                let mean = gs.reduce(0) { $0 + $1[i] } / c, square = gs.reduce(0) { $0 + $1[i] * $1[i] } / c
                total += square > 0 ? abs(mean) / square.squareRoot() : 0
            }
            return total / Double(m)
        }
        let mean = (0..<entries.count).map { i in grads.reduce(0) { $0 + $1[i] } / Double(count) }
        return GradientNoise(norms: norms, meanGradientNorm: mean.reduce(0) { $0 + $1 * $1 }.squareRoot(),
                             adamRatio: ratio(grads),
                             clippedAdamRatio: ratio(zip(grads, norms).map { g, n in n > 0 ? g.map { $0 / n } : g }))
    }
}
