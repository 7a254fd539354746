import CotflowCore
@testable import CotflowModel
import Foundation
import XCTest

/// Random parameters with iid N(0, scale^2) entries.
func randomParameters(d: Int, scale: Double, seed: UInt64) -> TransformerParameters {
    let r = Random(seed: seed, stream: [99])
    let dim = 2 * d + 2
    return TransformerParameters(d: d, V: (0..<(dim * dim)).map { _ in scale * r.gaussian() },
                                 W: (0..<(dim * dim)).map { _ in scale * r.gaussian() })
}

/// Brute force: the last column of f(Z) = Z + V Z (Z^T W Z)/n for an explicit D x m matrix Z (row-major).
func bruteLastColumn(_ p: TransformerParameters, z: [Double], cols: Int, n: Int) -> [Double] {
    let dim = p.tokenSize
    let last = (0..<dim).map { z[$0 * cols + cols - 1] }
    // t = Z^T W last (length cols), then V Z t.
    var wl = [Double](repeating: 0, count: dim)
    for r in 0..<dim { for c in 0..<dim { wl[r] += p.W[r * dim + c] * last[c] } }
    var t = [Double](repeating: 0, count: cols)
    for j in 0..<cols { for r in 0..<dim { t[j] += z[r * cols + j] * wl[r] } }
    var zt = [Double](repeating: 0, count: dim)
    for r in 0..<dim { for j in 0..<cols { zt[r] += z[r * cols + j] * t[j] } }
    var out = last
    for r in 0..<dim { for c in 0..<dim { out[r] += p.V[r * dim + c] * zt[c] / Double(n) } }
    return out
}

/// Data tokens of prompt `p` followed by the chain tokens (0;0;w;1) for each w in `chain`.
func contextMatrix(batch: PromptBatch, prompt p: Int, chain: [[Double]]) -> (z: [Double], cols: Int) {
    let d = batch.d, n = batch.n, dim = 2 * d + 2, cols = n + chain.count
    var z = [Double](repeating: 0, count: dim * cols)
    let x = batch.X!
    for j in 0..<n {
        var y = 0.0
        for i in 0..<d { z[i * cols + j] = x[p * d * n + i * n + j]; y += batch.wStar[p * d + i] * x[p * d * n + i * n + j] }
        z[d * cols + j] = y
    }
    for (t, w) in chain.enumerated() {
        for i in 0..<d { z[(d + 1 + i) * cols + n + t] = w[i] }
        z[(2 * d + 1) * cols + n + t] = 1
    }
    return (z, cols)
}

final class ModelTests: XCTestCase {
    let d = 3, n = 5, k = 3

    func task() throws -> TaskConfig { try TaskConfig(d: d, n: n, k: k, eta: paperStepSize(n: n, d: d).doubleValue) }

    func batch(_ task: TaskConfig, count: Int, seed: UInt64 = 7) -> PromptBatch {
        PromptBatch.sample(task: task, count: count, random: Random(seed: seed, stream: [1]), includeData: true)
    }

    /// Central differences on every entry in `entries` (indices into V then W, offset V.count for W).
    func checkGradient(_ objective: Objective, _ p: TransformerParameters, entries: [Int], task: TaskConfig,
                       batch: PromptBatch, file: StaticString = #filePath, line: UInt = #line) {
        let res = Objectives.compute(objective, parameters: p, task: task, batch: batch)
        let analytic = res.gradV! + res.gradW!
        let h = 1e-5
        var num = [Double](), ana = [Double]()
        let size = p.V.count
        for e in entries {
            var plus = p, minus = p
            if e < size { plus.V[e] += h; minus.V[e] -= h } else { plus.W[e - size] += h; minus.W[e - size] -= h }
            let lp = Objectives.compute(objective, parameters: plus, task: task, batch: batch, gradient: false).loss
            let lm = Objectives.compute(objective, parameters: minus, task: task, batch: batch, gradient: false).loss
            num.append((lp - lm) / (2 * h))
            ana.append(analytic[e])
        }
        let diff = zip(num, ana).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = ana.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(norm, 1e-3, "\(objective): gradient should not vanish here", file: file, line: line)
        // Central differences have error O(h^2 * third derivative) ~ 1e-10 relative; 1e-6 leaves a wide margin.
        XCTAssertLessThan(diff / norm, 1e-6, "\(objective): relative gradient error", file: file, line: line)
    }

