import CotflowCore

/// The objectives of MODEL.md section 3.
///
/// - `cot`: teacher-forced CoT loss `(1/2) sum_{i<k} ||w^_{i+1}(Z_i) - w_{i+1}||^2` (true chain tokens).
/// - `eval`: autoregressive, `||w^_k - w*||^2`, each prediction fed back as the next chain token.
/// - `nocot`: one forward pass on Z_0, `||w^_1 - w*||^2` (the autoregressive loss with k = 1).
/// - `looped`: the layer applied k times to the whole Z_0, `||w^_k - w*||^2`, w^_k from the last column.
public enum Objective: String, Sendable, CaseIterable {
    case cot, eval, nocot, looped

    /// Whether prompts must carry the data matrices X (only the looped layer changes data columns).
    public var needsData: Bool { self == .looped }
}

/// Mean loss over a batch, per-prompt losses and (optionally) the gradient of the mean loss
/// with respect to the full D x D matrices V and W.
public struct ObjectiveResult: Sendable {
    public let loss: Double
    public let perPrompt: [Double]
    public let gradV: [Double]?
    public let gradW: [Double]?
}

/// The objectives' losses and analytic gradients over a batch of prompts, computed in fixed chunks
/// in parallel with kernel workspaces (per-prompt losses, mean loss, gradients of V and W).
public enum Objectives {
    /// Prompts per parallel chunk (fixed so that results do not depend on the machine).
    public static let chunkSize = 64

    /// Mean loss, per-prompt losses and (if `gradient`) the gradient of the mean, over `batch`.
    /// `chains`: the batch's GD chains computed once (`cot` only; a fixed batch evaluated many times).
    public static func compute(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                               batch: PromptBatch, gradient: Bool = true, chains: GDChains? = nil) -> ObjectiveResult {
        compute(objective, parameters: parameters, task: task, batch: batch, gradient: gradient, chains: chains,
                workspaces: WorkspacePool())
    }

    /// `compute` with the kernels' scratch memory from `workspaces` (kept by a run across its calls).
    package static func compute(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                                batch: PromptBatch, gradient: Bool = true, chains: GDChains? = nil,
                                workspaces: WorkspacePool) -> ObjectiveResult {
        precondition(batch.count >= 1 && batch.d == task.d && parameters.d == task.d)
        precondition(chains == nil || (objective == .cot && chains!.matches(task: task, batch: batch)), "chains of another task or batch")
        let chunks = fixedChunks(batch.count, size: chunkSize)
        return reduce(chunks: chunks, dim: task.tokenSize, gradient: gradient, workspaces: workspaces) { c, out in
            kernel(objective, parameters: parameters, task: task, batch: batch, range: chunks[c], output: out, chains: chains)
        }
    }

    /// Runs `chunk(c, output)` for every chunk concurrently, each with a workspace of `workspaces`,
    /// its losses written at its prompts' places and its (already scaled) gradient into its own
    /// slot; then sums the slots in chunk order, so the result does not depend on the threads.
    package static func reduce(chunks: [Range<Int>], dim: Int, gradient: Bool, workspaces: WorkspacePool,
                               _ chunk: @Sendable (Int, KernelOutput) -> Void) -> ObjectiveResult {
        let count = chunks.last?.upperBound ?? 0, dd = dim * dim, slot = 2 * dd
        let scale = 1 / Double(max(count, 1))
        var losses = [Double](repeating: 0, count: count)
        var gV: [Double]? = nil, gW: [Double]? = nil
        workspaces.with { slots in
            slots.reset(reserving: gradient ? chunks.count * slot : 0)
            let gradients = SharedPointer(gradient ? slots.take(chunks.count * slot) : nil)
            losses.withUnsafeMutableBufferPointer { lb in
                let lossOut = SharedPointer(lb.baseAddress)
                _ = parallelMap(chunks.count) { c -> Bool in
                    let g = gradients.pointer.map { $0 + c * slot }
                    g?.update(repeating: 0, count: slot)
                    workspaces.with { ws in
                        chunk(c, KernelOutput(losses: lossOut.pointer! + chunks[c].lowerBound, gradV: g, gradW: g.map { $0 + dd },
                                              scale: scale, workspace: ws))
                    }
                    return true
                }
            }
            if let g = gradients.pointer {
                var v = Array(UnsafeBufferPointer(start: g, count: dd)), w = Array(UnsafeBufferPointer(start: g + dd, count: dd))
                for c in 1..<max(chunks.count, 1) {
                    let part = g + c * slot
                    for i in 0..<dd { v[i] += part[i] }
                    for i in 0..<dd { w[i] += part[dd + i] }
                }
                gV = v; gW = w
            }
        }
        let mean = losses.reduce(0, +) / Double(max(count, 1))
        return ObjectiveResult(loss: mean, perPrompt: losses, gradV: gV, gradW: gW)
    }

