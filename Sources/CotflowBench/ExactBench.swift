import BigInt
import CotflowExact
import CotflowCore
import CotflowModel
import Foundation

private func seconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (value, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
}

private func ms(_ s: Double) -> String { String(format: "%.3f ms", s * 1e3) }

func benchExact() {
    print("== exact (CotflowExact) ==")
    // 1. Moment table at (d, n) = (10, 20): E tr W^m (m <= 42) and E[p2 pm] (m <= 40), fresh memo.
    let (memo, tTable) = seconds { () -> Int in
        let m = WishartMoments(n: 20, d: 10)
        for k in 0...42 { _ = m.expectation(powers: [k]) }
        for k in 0...40 { _ = m.expectation(powers: [2, k]) }
        return m.memoCount
    }
    print("  moment table, degree 42 at (d,n)=(10,20): \(ms(tTable))  (\(memo) memoised partitions)")
    let (_, tCheck) = seconds { wishartSingleTraceModPrime(n: 20, d: 10, maxPower: 42) }
    print("  cross-check table mod p, largest-part order: \(ms(tCheck))")

    // 2. ReducedLoss construction (moments shared per (n, d) after the first use).
    for (n, d, k) in [(20, 10, 20), (40, 10, 5)] {
        let eta = paperStepSize(n: n, d: d)
        let (_, tCold) = seconds { try! ReducedLoss(n: n, d: d, k: k, eta: eta) }
        let (_, tWarm) = seconds { try! ReducedLoss(n: n, d: d, k: k, eta: eta) }
        print("  ReducedLoss(n: \(n), d: \(d), k: \(k)): \(ms(tCold)) first, \(ms(tWarm)) with moments cached")
    }

    // 3. lossAndGradient and hessian at d = 1000.
    let d = 1000
    let big = try! ReducedLoss(n: 40, d: d, k: 5, eta: paperStepSize(n: 40, d: d))
    let rng = Random(seed: 1, stream: [1])
    let p = (0..<d).map { _ in rng.uniform(-0.01, 0.01) }, q = (0..<d).map { _ in rng.uniform(-0.01, 0.01) }
    _ = big.lossAndGradient(p: p, q: q)
    let reps = 1000
    let (sink, tGrad) = seconds { () -> Double in
        var s = 0.0
        for _ in 0..<reps { s += big.lossAndGradient(p: p, q: q).loss }
        return s
    }
    print("  lossAndGradient at d=1000: \(String(format: "%.2f", tGrad / Double(reps) * 1e6)) us per call (loss \(sink / Double(reps)))")
    let (_, tHess) = seconds { big.hessian(p: p, q: q) }
    print("  hessian at d=1000 (2000 x 2000): \(ms(tHess))")

    // 4. A few reference values.
    let eta = paperStepSize(n: 20, d: 10)
    for k in [1, 5, 10, 20] {
        print("  E||w_k - w*||^2 at (d,n)=(10,20), eta=20/31, k=\(k): \(gdChainLoss(n: 20, d: 10, k: k, eta: eta).doubleValue)")
    }
    print("  no-CoT optimum d(d+1)/(n+d+1) at (10,20): \(noCoTOptimum(n: 20, d: 10)) = \(noCoTOptimum(n: 20, d: 10).doubleValue)")
}

/// Exact moments with a covariance (issue 14): the out-of-distribution GD loss at d = 10, k = 10.
/// Wall-clock and CPU time (the machine is shared; CPU time is the stabler figure).
func benchCovariance() {
    print("== exact with a covariance (CotflowExact) ==")
    func timed<T>(_ body: () throws -> T) rethrows -> (T, Double, Double) {
        let c0 = clock()
        let (v, wall) = try seconds(body)
        return (v, wall, Double(clock() - c0) / Double(CLOCKS_PER_SEC))
    }
    func both(_ wall: Double, _ cpu: Double) -> String { "\(ms(wall)) wall, \(ms(cpu)) CPU" }
    let eta = paperStepSize(n: 20, d: 10)
    let first = try! CovarianceSpectrum.geometric(d: 10, kappa: 4)
    let (_, w0, c0) = timed { try! gdChainLoss(n: 20, k: 10, eta: eta, spectrum: first) }
    print("  gd-loss (d, n, k) = (10, 20, 10), kappa = 4, first call (builds the partition table): \(both(w0, c0))")
    for kappa in [4.0, 100.0] {
        let spectrum = try! CovarianceSpectrum.geometric(d: 10, kappa: kappa)
        let (value, w, c) = timed { try! gdChainLoss(n: 20, k: 10, eta: eta, spectrum: spectrum) }
        print("  gd-loss (10, 20, 10), geometric kappa = \(kappa): \(both(w, c))  value \(value.value.doubleValue) ± \(value.errorBound.doubleValue)")
    }
    let rational = try! CovarianceSpectrum((1...10).map { Rational(BigInt($0), 3) })
    let (value, w, c) = timed { try! gdChainLoss(n: 20, k: 10, eta: eta, spectrum: rational) }
    print("  gd-loss (10, 20, 10), spectrum 1/3, 2/3, ..., 10/3: \(both(w, c))  value \(value.value.doubleValue)")
    let (_, w40, c40) = timed { try! gdChainLoss(n: 40, k: 5, eta: paperStepSize(n: 40, d: 10), spectrum: .geometric(d: 10, kappa: 8)) }
    print("  gd-loss (10, 40, 5), kappa = 8: \(both(w40, c40))")
    for degree in [8, 10, 12, 14] {
        let (_, ww, cw) = timed { covarianceMoment(powers: [degree], n: 20, spectrum: rational) }
        print("  word recursion E tr (Sigma W)^\(degree), d = 10: \(both(ww, cw))")
    }
    let (_, ws, cs) = timed { symbolicCovarianceMoment(powers: [10]) }
    print("  symbolic E tr (Sigma W)^10 in n and p_r: \(both(ws, cs))")
}