    func testFullGradientsMatchFiniteDifferences() throws {
        let t = try task()
        let b = batch(t, count: 4)
        let p = randomParameters(d: d, scale: 0.3, seed: 11)
        let all = Array(0..<(2 * p.V.count))
        for o in Objective.allCases { checkGradient(o, p, entries: all, task: t, batch: b) }
    }

    /// Both CoT kernels: the gradient of the one with the data part folded (chosen at a long chain)
    /// against central differences, and the two kernels against each other to rounding.
    func testFoldedAndDirectCoTKernels() throws {
        let long = try TaskConfig(d: 3, n: 5, k: 9, eta: paperStepSize(n: 5, d: 3).doubleValue)
        let costs = cotKernelCosts(d: 3, k: 9)
        XCTAssertLessThan(costs.folded, costs.direct, "k = 9 against d = 3 takes the folded kernel")
        let shortCosts = cotKernelCosts(d: d, k: k)
        XCTAssertLessThan(shortCosts.direct, shortCosts.folded, "the class's (d, k) takes the direct kernel")
        let b = batch(long, count: 5)
        let p = randomParameters(d: d, scale: 0.3, seed: 13)
        checkGradient(.cot, p, entries: Array(0..<(2 * p.V.count)), task: long, batch: b)
        for task in [long, try self.task(), try TaskConfig(d: 5, n: 8, k: 2, eta: 0.4)] {
            let batch = self.batch(task, count: 7)
            let q = randomParameters(d: task.d, scale: 0.3, seed: 14)
            let dd = task.tokenSize * task.tokenSize
            func run(_ kernel: (KernelContext, Range<Int>) -> Void) -> [Double] {
                var out = [Double](repeating: 0, count: batch.count + 2 * dd)
                let ws = Workspace()
                q.V.withUnsafeBufferPointer { v in
                    q.W.withUnsafeBufferPointer { w in
                        batch.S.withUnsafeBufferPointer { s in
                            batch.wStar.withUnsafeBufferPointer { ws0 in
                                out.withUnsafeMutableBufferPointer { o in
                                    let base = o.baseAddress!
                                    kernel(KernelContext(d: task.d, n: task.n, k: task.k, eta: task.eta, V: v.baseAddress!, W: w.baseAddress!,
                                                         S: s.baseAddress!, wStar: ws0.baseAddress!, losses: base,
                                                         gradV: base + batch.count, gradW: base + batch.count + dd, scale: 0.5, workspace: ws),
                                           0..<batch.count)
                                }
                            }
                        }
                    }
                }
                return out
            }
            let folded = run { cotKernelFolded($0, range: $1) }, direct = run { cotKernelDirect($0, range: $1) }
            let scale = direct.map(abs).max()!
            XCTAssertGreaterThan(scale, 1e-3)
            for (x, y) in zip(folded, direct) { XCTAssertEqual(x, y, accuracy: 1e-12 * scale, "(d, k) = (\(task.d), \(task.k))") }
        }
    }

    func testReducedGradientsMatchFiniteDifferences() throws {
        let t = try task()
        let b = batch(t, count: 4)
        let r = randomParameters(d: d, scale: 0.4, seed: 12)
        let p = TransformerParameters.reduced(d: d, v31: r.V31, w13: r.W13)
        let masks = TransformerParameters.reducedMasks(d: d)
        let entries = masks.V.indices.filter { masks.V[$0] } + masks.W.indices.filter { masks.W[$0] }.map { $0 + p.V.count }
        XCTAssertEqual(entries.count, 2 * d * d)
        for o in Objective.allCases { checkGradient(o, p, entries: entries, task: t, batch: b) }
    }