    /// Losses of prompts `range` of `batch` into `output.losses`; when `output` has gradient
    /// buffers, adds `output.scale` times the gradient of their summed loss. Single-threaded.
    package static func kernel(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                               batch: PromptBatch, range: Range<Int>, output: KernelOutput, chains: GDChains? = nil) {
        GSL.initialize()
        parameters.V.withUnsafeBufferPointer { vb in
            parameters.W.withUnsafeBufferPointer { wb in
                batch.S.withUnsafeBufferPointer { sb in
                    batch.wStar.withUnsafeBufferPointer { ws in
                        let ctx = KernelContext(
                            d: task.d, n: task.n, k: task.k, eta: task.eta,
                            V: vb.baseAddress!, W: wb.baseAddress!, S: sb.baseAddress!, wStar: ws.baseAddress!,
                            losses: output.losses, gradV: output.gradV, gradW: output.gradW,
                            scale: output.scale, workspace: output.workspace)
                        switch objective {
                        case .cot:
                            if let chains {
                                chains.values.withUnsafeBufferPointer { cotKernel(ctx, range: range, chains: $0.baseAddress!) }
                            } else {
                                cotKernel(ctx, range: range)
                            }
                        case .eval: autoregressiveKernel(ctx, range: range, steps: task.k)
                        case .nocot: autoregressiveKernel(ctx, range: range, steps: 1)
                        case .looped:
                            guard let x = batch.X else { preconditionFailure("looped objective needs prompts with data X") }
                            x.withUnsafeBufferPointer { xb in loopedKernel(ctx, X: xb.baseAddress!, range: range) }
                        }
                    }
                }
            }
        }
    }
}

/// Where a kernel writes: the losses of its prompts, the gradient (nil: loss only) to which it
/// adds `scale` times its prompts' summed gradient, and its scratch memory.
package struct KernelOutput {
    package let losses: UnsafeMutablePointer<Double>
    package let gradV: UnsafeMutablePointer<Double>?, gradW: UnsafeMutablePointer<Double>?
    package let scale: Double
    package let workspace: Workspace
}

/// The objective on fresh prompts at every call (training's batches): chunk c of the batch draws
/// its prompts from its own stream `[label, c]` of the seed, call after call, into storage kept
/// across calls, and the kernels' workspaces are kept too, so a step allocates only its result.
package final class FreshBatchObjective: Sendable {
    package let chunks: [Range<Int>]
    private let streams: [ChunkLocal<Random>]
    private let batches: [ChunkLocal<PromptBatch?>]
    package let workspaces: WorkspacePool

    package init(batchSize: Int, seed: UInt64, label: UInt64, workspaces: WorkspacePool) {
        chunks = fixedChunks(batchSize, size: Objectives.chunkSize)
        streams = chunks.indices.map { ChunkLocal(Random(seed: seed, stream: [label, UInt64($0)])) }
        batches = chunks.map { _ in ChunkLocal(nil) }
        self.workspaces = workspaces
    }

    /// Draws the next batch of `task` and evaluates `objective` there (with the gradient of the mean when `gradient`).
    package func evaluate(_ objective: Objective, parameters: TransformerParameters, task: TaskConfig,
                          gradient: Bool) -> ObjectiveResult {
        Objectives.reduce(chunks: chunks, dim: task.tokenSize, gradient: gradient, workspaces: workspaces) { c, out in
            let box = batches[c], count = chunks[c].count
            if box.value == nil || box.value!.d != task.d || box.value!.n != task.n {
                box.value = PromptBatch.sample(task: task, count: count, random: streams[c].value, includeData: objective.needsData)
            } else {
                box.value!.resample(task: task, random: streams[c].value, includeData: objective.needsData)
            }
            Objectives.kernel(objective, parameters: parameters, task: task, batch: box.value!, range: 0..<count, output: out)
        }
    }
}

// MARK: - Kernels

struct KernelContext {
    let d: Int, n: Int, k: Int, eta: Double
    let V: UnsafePointer<Double>, W: UnsafePointer<Double>
    let S: UnsafePointer<Double>, wStar: UnsafePointer<Double>
    let losses: UnsafeMutablePointer<Double>
    let gradV: UnsafeMutablePointer<Double>?, gradW: UnsafeMutablePointer<Double>?
    let scale: Double
    let workspace: Workspace
    var dim: Int { 2 * d + 2 }
}

