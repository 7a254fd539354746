import CotflowCore
import CotflowExact
import CotflowModel
import XCTest

/// The reduced flow's estimate counts what its time goes to (issue 22): the exact loss's moments
/// (growing with k as `ExactWork`), the smooth steps and the stiff steps, whose number grows with
/// the loss at the start per dimension (the heavy tail the chain's powers reach). Structure and
/// ratios only; the measured accuracy is in notes/reliability.md. Also the progress display's
/// counts: the full-matrix flow's share of work from its step model, and a count past its estimate.
final class ReducedFlowEstimateTests: XCTestCase {
    func testReducedFlowWorkGrowsWithKAsTheExactLossAndTheStiffnessDo() throws {
        let ks = [5, 10, 15, 20]
        let runs = ks.map { ReducedFlowRun(d: 3, n: 10, k: $0, seed: 0) }
        let estimates = runs.map { $0.estimate() }
        for (run, estimate) in zip(runs, estimates) {
            XCTAssertEqual(estimate.phases.map(\.name), [ReducedLoss.phaseName, ReducedFlowRun.flowPhaseName])
            XCTAssertEqual(estimate.phases[0].operations, ReducedLoss.workPhase(n: 10, d: 3, k: run.k).operations)
        }
        let exact = estimates.map { $0.phases[0].operations }, steps = estimates.map { $0.phases[1].steps! }
        let stiffness = try runs.map { try XCTUnwrap($0.stiffness()) }
        XCTAssertEqual(exact, exact.sorted())
        XCTAssertEqual(Set(exact).count, ks.count)
        XCTAssertEqual(steps, steps.sorted())
        XCTAssertEqual(stiffness, stiffness.sorted())
        // k = 5 is smooth (no stiff steps); k = 20 starts at a loss of about 1e18 per dimension:
        // more than 100 times the steps (measured: 116 and 277683), and its stiff steps cost more.
        XCTAssertEqual(FlowSteps.stiffSteps(stiffness[0], d: 3), 0)
        XCTAssertGreaterThan(stiffness[3], 1e15)
        XCTAssertGreaterThan(steps[3] / steps[0], 100)
        XCTAssertGreaterThan(estimates[3].phases[1].operations / steps[3], 5 * estimates[0].phases[1].operations / steps[0])
        XCTAssertTrue(estimates[3].phases[1].basis.contains("of them stiff: loss at the start"), estimates[3].phases[1].basis)
    }

    /// The stiffness is the loss at the start (the Assumption 4.1 point of the seed) per dimension,
    /// and the estimate's exact loss is the one the run uses (built once).
    func testStiffnessIsTheExactLossAtTheStartPerDimension() throws {
        let run = ReducedFlowRun(d: 3, n: 10, k: 15, seed: 3)
        let x = try XCTUnwrap(run.stiffness())
        let loss = try ReducedLoss(n: 10, d: 3, k: 15, eta: run.eta)
        let (v, w) = run.initialPoint
        let exact = loss.exactLoss(v: v.map { Rational(exactly: $0) }, w: w.map { Rational(exactly: $0) }).doubleValue
        XCTAssertEqual(x, exact / 3, accuracy: 1e-9 * exact)
        XCTAssertTrue(try ReducedLoss.shared(n: 10, d: 3, k: 15, eta: run.eta) === ReducedLoss.shared(n: 10, d: 3, k: 15, eta: run.eta))
    }

    /// The exact reduced loss reports its moments' degree and their share of the estimated work:
    /// the degrees rise by one to 2k, and the share follows `ExactWork` (the high degrees cost most).
    func testExactLossReportsDegreesAndWork() throws {
        let reports = LockedReports()
        _ = try ReducedLoss(n: 10, d: 3, k: 6, eta: Rational(1, 2)) { reports.append($0) }
        let all = reports.values
        XCTAssertEqual(all.map(\.done), Array(2...12))
        XCTAssertTrue(all.allSatisfy { $0.total == 12 && $0.phase == ReducedLoss.phaseName })
        XCTAssertEqual(all.last?.work, 1)
        let half = try XCTUnwrap(all.first { $0.done == 6 }?.work)
        XCTAssertLessThan(half, 0.25)  // half the degree is well under half the work
    }

    /// The full-matrix flow's share of work at t follows the step model (a decade of a log grid
    /// early on costs as much as one late), not t / t_end.
    func testFullFlowWorkFractionFollowsTheStepModel() {
        let end = 10.0
        func f(_ t: Double) -> Double { FlowSteps.fullWorkFraction(at: t, end: end, d: 2, n: 10, k: 2) }
        XCTAssertEqual(f(0), 0)
        XCTAssertEqual(f(end), 1)
        let times = [1e-3, 1e-2, 0.1, 1, 3, end]
        XCTAssertEqual(times.map(f), times.map(f).sorted())
        XCTAssertGreaterThan(f(1e-2), 10 * 1e-2 / end)
        XCTAssertEqual(f(1e-2), FlowSteps.fullSteps(to: 1e-2, d: 2, n: 10, k: 2) / FlowSteps.fullSteps(to: end, d: 2, n: 10, k: 2), accuracy: 1e-15)
        var settings = FlowSolverSettings()
        settings.endTime = end
        let run = FullFlowRun(d: 2, n: 10, k: 2, seed: 0, prompts: 16, solver: settings)
        XCTAssertEqual(run.progress(at: 1e-2).work, f(1e-2))
        XCTAssertEqual(Double(run.progress(at: end).total), run.estimate().phases[0].steps!, accuracy: 1)
    }

    /// A count past the estimate's total says the time left is unknown (never "~0s left"); a
    /// count with its share of the work shows that share instead of a rate.
    func testProgressPastTheEstimateAndByWork() {
        let past = Progress.line(label: "ode", done: 150, total: 100, elapsed: 10, loss: nil, bar: false, phase: "reduced flow")
        XCTAssertTrue(past.hasSuffix("~? (past the estimated 100) left"), past)
        let byWork = Progress.line(label: "exact cot-loss", done: 20, total: 40, unit: "moment degrees", elapsed: 10, loss: nil, bar: false,
                                   fraction: 0.1, phase: "exact reduced loss", work: 0.1)
        XCTAssertEqual(byWork, "exact cot-loss exact reduced loss: 20/40 moment degrees (10% of its work), 10s elapsed, ~90s left")
    }
}

private final class LockedReports: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [ProgressReport] = []
    func append(_ r: ProgressReport) { lock.lock(); list.append(r); lock.unlock() }
    var values: [ProgressReport] { lock.lock(); defer { lock.unlock() }; return list }
}