    func testStructuredForwardMatchesBruteForce() throws {
        let t = try task()
        let b = batch(t, count: 3)
        let p = randomParameters(d: d, scale: 0.3, seed: 13)
        let cot = Objectives.compute(.cot, parameters: p, task: t, batch: b, gradient: false).perPrompt
        let ev = Objectives.compute(.eval, parameters: p, task: t, batch: b, gradient: false).perPrompt
        let no = Objectives.compute(.nocot, parameters: p, task: t, batch: b, gradient: false).perPrompt
        let lo = Objectives.compute(.looped, parameters: p, task: t, batch: b, gradient: false).perPrompt
        for q in 0..<b.count {
            let chain = b.chain(prompt: q, eta: t.eta, k: k)
            let w = { (i: Int) in Array(chain[(i * self.d)..<((i + 1) * self.d)]) }
            let wStar = Array(b.wStar[(q * d)..<((q + 1) * d)])
            func sq(_ a: [Double], _ c: [Double]) -> Double { zip(a, c).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
            func pred(_ tokens: [[Double]]) -> [Double] {
                let (z, cols) = contextMatrix(batch: b, prompt: q, chain: tokens)
                return Array(bruteLastColumn(p, z: z, cols: cols, n: n)[(d + 1)..<(2 * d + 1)])
            }
            var cotBrute = 0.0
            for i in 0..<k { cotBrute += 0.5 * sq(pred((0...i).map(w)), w(i + 1)) }
            XCTAssertEqual(cot[q], cotBrute, accuracy: 1e-12 * max(1, cotBrute))
            var tokens = [[Double](repeating: 0, count: d)]
            for _ in 0..<k { tokens.append(pred(tokens)) }
            XCTAssertEqual(ev[q], sq(tokens[k], wStar), accuracy: 1e-12 * max(1, ev[q]))
            XCTAssertEqual(no[q], sq(tokens[1], wStar), accuracy: 1e-12 * max(1, no[q]))
            // Looped: apply the full layer k times to Z_0.
            var (z, cols) = contextMatrix(batch: b, prompt: q, chain: [w(0)])
            let dim = p.tokenSize
            for _ in 0..<k {
                var next = z
                for j in 0..<cols {
                    // Column j of f(Z) = z_j + V Z (Z^T W z_j) / n.
                    var wl = [Double](repeating: 0, count: dim)
                    for r in 0..<dim { for c in 0..<dim { wl[r] += p.W[r * dim + c] * z[c * cols + j] } }
                    var tt = [Double](repeating: 0, count: cols)
                    for jj in 0..<cols { for r in 0..<dim { tt[jj] += z[r * cols + jj] * wl[r] } }
                    var zt = [Double](repeating: 0, count: dim)
                    for r in 0..<dim { for jj in 0..<cols { zt[r] += z[r * cols + jj] * tt[jj] } }
                    for r in 0..<dim { var acc = 0.0; for c in 0..<dim { acc += p.V[r * dim + c] * zt[c] }; next[r * cols + j] += acc / Double(n) }
                }
                z = next
            }
            let wk = (0..<d).map { z[(d + 1 + $0) * cols + cols - 1] }
            XCTAssertEqual(lo[q], sq(wk, wStar), accuracy: 1e-10 * max(1, lo[q]))
        }
    }

    func testConstructionImplementsGradientDescent() throws {
        let t = try TaskConfig(d: 6, n: 20, k: 5, eta: paperStepSize(n: 20, d: 6).doubleValue)
        let p = TransformerParameters.construction(d: 6, eta: t.eta)
        let b = PromptBatch.sample(task: t, count: 200, random: Random(seed: 3, stream: [1]), includeData: false)
        let cot = Objectives.compute(.cot, parameters: p, task: t, batch: b, gradient: true)
        XCTAssertLessThan(cot.perPrompt.max()!, 1e-24)
        // The construction is a stationary point of the CoT loss.
        XCTAssertLessThan(cot.gradV!.map(abs).max()!, 1e-12)
        XCTAssertLessThan(cot.gradW!.map(abs).max()!, 1e-12)
        let ev = Objectives.compute(.eval, parameters: p, task: t, batch: b, gradient: false).perPrompt
        let chain = b.chainLosses(eta: t.eta, k: t.k)
        for q in 0..<b.count { XCTAssertEqual(ev[q], chain[q], accuracy: 1e-12 * max(1, chain[q])) }
        let res = try evaluate(p, task: t, prompts: 150, seed: 5)
        for q in 0..<150 { XCTAssertEqual(res.evalLosses[q], res.chainLosses[q], accuracy: 1e-12 * max(1, res.chainLosses[q])) }
        XCTAssertEqual(res.diverges, res.lambdaMax.map { t.eta * $0 >= 2 })
        // Same seed, same prompts.
        XCTAssertEqual(try evaluate(p, task: t, prompts: 150, seed: 5).evalLosses, res.evalLosses)
        // Out of distribution (Cholesky path of the sampler): still exactly the GD chain.
        var sigma = [Double](repeating: 0, count: 36)
        for i in 0..<6 { sigma[i * 6 + i] = 0.5 + 0.2 * Double(i); if i > 0 { sigma[i * 6 + i - 1] = 0.1; sigma[(i - 1) * 6 + i] = 0.1 } }
        let ood = try TaskConfig(d: 6, n: 20, k: 5, eta: t.eta, covariance: sigma)
        let r2 = try evaluate(p, task: ood, prompts: 100, seed: 6)
        for q in 0..<100 { XCTAssertEqual(r2.evalLosses[q], r2.chainLosses[q], accuracy: 1e-12 * max(1, r2.chainLosses[q])) }
    }

    /// With only V31, W13, W24 non-zero, data tokens never change under the looped layer and chain
    /// tokens do not enter G W z, so the looped and autoregressive objectives coincide prompt by prompt.
    func testReducedLoopedEqualsAutoregressive() throws {
        let t = try TaskConfig(d: 4, n: 12, k: 4, eta: 0.6)
        let r = randomParameters(d: 4, scale: 0.5, seed: 21)
        let p = TransformerParameters.reduced(d: 4, v31: r.V31, w13: r.W13)
        let b = PromptBatch.sample(task: t, count: 50, random: Random(seed: 8, stream: [1]), includeData: true)
        let ev = Objectives.compute(.eval, parameters: p, task: t, batch: b, gradient: false).perPrompt
        let lo = Objectives.compute(.looped, parameters: p, task: t, batch: b, gradient: false).perPrompt
        for q in 0..<b.count { XCTAssertEqual(lo[q], ev[q], accuracy: 1e-11 * max(1, ev[q])) }
    }

    /// The Bartlett sampler has the Wishart mean E S = Sigma; checked entrywise within 5 standard errors.
    func testBartlettMatchesWishartMoments() throws {
        let d = 3, n = 5, count = 20000
        let sigma = [2.0, 0.5, 0, 0.5, 1, 0.3, 0, 0.3, 1.5]
        let t = try TaskConfig(d: d, n: n, k: 1, eta: 0.5, covariance: sigma)
        let b = PromptBatch.sample(task: t, count: count, random: Random(seed: 4, stream: [1]), includeData: false)
        XCTAssertNil(b.X)
        for e in 0..<(d * d) {
            let xs = (0..<count).map { b.S[$0 * d * d + e] }
            let s = SampleSummary(xs)
            XCTAssertEqual(s.mean, sigma[e], accuracy: 5 * s.standardError + 1e-12, "entry \(e)")
        }
        // E tr (nS)^2 = nd(n+d+1) for Sigma = I (MODEL.md).
        let ti = try TaskConfig(d: d, n: n, k: 1, eta: 0.5)
        let bi = PromptBatch.sample(task: ti, count: count, random: Random(seed: 5, stream: [1]), includeData: false)
        let tr2 = (0..<count).map { p -> Double in
            var s = 0.0
            for e in 0..<(d * d) { s += bi.S[p * d * d + e] * bi.S[p * d * d + e] }
            return s * Double(n * n)
        }
        let s2 = SampleSummary(tr2)
        XCTAssertEqual(s2.mean, Double(n * d * (n + d + 1)), accuracy: 5 * s2.standardError)
    }

    func testBadInputThrows() throws {
        XCTAssertThrowsError(try TaskConfig(d: 0, n: 5, k: 1, eta: 0.5)) { XCTAssertTrue("\($0)".contains("d must be")) }
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 0, eta: 0.5))
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: 0)) { XCTAssertTrue("\($0)".contains("eta")) }
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: -1))
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: .nan))
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: 0.5, covariance: [1, 2, 2, 1])) {
            XCTAssertTrue("\($0)".contains("positive definite"))
        }
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: 0.5, covariance: [1, 0.2, 0.1, 1])) {
            XCTAssertTrue("\($0)".contains("symmetric"))
        }
        XCTAssertThrowsError(try TaskConfig(d: 2, n: 5, k: 1, eta: 0.5, covariance: [1, 0, 0]))
        XCTAssertNoThrow(try TaskConfig(d: 2, n: 5, k: 1, eta: 0.5, covariance: [2, 0.3, 0.3, 1]))
    }

    func testParameterFileRoundTripAndRejection() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cotflow-model-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = randomParameters(d: 2, scale: 0.7, seed: 3)
        let path = dir.appendingPathComponent("p.json").path
        try p.save(to: path)
        XCTAssertEqual(try TransformerParameters.load(from: path), p)
        let c = TransformerParameters.construction(d: 2, eta: 0.25)
        XCTAssertEqual(c.V31, [-0.25, 0, 0, -0.25])
        XCTAssertEqual(c.W13, [1, 0, 0, 1])
        XCTAssertEqual(c.W24, -1)
        XCTAssertEqual(c.offBlockNorm, 0)
        func rejects(_ text: String, _ fragment: String, line: UInt = #line) throws {
            let bad = dir.appendingPathComponent("bad.json").path
            try text.write(toFile: bad, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TransformerParameters.load(from: bad), line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line)
                print("rejected: \($0)")
            }
        }
        let ones = Array(repeating: "1", count: 36).joined(separator: ",")
        try rejects("not json", "not valid JSON")
        try rejects("[1,2]", "JSON object")
        try rejects("{\"d\": 2.5, \"V\": [], \"W\": []}", "parameter file")
        try rejects("{\"V\": [], \"W\": []}", "missing key \"d\"")
        try rejects("{\"d\": 2, \"V\": [1,2], \"W\": [\(ones)]}", "expected D*D = 36")
        try rejects("{\"d\": 2, \"V\": [\(ones)], \"W\": [\(ones.dropLast()) \"a\"]}", "is a string, not a number")
        try rejects("{\"d\": 2, \"V\": [\(ones)], \"W\": [\(ones.dropLast())1e999]}", "parameter file")
        try rejects("{\"d\": 0, \"V\": [], \"W\": []}", "must be from 1 to")
        XCTAssertThrowsError(try TransformerParameters.load(from: dir.appendingPathComponent("missing.json").path)) {
            XCTAssertTrue("\($0)".contains("cannot read"))
        }
    }
}