/// `out = G q` for `G = Z Z^T / n` of a context whose chain tokens (as u_j = (w_j; 1), rows of
/// length d+1 at `u`) are the first `tokens` ones. The data part of G is
/// `[[S, S w*], [w*^T S, w*^T S w*]]` on blocks 1,2; the chain part is `(1/n) sum u_j u_j^T` on blocks 3,4.
@inline(__always)
func applyG(_ s: UnsafePointer<Double>, _ w: UnsafePointer<Double>, q: UnsafePointer<Double>,
            u: UnsafePointer<Double>, tokens: Int, out: UnsafeMutablePointer<Double>, d: Int, invN: Double,
            a: UnsafeMutablePointer<Double>) {
    let d1 = d + 1
    let q2 = q[d]
    for c in 0..<d { a[c] = q[c] + w[c] * q2 }
    var ws = 0.0
    for r in 0..<d {
        let row = s + r * d
        var acc = 0.0
        for c in 0..<d { acc += row[c] * a[c] }
        out[r] = acc
        ws += w[r] * acc
    }
    out[d] = ws
    let q34 = q + d1, o34 = out + d1
    for c in 0..<d1 { o34[c] = 0 }
    for j in 0..<tokens {
        let uj = u + j * d1
        var m = 0.0
        for c in 0..<d1 { m += uj[c] * q34[c] }
        m *= invN
        for c in 0..<d1 { o34[c] += m * uj[c] }
    }
}

/// The chain part of `applyG` for all k steps of one prompt of the teacher-forced chain (step i
/// sees tokens 0...i): `out_i = sum_{j <= i} m_ij u_j` with `m_ij = (q_i . u_j) / n` (j ascending),
/// as two small products (the second causal). Rows q_i (length d+1) at stride `ldq`, tokens u_j at
/// stride `ldu` and transposed in `ut` (d+1 rows of k: `ut[c * k + j] = u_j[c]`), out_i at stride
/// `ldo`; `m` holds k*k scratch doubles. Each sum in the same order as applying the steps one at a time.
@inline(__always)
func applyGChainPart(q: UnsafePointer<Double>, _ ldq: Int, u: UnsafePointer<Double>, _ ldu: Int, ut: UnsafePointer<Double>,
                     k: Int, d1: Int, invN: Double, out: UnsafeMutablePointer<Double>, _ ldo: Int,
                     m: UnsafeMutablePointer<Double>) {
    // m_ij = (q_i . u_j) / n for every i, j (those with j > i are not used), then out_i = sum_{j <= i} m_ij u_j.
    smallGemm(false, false, k, k, d1, invN, q, ldq, ut, k, 0, m, k)
    causalGemm(false, false, k, d1, k, 1, m, k, u, ldu, 0, out, ldo)
}

/// The GD chains of prompts `range` (range.count blocks of (k+1) x d): from `chains` (the whole
/// batch's) when given, else computed into `ws`.
func rangeChains(_ ctx: KernelContext, range: Range<Int>, chains: UnsafePointer<Double>?, workspace ws: Workspace) -> UnsafePointer<Double> {
    let d = ctx.d, size = (ctx.k + 1) * d
    if let chains { return chains + range.lowerBound * size }
    let out = ws.take(range.count * size)
    gdChains(count: range.count, s: ctx.S + range.lowerBound * d * d, wStar: ctx.wStar + range.lowerBound * d, d: d, eta: ctx.eta,
             k: ctx.k, into: out)
    return UnsafePointer(out)
}

/// `gdChain` of `count` prompts (S at `s + p d d`, w* at `wStar + p d`) into `out + p (k+1) d`: in
/// CotflowCore's C kernel where it runs (several prompts side by side, the same bits), else one at a time.
func gdChains(count: Int, s: UnsafePointer<Double>, wStar: UnsafePointer<Double>, d: Int, eta: Double, k: Int,
              into out: UnsafeMutablePointer<Double>) {
    if gdChainsKernel(count: count, d: d, k: k, eta: eta, s: s, wStar: wStar, into: out) { return }
    for p in 0..<count { gdChain(s + p * d * d, wStar + p * d, d: d, eta: eta, k: k, into: out + p * (k + 1) * d) }
}

