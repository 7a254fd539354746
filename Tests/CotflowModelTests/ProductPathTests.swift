import CotflowModel
import CotflowSupport
import XCTest

extension ModelTests {
    /// The teacher-forced chain forms its per-prompt products with loops up to d = 16 and with BLAS
    /// calls above: both paths against central differences (cot and eval objectives).
    func testGradientsOnBothPerPromptProductPaths() throws {
        for d in [16, 17] {
            let t = try TaskConfig(d: d, n: 24, k: 3, eta: 0.5)
            let b = PromptBatch.sample(task: t, count: 3, random: Random(seed: 5, stream: [1]), includeData: false)
            let p = randomParameters(d: d, scale: 0.3, seed: 13)
            let entries = Array(stride(from: 0, to: 2 * p.V.count, by: 11))
            for o in [Objective.cot, .eval] { checkGradient(o, p, entries: entries, task: t, batch: b) }
        }
    }
}