final class GradientBufferTests: XCTestCase {
    /// Infinite losses in an evaluation without gradients leave the process intact.
    func testEvaluationWithInfiniteLossesDoesNotTouchRuntimeMemory() throws {
        let task = try TaskConfig(d: 3, n: 8, k: 4, eta: 0.5)
        var parameters = TransformerParameters.construction(d: 3, eta: 0.5)
        parameters.V = parameters.V.map { $0 * 1e200 }
        let batch = PromptBatch.sample(task: task, count: 64, random: Random(seed: 1), includeData: false)
        let result = Objectives.compute(.eval, parameters: parameters, task: task, batch: batch, gradient: false)
        XCTAssertTrue(result.perPrompt.contains { !$0.isFinite })
        XCTAssertNil(result.gradV)
        // Exercise the runtime's shared storage after the evaluation.
        let strings = (0..<1000).map { "key \($0)" }
        XCTAssertEqual(Set(strings).count, 1000)
    }
}

/// Results do not depend on the threads or on which workspace a chunk gets: `compute` (chunks on
/// every core, workspaces reused) equals the chunks run one after another on this thread, in
/// reverse order, through one shared workspace, summed in chunk order; bit for bit.
final class DeterminismTests: XCTestCase {
    func serial(_ objective: Objective, _ p: TransformerParameters, _ task: TaskConfig, _ batch: PromptBatch,
                gradient: Bool) -> (losses: [Double], gradient: [Double]) {
        let chunks = fixedChunks(batch.count, size: Objectives.chunkSize), dd = task.tokenSize * task.tokenSize
        var losses = [Double](repeating: .nan, count: batch.count)
        var slots = [[Double]](repeating: [Double](repeating: 0, count: 2 * dd), count: chunks.count)
        let ws = Workspace()
        for c in chunks.indices.reversed() {
            losses.withUnsafeMutableBufferPointer { lb in
                slots[c].withUnsafeMutableBufferPointer { g in
                    Objectives.kernel(objective, parameters: p, task: task, batch: batch, range: chunks[c],
                                      output: KernelOutput(losses: lb.baseAddress! + chunks[c].lowerBound,
                                                           gradV: gradient ? g.baseAddress! : nil, gradW: gradient ? g.baseAddress! + dd : nil,
                                                           scale: 1 / Double(batch.count), workspace: ws))
                }
            }
        }
        var sum = slots[0]
        for c in 1..<chunks.count { for i in 0..<(2 * dd) { sum[i] += slots[c][i] } }
        return (losses, gradient ? sum : [])
    }