/// The teacher-forced rows of one prompt for the CoT kernels, from its GD chain w_0..w_k (k+1 rows
/// of d): the tokens u_i = (w_i; 1) at stride `ldu` in `u` and transposed in `ut` (d+1 rows of k),
/// and `r_i = w_i - w_{i+1}` (k rows of d) in `r`, the residuals before the prediction's term is added.
@inline(__always)
func teacherForcedRows(_ chain: UnsafePointer<Double>, d: Int, k: Int,
                       u: UnsafeMutablePointer<Double>, _ ldu: Int, ut: UnsafeMutablePointer<Double>, r: UnsafeMutablePointer<Double>) {
    for i in 0..<k {
        let wi = chain + i * d, next = wi + d, ui = u + i * ldu, ri = r + i * d
        for c in 0..<d {
            ui[c] = wi[c]
            ri[c] = wi[c] - next[c]  // w_i - w_{i+1}
        }
        ui[d] = 1
    }
    for c in 0...d {
        let row = ut + c * k
        if c == d { for i in 0..<k { row[i] = 1 } } else { for i in 0..<k { row[i] = chain[i &* d &+ c] } }
    }
}

/// The GD chains w_0..w_k of every prompt of a fixed batch (they depend on the prompts, eta and k
/// only), computed once by the kernel's own `gdChain`, so the CoT objective is the same to the bit.
public struct GDChains: Sendable {
    public let d: Int, k: Int, count: Int
    public let eta: Double
    /// count blocks of (k+1) x d.
    let values: [Double]

    public init(task: TaskConfig, batch: PromptBatch) {
        precondition(batch.d == task.d)
        let d = task.d, k = task.k, size = (k + 1) * d
        var values = [Double](repeating: 0, count: batch.count * size)
        batch.S.withUnsafeBufferPointer { s in
            batch.wStar.withUnsafeBufferPointer { w in
                values.withUnsafeMutableBufferPointer { out in
                    gdChains(count: batch.count, s: s.baseAddress!, wStar: w.baseAddress!, d: d, eta: task.eta, k: k, into: out.baseAddress!)
                }
            }
        }
        self.d = d; self.k = k; self.count = batch.count; self.eta = task.eta; self.values = values
    }

    func matches(task: TaskConfig, batch: PromptBatch) -> Bool {
        d == task.d && k == task.k && eta == task.eta && count == batch.count
    }
}

/// Teacher-forced CoT: `w^_{i+1} = w_i + V[3, :] G_i W[:, 3:4] u_i` with u_i = (w_i; 1) the true
/// chain's tokens, loss `(1/2) sum_i ||w^_{i+1} - w_{i+1}||^2`. Two kernels with the same result up
/// to rounding: `cotKernelFolded` folds the data part of G into a (d+1) x (d+1) matrix per prompt
/// (about 4 d^3 multiply-adds per prompt, fewer per step) and pays when k is not small against d
/// ((10, 20, 20)); `cotKernelDirect` applies G at every step ((50, 200, 20)). The multiply-add
/// counts (`cotKernelCosts`) choose, so the choice, and with it the summation order, depends on
/// (d, k) only.
func cotKernel(_ ctx: KernelContext, range: Range<Int>, chains: UnsafePointer<Double>? = nil) {
    let cost = cotKernelCosts(d: ctx.d, k: ctx.k)
    if cost.folded < cost.direct {
        cotKernelFolded(ctx, range: range, chains: chains)
    } else {
        cotKernelDirect(ctx, range: range, chains: chains)
    }
}

/// Multiply-adds per prompt of the two CoT kernels with the gradient, without the parts they share
/// (the GD chain, the chain part of G).
package func cotKernelCosts(d: Int, k: Int) -> (direct: Int, folded: Int) {
    let d1 = d + 1, dim = 2 * d + 2
    let direct = k * (2 * dim * d1 + 3 * d * dim + 2 * d * d + 6 * d)
    let folded = k * (2 * d1 * d1 + 2 * d * dim + d1 * d) + d * d * d1 + 3 * d * d1 * d1 + d * d * d + 2 * d * d + 2 * d * d1
    return (direct, folded)
}

