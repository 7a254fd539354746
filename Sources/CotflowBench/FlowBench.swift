import CotflowExact
import CotflowModel
import Foundation

/// One reduced flow from the default Assumption 4.1 initialisation (scale 0.05, seed 0) until the
/// loss is 1e-8 of min(its start, d) (here its start), at d = 10, 100, 1000 with n = 4d, k = 5 and the paper's eta.
/// Target: under one second at d = 1000 (coefficients included), with W24 fixed and with W24 free.
func benchFlow() {
    for w24 in [W24Mode.paper, .free(initial: -1)] {
        benchFlow(w24)
    }
}

private func benchFlow(_ w24: W24Mode) {
    print("reduced flow benchmark (release build), W24 \(w24.isFree ? "free" : "fixed"), n = 4d, k = 5, eta = n/(n+d+1), rkf45, stop at 1e-8 x initial loss")
    for d in [10, 100, 1000] {
        let n = 4 * d
        let started = Date()
        do {
            let loss = try ReducedLoss(n: n, d: d, k: 5, eta: paperStepSize(n: n, d: d))
            let coefficients = Date().timeIntervalSince(started)
            let ranges = AssumptionInitialisation.defaultRanges(scale: 0.05)
            let start = AssumptionInitialisation(d: d, seed: 0, vRange: ranges.v, wRange: ranges.w)
            var options = FlowOptions()
            options.stopRelativeLoss = 1e-8
            let flowStart = Date(), cpuStart = cpuSeconds()
            let result = try ReducedFlow(loss: loss, w24: w24).integrate(v0: start.v, w0: start.w, options: options)
            let flowSeconds = Date().timeIntervalSince(flowStart), flowCPU = cpuSeconds() - cpuStart
            let total = Date().timeIntervalSince(started)
            let s = result.statistics
            print(String(format: "  d = %4d: coefficients %.3f s, flow %.3f s (CPU %.3f s), total %.3f s; t_end %.3g, %d steps, %d rhs evaluations, converged %@",
                         d, coefficients, flowSeconds, flowCPU, total, result.finalTime, s.acceptedSteps, s.rhsEvaluations,
                         result.converged ? "yes" : "no"))
        } catch {
            print("  d = \(d): failed: \(error)")
        }
    }
}
