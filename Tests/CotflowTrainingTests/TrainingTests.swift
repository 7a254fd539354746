import XCTest
import CotflowSupport
import CotflowModel
@testable import CotflowTraining

final class DebugTests: XCTestCase {
    func testDebug() throws {
        let task = try TaskConfig(d: 10, n: 20, k: 20, eta: TaskConfig.paperStepSize(d: 10, n: 20))
        let r = Random(seed: 1, stream: [3, 0])
        var p = TransformerParameters.zeros(d: 10)
        let rr = Random(seed: 1, stream: [1])
        for i in p.V.indices { p.V[i] = 0.05 * rr.gaussian(); p.W[i] = 0.05 * rr.gaussian() }
        for s in 0..<10 {
            let b = PromptBatch.sample(task: task, count: 64, random: r, includeData: false)
            let out = Objectives.chunk(.cot, parameters: p, task: task, batch: b, range: 0..<64, gradScale: 1)
            let bad = out.losses.enumerated().filter { !$0.element.isFinite }
            print(s, out.losses.max()!, bad.count, b.S.filter { !$0.isFinite }.count)
            if let f = bad.first { print(Array(b.S[(f.offset*100)..<(f.offset*100+100)]), try b.largestEigenvalues()[f.offset]) }
        }
    }
}