/// The CoT kernel applying G at every step: q_i = W[:, 3:4] u_i, h_i = G_i q_i (data part
/// `[S a_i; w*^T S a_i]` with a_i = q1_i + w* q2_i, chain part `applyGChainPart`),
/// w^_{i+1} = w_i + V[3, :] h_i; backward dV3 = sum_i r_i h_i^T, dq_i = G_i V3^T r_i,
/// dW34 = sum_i dq_i u_i^T. One prompt at a time, every product a small product.
func cotKernelDirect(_ ctx: KernelContext, range: Range<Int>, chains: UnsafePointer<Double>? = nil) {
    let d = ctx.d, k = ctx.k, dim = ctx.dim, d1 = d + 1
    let invN = 1 / Double(ctx.n)
    // Every entry is written before it is read (by loops or by products with beta = 0).
    let ws = ctx.workspace
    ws.reset(reserving: k * (d1 + d1 + d + 2 * dim) + (chains == nil ? range.count * (k + 1) * d : 0) + k * d + k * k + 2 * d1 * dim)
    let U = ws.take(k * d1), UT = ws.take(d1 * k), R = ws.take(k * d), Q = ws.take(k * dim), H = ws.take(k * dim)
    let chainsOfRange = rangeChains(ctx, range: range, chains: chains, workspace: ws), a = ws.take(k * d), mm = ws.take(k * k)
    // W[:, 3:4] and V[3, :] transposed, so that both products run along rows.
    let W34T = ws.take(d1 * dim), V3T = ws.take(dim * d)
    let V3 = ctx.V + d1 * dim
    for r in 0..<dim { for c in 0..<d1 { W34T[c * dim + r] = ctx.W[r * dim + d1 + c] } }
    for r in 0..<d { for c in 0..<dim { V3T[c * d + r] = V3[r * dim + c] } }
    // h_i = G_i q_i for the k rows of `q` into `h` (both at stride dim).
    func applyG(_ q: UnsafePointer<Double>, _ h: UnsafeMutablePointer<Double>, s: UnsafePointer<Double>, w: UnsafePointer<Double>) {
        for i in 0..<k {
            let qi = q + i * dim, ai = a + i * d, q2 = qi[d]
            for c in 0..<d { ai[c] = qi[c] + w[c] * q2 }
        }
        smallGemm(false, false, k, d, d, 1, a, d, s, d, 0, h, dim)  // S a_i (S symmetric)
        for i in 0..<k {
            let hi = h + i * dim
            var acc = 0.0
            for c in 0..<d { acc += w[c] * hi[c] }
            hi[d] = acc
        }
        applyGChainPart(q: q + d1, dim, u: U, d1, ut: UT, k: k, d1: d1, invN: invN, out: h + d1, dim, m: mm)
    }
    for (pi, p) in range.enumerated() {
        let s = ctx.S + p * d * d, w = ctx.wStar + p * d
        teacherForcedRows(chainsOfRange + pi * (k + 1) * d, d: d, k: k, u: U, d1, ut: UT, r: R)
        smallGemm(false, false, k, dim, d1, 1, U, d1, W34T, dim, 0, Q, dim)     // q_i
        applyG(Q, H, s: s, w: w)
        smallGemm(false, false, k, d, dim, 1, H, dim, V3T, d, 1, R, d)           // r_i = w_i + V3 h_i - w_{i+1}
        var loss = 0.0
        for t in 0..<(k * d) { loss += R[t] * R[t] }
        ctx.losses[pi] = 0.5 * loss
        guard let gV = ctx.gradV, let gW = ctx.gradW else { continue }
        for t in 0..<(k * d) { R[t] *= ctx.scale }
        smallGemm(true, false, d, dim, k, 1, R, d, H, dim, 1, gV + d1 * dim, dim) // dV3 += R^T H
        smallGemm(false, false, k, dim, d, 1, R, d, V3, dim, 0, Q, dim)          // dH = R V3 (into Q)
        applyG(Q, H, s: s, w: w)                                                  // dQ = G dH (into H)
        smallGemm(true, false, dim, d1, k, 1, H, dim, U, d1, 1, gW + d1, dim)     // dW34 += dQ^T U
    }
}

