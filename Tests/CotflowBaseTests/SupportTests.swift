import BigInt
import CGSL
@testable import CotflowCore
@testable import CotflowModel
import XCTest

final class SupportTests: XCTestCase {
    func testOpenBLASServesCBLAS() throws {
        GSL.initialize()
        // Touch the symbol through the C module so that it is bound in this process.
        var c = [0.0]
        let a = [2.0], b = [3.0]
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, a, 1, b, 1, 0, &c, 1)
        XCTAssertEqual(c[0], 6)
        let library = try XCTUnwrap(GSL.library(serving: "cblas_dgemm"))
        XCTAssertTrue(library.contains("openblas"), "cblas_dgemm is served by \(library), not OpenBLAS")
        XCTAssertEqual(cot_blas_threads(), 1)
    }

    /// Until every library has loaded, SIGINT is handled by the C boundary (OpenBLAS raises it when
    /// its threads cannot start, section "Hostile run" of notes/reliability.md); then the start's
    /// handling is put back (this test process starts with the default action and sets none).
    func testSIGINTIsHandledAsAtTheStartOnceLibrariesHaveLoaded() {
        var current = sigaction()
        XCTAssertEqual(sigaction(SIGINT, nil, &current), 0)
        // The start's handler is the only one with SA_SIGINFO (the run's policy, `Interruption`, uses signal()).
        XCTAssertEqual(current.sa_flags & SA_SIGINFO, 0)
        // Unless a test of this process ran a command's pipeline (RunPipelineTests), which installs the run's policy.
        if !Interruption.isInstalled {
            let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
            XCTAssertTrue(handler == 0 || handler == 1, "SIGINT's handler is \(handler), not the default or ignored")
        }
    }

    func testGSLStatusBecomesError() {
        GSL.initialize()
        // With the handler off, a singular LU solve returns a status instead of aborting.
        let m = gsl_matrix_calloc(2, 2)!, p = gsl_permutation_alloc(2)!
        defer { gsl_matrix_free(m); gsl_permutation_free(p) }
        var signum: Int32 = 0
        _ = gsl_linalg_LU_decomp(m, p, &signum)
        let b = gsl_vector_calloc(2)!, x = gsl_vector_alloc(2)!
        defer { gsl_vector_free(b); gsl_vector_free(x) }
        let status = gsl_linalg_LU_solve(m, p, b, x)
        XCTAssertNotEqual(status, Int32(GSL_SUCCESS))
        XCTAssertThrowsError(try GSL.check(status, "LU solve")) { error in
            XCTAssertTrue("\(error)".contains("LU solve"))
        }
    }

    func testRationalParsing() throws {
        XCTAssertEqual(Rational.parse("20/31"), Rational(20, 31))
        XCTAssertEqual(Rational.parse("0.645"), Rational(129, 200))
        XCTAssertEqual(Rational.parse("-1.5e-2"), Rational(-3, 200))
        XCTAssertEqual(Rational.parse("2.5E2"), Rational(250))
        XCTAssertEqual(Rational.parse("4/-8"), Rational(-1, 2))
        for bad in ["", "abc", "1/0", "1..2", "1e", "/3", "0x10", "."] {
            XCTAssertNil(Rational.parse(bad), bad)
        }
    }

    func testRationalDoubleConversion() {
        XCTAssertEqual(Rational(20, 31).doubleValue, 20.0 / 31.0)
        XCTAssertEqual(Rational(exactly: 0.1).doubleValue, 0.1)
        XCTAssertEqual(Rational(exactly: -3.25), Rational(-13, 4))
        // Parts far beyond the double range, quotient of ordinary size.
        let huge = BigInt(10).power(400)
        XCTAssertEqual(Rational(huge * 7, huge * 3).doubleValue, 7.0 / 3.0)
        XCTAssertEqual(Rational(1, huge).doubleValue, 0)
    }

    func testSummaryFlagsTail() {
        // 999 values near one and one huge value: the mean is carried by the tail.
        var values = (0..<999).map { 1 + Double($0 % 7) / 100 }
        values.append(1e9)
        let s = SampleSummary(values, divergenceThreshold: 1e6)
        XCTAssertTrue(s.tailDominated)
        XCTAssertEqual(s.divergedFraction, 0.001)
        XCTAssertLessThan(s.median, 1.1)
        XCTAssertTrue(s.report(name: "x").contains("no stable mean"))
        let calm = SampleSummary((0..<1000).map { 1 + Double($0 % 7) / 100 })
        XCTAssertFalse(calm.tailDominated)
        XCTAssertEqual(SampleSummary.quantile([1, 2, 3, 4], 0.5), 2.5)
    }

    func testRandomStreamsAreReproducibleAndIndependent() {
        let a = Random(seed: 7, stream: [1]), b = Random(seed: 7, stream: [1]), c = Random(seed: 7, stream: [2])
        let xa = (0..<5).map { _ in a.gaussian() }, xb = (0..<5).map { _ in b.gaussian() }
        let xc = (0..<5).map { _ in c.gaussian() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
    }

    func testHaarBasisIsOrthogonal() {
        let d = 6
        let init0 = AssumptionInitialisation(d: d, seed: 3, vRange: -0.1 ... -0.05, wRange: 0.05 ... 0.1)
        let u = init0.basis()
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for a in 0..<d { s += u[a * d + i] * u[a * d + j] }
                XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
        XCTAssertTrue(init0.v.allSatisfy { (-0.1 ... -0.05).contains($0) })
        let eig = try! symmetricPartEigenvalues(AssumptionInitialisation.matrix(eigenvalues: init0.w, basis: u), d: d)
        for (x, y) in zip(eig, init0.w.sorted()) { XCTAssertEqual(x, y, accuracy: 1e-12) }
    }

    func testJSONRendering() {
        let v = JSONValue.object([("a", .number(1.5)), ("b", .numbers([1, .nan])), ("c", .string("q\"x"))])
        // A float stays a float when it is whole (one JSON type per key); counts are .int.
        XCTAssertEqual(v.rendered(pretty: false), #"{"a": 1.5,"b": [1.0, null],"c": "q\"x"}"#)
        XCTAssertEqual(JSONValue.array([.int(1000), .number(1000), .number(1e-10), .number(1e20)]).rendered(), "[1000, 1000.0, 1e-10, 1e+20]")
    }

    func testIntegerColumnsAreWrittenAsIntegers() {
        var table = CSVTable(header: ["step", "t", "flag"], integerColumns: ["step", "flag"])
        table.append([1000, 2.0, 1])
        table.append([1001, .nan, 0])
        XCTAssertEqual(table.text, "step,t,flag\n1000,2.0,1\n1001,nan,0\n")
    }

    func testProgressLineShowsRateAndLoss() {
        let line = Progress.line(label: "train", done: 50, total: 100, elapsed: 2, loss: 0.125, bar: true)
        XCTAssertTrue(line.hasPrefix("train [############------------] 50/100 25.0 steps/s"), line)
        XCTAssertTrue(line.hasSuffix("~2s left, loss 0.125"), line)
        XCTAssertFalse(Progress.line(label: "sweep", done: 3, total: 9, unit: "points", elapsed: 1, loss: nil, bar: false).contains("["))
    }
}
