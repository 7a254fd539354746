import CotflowExact
import CotflowSupport
import Foundation

private func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func benchExact() {
    print("== exact ==")
    let t1 = seconds {
        let m = WishartMoments(n: 20, d: 10)
        for k in 0...42 { _ = m.expectation(powers: [k]) }
        for k in 0...40 { _ = m.expectation(powers: [2, k]) }
        print("  memo partitions: \(m.memoCount)")
    }
    print("  moment table (E tr W^m, m<=42; E[p2 pm], m<=40) at (d,n)=(10,20): \(String(format: "%.3f", t1)) s")
}