/// The CoT kernel with the data part folded. Split W[:, 3:4] into rows
/// Wa (blocks 1,2) and Wb (blocks 3,4) and V[3, :] into columns V3a, V3b:
/// `w^_{i+1} = w_i + V3a F u_i + V3b C_i Wb u_i` with the prompt's `F = P^T S P Wa`, `P = [I, w*]`
/// (the data part of G, folded into a (d+1) x (d+1) matrix once per prompt instead of applied per
/// step) and `C_i = (1/n) sum_{j <= i} u_j u_j^T` (the chain part). Residuals r_i = w^_{i+1} - w_{i+1};
/// with N = sum_i r_i u_i^T the gradient is dV3a = N F^T, dV3b = sum_i r_i (C_i Wb u_i)^T,
/// dWa = (V3a P^T S P)^T N, dWb = sum_i C_i (V3b^T r_i) u_i^T. One prompt at a time, every product a
/// small product (`smallGemm`), so that its rows stay in cache; the gradient adds each prompt's
/// part to the chunk's, in prompt order.
func cotKernelFolded(_ ctx: KernelContext, range: Range<Int>, chains: UnsafePointer<Double>? = nil) {
    let d = ctx.d, k = ctx.k, dim = ctx.dim, d1 = d + 1
    let invN = 1 / Double(ctx.n)
    // Every entry is written before it is read (by loops or by products with beta = 0).
    let ws = ctx.workspace
    ws.reset(reserving: k * (dim + d1 + d + 2 * d1) + (chains == nil ? range.count * (k + 1) * d : 0) + k * k + d * d1 + 2 * d1 * d1 + d * dim + d * d + d * d1
             + d1 * d1 + dim * d + d1 * d)
    // X: rows (u_i, C_i Wb u_i); UT: the u_i transposed; Q: Wb u_i, then V3b^T r_i; DQ: C_i V3b^T r_i.
    let X = ws.take(k * dim), UT = ws.take(d1 * k), R = ws.take(k * d), Q = ws.take(k * d1), DQ = ws.take(k * d1)
    let chainsOfRange = rangeChains(ctx, range: range, chains: chains, workspace: ws), mm = ws.take(k * k)
    let B = ws.take(d * d1), F = ws.take(d1 * d1), K = ws.take(d * d1), NX = ws.take(d * dim), T = ws.take(d * d)
    // Per chunk: Wb transposed; VX = [ (V3a F)^T (per prompt); V3b^T ] (dim x d), so that the
    // residuals are one product X VX; V3a transposed.
    let WbT = ws.take(d1 * d1), VX = ws.take(dim * d), V3aT = ws.take(d1 * d)
    let V3 = ctx.V + d1 * dim, Wa = ctx.W + d1, Wb = ctx.W + d1 * dim + d1
    for r in 0..<d1 { for c in 0..<d1 { WbT[c * d1 + r] = Wb[r * dim + c] } }
    for a in 0..<d {
        for c in 0..<d1 {
            V3aT[c * d + a] = V3[a * dim + c]
            VX[(d1 + c) * d + a] = V3[a * dim + d1 + c]
        }
    }
    for (pi, p) in range.enumerated() {
        let s = ctx.S + p * d * d, w = ctx.wStar + p * d
        teacherForcedRows(chainsOfRange + pi * (k + 1) * d, d: d, k: k, u: X, dim, ut: UT, r: R)
        // F = P^T S P Wa: B = P Wa, rows 0..<d of F = S B, row d = w*^T S B.
        let waLast = Wa + d * dim
        for r in 0..<d {
            let br = B + r * d1, war = Wa + r * dim, wr = w[r]
            for c in 0..<d1 { br[c] = war[c] + wr * waLast[c] }
        }
        smallGemm(false, false, d, d1, d, 1, s, d, B, d1, 0, F, d1)
        smallGemm(false, false, 1, d1, d, 1, w, d, F, d1, 0, F + d * d1, d1)     // w*^T S B
        smallGemm(true, false, d1, d, d1, 1, F, d1, V3aT, d, 0, VX, d)            // (V3a F)^T
        smallGemm(false, false, k, d1, d1, 1, X, dim, WbT, d1, 0, Q, d1)          // Wb u_i
        applyGChainPart(q: Q, d1, u: X, dim, ut: UT, k: k, d1: d1, invN: invN, out: X + d1, dim, m: mm)
        smallGemm(false, false, k, d, dim, 1, X, dim, VX, d, 1, R, d)             // r_i = w_i - w_{i+1} + V3a F u_i + V3b C_i Wb u_i
        var loss = 0.0
        for t in 0..<(k * d) { loss += R[t] * R[t] }
        ctx.losses[pi] = 0.5 * loss
        guard let gV = ctx.gradV, let gW = ctx.gradW else { continue }
        for t in 0..<(k * d) { R[t] *= ctx.scale }
        smallGemm(true, false, d, dim, k, 1, R, d, X, dim, 0, NX, dim)           // [N, sum_i r_i (C_i Wb u_i)^T]
        let gV3 = gV + d1 * dim
        smallGemm(false, true, d, d1, d1, 1, NX, dim, F, d1, 1, gV3, dim)         // dV3a += N F^T
        for a in 0..<d {
            let ga = gV3 + a * dim + d1, na = NX + a * dim + d1
            for c in 0..<d1 { ga[c] += na[c] }
        }
        // K = V3a P^T S P = [T S, T S w*] with T = V3a P^T; dWa += K^T N.
        for a in 0..<d {
            let ta = T + a * d, va = V3 + a * dim, vd = va[d]
            for c in 0..<d { ta[c] = va[c] + vd * w[c] }
        }
        smallGemm(false, false, d, d, d, 1, T, d, s, d, 0, K, d1)                // T S
        smallGemm(false, false, d, 1, d, 1, K, d1, w, 1, 0, K + d, d1)             // T S w*
        smallGemm(true, false, d1, d1, d, 1, K, d1, NX, dim, 1, gW + d1, dim)
        smallGemm(false, false, k, d1, d, 1, R, d, V3 + d1, dim, 0, Q, d1)         // V3b^T r_i
        applyGChainPart(q: Q, d1, u: X, dim, ut: UT, k: k, d1: d1, invN: invN, out: DQ, d1, m: mm)
        smallGemm(true, false, d1, d1, k, 1, DQ, d1, X, dim, 1, gW + d1 * dim + d1, dim)  // dWb += sum_i C_i V3b^T r_i u_i^T
    }
}