    func testComputeEqualsSerialChunksBitForBit() throws {
        for (d, n, k) in [(3, 5, 3), (4, 9, 6)] {
            let task = try TaskConfig(d: d, n: n, k: k, eta: paperStepSize(n: n, d: d).doubleValue)
            let batch = PromptBatch.sample(task: task, count: 3 * Objectives.chunkSize + 17, random: Random(seed: 31, stream: [1]), includeData: true)
            let p = randomParameters(d: d, scale: 0.3, seed: 32)
            let pool = WorkspacePool()
            for objective in Objective.allCases {
                let result = Objectives.compute(objective, parameters: p, task: task, batch: batch, gradient: true, workspaces: pool)
                let again = Objectives.compute(objective, parameters: p, task: task, batch: batch, gradient: true, workspaces: pool)
                let reference = serial(objective, p, task, batch, gradient: true)
                XCTAssertEqual(result.perPrompt.map(\.bitPattern), reference.losses.map(\.bitPattern), "\(objective)")
                XCTAssertEqual((result.gradV! + result.gradW!).map(\.bitPattern), reference.gradient.map(\.bitPattern), "\(objective)")
                XCTAssertEqual(again.perPrompt.map(\.bitPattern), result.perPrompt.map(\.bitPattern), "\(objective): reused workspaces")
                XCTAssertEqual((again.gradV! + again.gradW!).map(\.bitPattern), (result.gradV! + result.gradW!).map(\.bitPattern))
                let lossOnly = Objectives.compute(objective, parameters: p, task: task, batch: batch, gradient: false, workspaces: pool)
                XCTAssertEqual(lossOnly.perPrompt.map(\.bitPattern), result.perPrompt.map(\.bitPattern), "\(objective): loss only")
            }
        }
    }
}

final class BlockSpectraTests: XCTestCase {
    /// The construction's blocks: -eta and 1; with W24 = -2 (the same predictions) the rescaled pair is the construction again.
    func testBlockEigenvaluesAndTheInvariantPair() throws {
        let d = 3, eta = 0.6
        let p = TransformerParameters.construction(d: d, eta: eta)
        let e = try XCTUnwrap(p.blockEigenvalues)
        for x in e.v { XCTAssertEqual(x, -eta, accuracy: 1e-12) }
        for x in e.w { XCTAssertEqual(x, 1, accuracy: 1e-12) }
        XCTAssertNil(p.rescaledBlockEigenvalues)
        var q = p
        q.V31 = p.V31.map { $0 / 2 }
        q.W13 = p.W13.map { $0 * 2 }
        q.W24 = -2
        let r = try XCTUnwrap(q.rescaledBlockEigenvalues)
        for x in r.v { XCTAssertEqual(x, -eta, accuracy: 1e-12) }
        for x in r.w { XCTAssertEqual(x, 1, accuracy: 1e-12) }
        q.W24 = 0
        XCTAssertNil(q.rescaledBlockEigenvalues)
    }
}