/// Autoregressive chain of `steps` predictions from w^_0 = 0 (eval: steps = k; nocot: steps = 1),
/// loss `||w^_steps - w*||^2`. Reverse mode runs through the fed-back tokens: w^_j enters the
/// query of step j and the key/value Gram matrix `C_m = sum_{j<=m} u_j u_j^T` of every later step;
/// the adjoint of C accumulates as `B = sum_{m>=j} (dh_m q_m^T + q_m dh_m^T)/n` on blocks 3,4.
func autoregressiveKernel(_ ctx: KernelContext, range: Range<Int>, steps: Int) {
    let d = ctx.d, dim = ctx.dim, d1 = d + 1
    let invN = 1 / Double(ctx.n)
    let ws = ctx.workspace
    ws.reset(reserving: steps * (d1 + 2 * dim) + (steps + 1) * d + d1 * d1 + 2 * dim + 2 * d)
    let u = ws.takeZeroed(steps * d1), q = ws.takeZeroed(steps * dim), h = ws.takeZeroed(steps * dim)
    let gw = ws.takeZeroed((steps + 1) * d), bAdj = ws.takeZeroed(d1 * d1), dh = ws.takeZeroed(dim), dq = ws.takeZeroed(dim)
    let a = ws.takeZeroed(d), last = ws.takeZeroed(d)
    let V3 = ctx.V + d1 * dim
    for (pi, p) in range.enumerated() {
        let s = ctx.S + p * d * d, w = ctx.wStar + p * d
        for c in 0..<d { u[c] = 0 }
        for m in 0..<steps {
            let um = u + m * d1, qm = q + m * dim, hm = h + m * dim
            um[d] = 1
            for r in 0..<dim {
                let row = ctx.W + r * dim + d1
                var acc = 0.0
                for c in 0..<d1 { acc += row[c] * um[c] }
                qm[r] = acc
            }
            applyG(s, w, q: qm, u: u, tokens: m + 1, out: hm, d: d, invN: invN, a: a)
            for i in 0..<d {
                let row = V3 + i * dim
                var acc = um[i]
                for c in 0..<dim { acc += row[c] * hm[c] }
                if m + 1 < steps { u[(m + 1) * d1 + i] = acc } else { last[i] = acc }
            }
        }
        var loss = 0.0
        for i in 0..<d { let e = last[i] - w[i]; loss += e * e }
        ctx.losses[pi] = loss
        guard let gV = ctx.gradV, let gW = ctx.gradW else { continue }
        for t in 0..<((steps + 1) * d) { gw[t] = 0 }
        for t in 0..<(d1 * d1) { bAdj[t] = 0 }
        for i in 0..<d { gw[steps * d + i] = 2 * (last[i] - w[i]) * ctx.scale }
        for m in stride(from: steps - 1, through: 0, by: -1) {
            let g = gw + (m + 1) * d, gm = gw + m * d, um = u + m * d1, qm = q + m * dim, hm = h + m * dim
            for i in 0..<d {
                let row = gV + (d1 + i) * dim
                for c in 0..<dim { row[c] += g[i] * hm[c] }
            }
            for c in 0..<dim { dh[c] = 0 }
            for i in 0..<d {
                let row = V3 + i * dim
                for c in 0..<dim { dh[c] += row[c] * g[i] }
            }
            applyG(s, w, q: dh, u: u, tokens: m + 1, out: dq, d: d, invN: invN, a: a)
            for r in 0..<dim {
                let row = gW + r * dim + d1, wrow = ctx.W + r * dim + d1
                for c in 0..<d1 { row[c] += dq[r] * um[c] }
                for c in 0..<d { gm[c] += wrow[c] * dq[r] }
            }
            for c in 0..<d { gm[c] += g[c] }
            for x in 0..<d1 {
                for y in 0..<d1 {
                    bAdj[x * d1 + y] += (dh[d1 + x] * qm[d1 + y] + qm[d1 + x] * dh[d1 + y]) * invN
                }
            }
            for x in 0..<d {
                var acc = 0.0
                for y in 0..<d1 { acc += bAdj[x * d1 + y] * um[y] }
                gm[x] += acc
            }
        }
    }
}

/// Looped transformer: `Z_{t+1} = Z_t + (1/n) V G_t W Z_t`, `G_t = Z_t Z_t^T`, t < k, on the full
/// D x (n+1) matrix; w^_k is the w-block of the last column of Z_k. Per-prompt small products.
func loopedKernel(_ ctx: KernelContext, X: UnsafePointer<Double>, range: Range<Int>) {
    let d = ctx.d, n = ctx.n, k = ctx.k, dim = ctx.dim, d1 = d + 1, cols = n + 1, dd = dim * dim
    let invN = 1 / Double(n)
    // Per loop step t: Z_t, G_t, V G_t and M_t = V G_t W, kept for the backward pass.
    let ws = ctx.workspace
    ws.reset(reserving: (k + 3) * dim * cols + (3 * k + 4) * dd)
    let zs = ws.takeZeroed((k + 1) * dim * cols), gs = ws.takeZeroed(k * dd), vgs = ws.takeZeroed(k * dd), ms = ws.takeZeroed(k * dd)
    let e = ws.takeZeroed(dd), gwM = ws.takeZeroed(dd), a1 = ws.takeZeroed(dd), kM = ws.takeZeroed(dd)
    let dz = ws.takeZeroed(dim * cols), dp = ws.takeZeroed(dim * cols)
    for (pi, p) in range.enumerated() {
        let x = X + p * d * n, w = ctx.wStar + p * d
        for t in 0..<(dim * cols) { zs[t] = 0 }
        for i in 0..<d { for j in 0..<n { zs[i * cols + j] = x[i * n + j] } }
        for j in 0..<n {
            var y = 0.0
            for i in 0..<d { y += w[i] * x[i * n + j] }
            zs[d * cols + j] = y
        }
        zs[(2 * d + 1) * cols + n] = 1
        for t in 0..<k {
            let z = zs + t * dim * cols, next = zs + (t + 1) * dim * cols, g = gs + t * dd, vg = vgs + t * dd, m = ms + t * dd
            smallGemm(false, true, dim, dim, cols, 1, z, cols, z, cols, 0, g, dim)
            smallGemm(false, false, dim, dim, dim, 1, ctx.V, dim, g, dim, 0, vg, dim)
            smallGemm(false, false, dim, dim, dim, 1, vg, dim, ctx.W, dim, 0, m, dim)
            next.update(from: z, count: dim * cols)
            smallGemm(false, false, dim, cols, dim, invN, m, dim, z, cols, 1, next, cols)
        }
        let zk = zs + k * dim * cols
        var loss = 0.0
        for i in 0..<d { let r = zk[(d1 + i) * cols + n] - w[i]; loss += r * r }
        ctx.losses[pi] = loss
        guard let gV = ctx.gradV, let gW = ctx.gradW else { continue }
        for t in 0..<(dim * cols) { dz[t] = 0 }
        for i in 0..<d { dz[(d1 + i) * cols + n] = 2 * (zk[(d1 + i) * cols + n] - w[i]) * ctx.scale }
        for t in stride(from: k - 1, through: 0, by: -1) {
            let z = zs + t * dim * cols, g = gs + t * dd, vg = vgs + t * dd, m = ms + t * dd
            smallGemm(false, true, dim, dim, cols, 1, dz, cols, z, cols, 0, e, dim)          // E = dY Z^T
            smallGemm(false, false, dim, dim, dim, 1, g, dim, ctx.W, dim, 0, gwM, dim)        // G W
            smallGemm(false, true, dim, dim, dim, invN, e, dim, gwM, dim, 1, gV, dim)         // dV += E (G W)^T / n
            smallGemm(true, false, dim, dim, dim, invN, vg, dim, e, dim, 1, gW, dim)          // dW += (V G)^T E / n
            smallGemm(true, false, dim, dim, dim, 1, ctx.V, dim, e, dim, 0, a1, dim)          // V^T E
            smallGemm(false, true, dim, dim, dim, 1, a1, dim, ctx.W, dim, 0, kM, dim)         // A = V^T E W^T
            for r in 0..<dim {                                                           // K = (A + A^T) / n
                for c in r..<dim {
                    let v = (kM[r * dim + c] + kM[c * dim + r]) * invN
                    kM[r * dim + c] = v; kM[c * dim + r] = v
                }
            }
            dp.update(from: dz, count: dim * cols)
            smallGemm(false, false, dim, cols, dim, 1, kM, dim, z, cols, 1, dp, cols)         // + K Z
            smallGemm(true, false, dim, cols, dim, invN, m, dim, dz, cols, 1, dp, cols)       // + M^T dY / n
            dz.update(from: dp, count: dim * cols)
        }
    }
}
