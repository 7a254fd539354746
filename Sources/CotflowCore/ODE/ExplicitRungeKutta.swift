import Foundation

/// An explicit embedded Runge-Kutta pair with the first-same-as-last property and a continuous
/// extension, written in Swift: the last stage is f at the new state, so each accepted step costs
/// `stages - 1` right-hand sides. The error control is GSL's standard one on y (max norm of
/// |err_i| / (absTol + relTol max(|y_i|, |y_new_i|))) with an integral controller; Hairer's test
/// |f(y_new) - f(g)| / |y_new - g| h, on the last two stages (both at t + h), estimates the
/// stiffness (Hairer and Wanner, Solving ODEs II, section IV.2).
public struct ExplicitRungeKutta: SteppingMethod {
    public let name: String
    /// Strictly lower a[i][j], j < i, for stages 1..<stages (stage 0 is f at the start).
    let a: [[Double]]
    /// Nodes c_i.
    let c: [Double]
    /// Error weights (solution minus embedded weights) of every stage, the last included.
    let e: [Double]
    /// Local order of the error estimate + 1 (the exponent of the step controller is 1 / this).
    let errorExponent: Double
    /// h lambda along the negative real axis where the method leaves its stability region.
    let stabilityBoundary: Double
    /// The weights b_i(theta) of y(t + theta h) = y + h sum_i b_i(theta) k_i, into `b`.
    let denseWeights: @Sendable (_ theta: Double, _ b: inout [Double]) -> Void

    public var requiresJacobian: Bool { false }
    var stages: Int { c.count }

    public func start(_ system: ODESystem, t0: Double, y0: [Double], options: ODEOptions) throws -> any SteppingSession {
        try RungeKuttaSession(method: self, system: system, t0: t0, y0: y0, options: options)
    }

    /// Tsitouras' 5(4) pair (Comput. Math. Appl. 62 (2011) 770), coefficients and free 4th-order
    /// interpolant as in OrdinaryDiffEq.jl and diffrax. Stability boundary 3.5068 on the real axis.
    public static let tsit5 = ExplicitRungeKutta(
        name: "tsit5",
        a: [
            [0.161],
            [-0.008480655492356988544426874250230774675121177393430391537369234245294192976164141156943,
             0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569],
            [2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289,
             -6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366,
             4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077],
            [5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791,
             -11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589,
             7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753,
             -0.09249506636175524925650207933207191611349983406029535244034750452930469056411389539635],
            [5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748,
             -12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452,
             8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986,
             -0.07158497328140099722453054252582973869127213147363544882721139659546372402303777878835,
             -0.02826905039406838290900305721271224146717633626879770007617876201276764571291579142206],
            [0.09646076681806522951816731316512876333711995238157997181903319145764851595234062815396, 0.01,
             0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509,
             1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331,
             -3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677,
             2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841],
        ],
        c: [0, 0.161, 0.327, 0.9, 0.9800255409045096857298102862870245954942137979563024768854764293221195950761080302604, 1, 1],
        e: [0.09646076681806522951816731316512876333711995238157997181903319145764851595234062815396
                - 0.09468075576583945807478876255758922856117527357724631226139574065785592789071067303271,
            0.01 - 0.009183565540343253096776363936645313759813746240984095238905939532922955247253608687270,
            0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509
                - 0.4877705284247615707855642599631228241516691959761363774365216240304071651579571959813,
            1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331
                - 1.234297566930478985655109673884237654035539930748192848315425833500484878378061439761,
            -3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677
                + 2.707712349983525454881109975059321670689605166938197378763992255714444407154902012702,
            2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841
                - 1.866628418170587035753719399566211498666255505244122593996591602841258328965767580089,
            -1.0 / 66],
        errorExponent: 5,
        stabilityBoundary: 3.5068,
        denseWeights: { t, b in
            let t2 = t * t
            b[0] = -1.0530884977290216 * t * (t - 1.3299890189751412) * (t2 - 1.4364028541716351 * t + 0.7139816917074209)
            b[1] = 0.1017 * t2 * (t2 - 2.1966568338249754 * t + 1.2949852507374631)
            b[2] = 2.490627285651252793 * t2 * (t2 - 2.38535645472061657 * t + 1.57803468208092486)
            b[3] = -16.54810288924490272 * (t - 1.21712927295533244) * (t - 0.61620406037800089) * t2
            b[4] = 47.37952196281928122 * (t - 1.203071208372362603) * (t - 0.658047292653547382) * t2
            b[5] = -34.87065786149660974 * (t - 1.2) * (t - 0.666666666666666667) * t2
            b[6] = 2.5 * (t - 1) * (t - 0.6) * t2
        })
}

/// One integration with an `ExplicitRungeKutta` pair; stage buffers are allocated once.
final class RungeKuttaSession: SteppingSession {
    let method: ExplicitRungeKutta
    let system: ODESystem
    let n: Int
    let absTol: Double, relTol: Double, maximumStep: Double?
    /// Stage derivatives, stage-major (k[i * n + j]); k[0..<n] is f at the current state.
    private var k: [Double]
    private var stageState: [Double], newState: [Double]
    /// The last accepted step, for the continuous extension.
    private var stepStart: [Double], stepStartDerivative: [Double], stepStartTime = 0.0, stepSize = 0.0, weights: [Double]
    private(set) var statistics = ODEStatistics()
    private var rejectedLast = false
    /// Hairer's counters: stiff steps since the last run of non-stiff ones, and that run's length.
    private var stiffSteps = 0, nonStiffSteps = 0
    private(set) var isStiff = false
    let phases: [StepperPhase]

    init(method: ExplicitRungeKutta, system: ODESystem, t0: Double, y0: [Double], options: ODEOptions) throws {
        self.method = method
        self.system = system
        n = system.dimension
        absTol = options.absoluteTolerance
        relTol = options.relativeTolerance
        maximumStep = options.maximumStep
        k = [Double](repeating: 0, count: method.stages * n)
        stageState = y0; newState = y0; stepStart = y0; stepStartDerivative = y0
        weights = [Double](repeating: 0, count: method.stages)
        phases = [StepperPhase(name: method.name, start: t0)]
        let failure = y0.withUnsafeBufferPointer { y in k.withUnsafeMutableBufferPointer { system.evaluate(t0, y.baseAddress!, into: $0.baseAddress!) } }
        statistics.rhsEvaluations += 1
        if let failure { throw StepFailure(failure) }
    }

    var hasContinuousExtension: Bool { true }

    func step(t: inout Double, y: inout [Double], h: inout Double, output: Double, end: Double) throws {
        let s = method.stages, n = self.n
        while true {
            if let hmax = maximumStep { h = min(h, hmax) }
            var hStep = h, last = false
            if t + hStep >= end || t + 1.01 * hStep >= end { hStep = end - t; last = true }
            // Stages 1..<s; the last one's argument is the new state.
            for i in 1..<s {
                let failure = i == s - 1 ? stage(i, y, t, hStep, into: &newState) : stage(i, y, t, hStep, into: &stageState)
                statistics.rhsEvaluations += 1
                if let failure { throw StepFailure(failure) }
            }
            // Error estimate in GSL's standard norm.
            var ratio = 0.0
            k.withUnsafeBufferPointer { kp in
                for j in 0..<n {
                    var err = 0.0
                    for m in 0..<s where method.e[m] != 0 { err += method.e[m] * kp[m * n + j] }
                    let scale = absTol + relTol * max(abs(y[j]), abs(newState[j]))
                    ratio = max(ratio, abs(hStep * err) / scale)
                }
            }
            if !ratio.isFinite || !newState.allSatisfy(\.isFinite) { ratio = .infinity }
            if ratio <= 1 {
                estimateStiffness(h: hStep)
                stepStartTime = t; stepSize = hStep
                swap(&stepStart, &y)
                y.withUnsafeMutableBufferPointer { out in
                    for j in 0..<n { out[j] = newState[j] }
                }
                t = last ? end : t + hStep
                // FSAL: f at the new state is the next step's first stage; the step's own first
                // stage is kept for the continuous extension.
                k.withUnsafeMutableBufferPointer { kp in
                    let kb = kp.baseAddress!
                    stepStartDerivative.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: kb, count: n) }
                    kb.update(from: kb + (s - 1) * n, count: n)
                }
                var factor = ratio == 0 ? 5 : min(5, max(0.2, 0.9 * pow(ratio, -1 / method.errorExponent)))
                if rejectedLast { factor = min(1, factor) }
                rejectedLast = false
                // A step cut short to reach the end does not shrink the next one.
                h = last ? max(h, hStep * factor) : hStep * factor
                statistics.acceptedSteps += 1
                statistics.lastStepSize = hStep
                return
            }
            statistics.failedSteps += 1
            rejectedLast = true
            h = hStep * (ratio.isFinite ? max(0.2, 0.9 * pow(ratio, -1 / method.errorExponent)) : 0.2)
            if t + h == t { throw StepFailure(.stepBelowMinimum(step: h, minimum: 0, time: t)) }
        }
    }

    /// Stage i: its argument y + h sum_m a[i][m] k_m into `argument`, f there into k_i.
    private func stage(_ i: Int, _ y: [Double], _ t: Double, _ h: Double, into argument: inout [Double]) -> ODEFailure.Reason? {
        let n = self.n, row = method.a[i - 1], system = self.system, time = t + method.c[i] * h
        return y.withUnsafeBufferPointer { y0 in
            k.withUnsafeMutableBufferPointer { kp in
                argument.withUnsafeMutableBufferPointer { out in
                    let kb = kp.baseAddress!, o = out.baseAddress!
                    for j in 0..<n { o[j] = y0[j] }
                    for (m, a) in row.enumerated() where a != 0 {
                        let coefficient = h * a, km = kb + m * n
                        for j in 0..<n { o[j] += coefficient * km[j] }
                    }
                    return system.evaluate(time, o, into: kb + i * n)
                }
            }
        }
    }

    /// Hairer's test on the accepted step: the last two stages are both at t + h, so
    /// |k_s - k_{s-1}| / |y_new - g_{s-1}| estimates the largest |eigenvalue| of the Jacobian there.
    private func estimateStiffness(h: Double) {
        let s = method.stages
        var num = 0.0, den = 0.0
        for j in 0..<n {
            let dk = k[(s - 1) * n + j] - k[(s - 2) * n + j], dy = newState[j] - stageState[j]
            num += dk * dk; den += dy * dy
        }
        guard den > 0 else { return }
        if h * (num / den).squareRoot() > 0.95 * method.stabilityBoundary {
            nonStiffSteps = 0
            stiffSteps += 1
            if stiffSteps >= 15 { isStiff = true }
        } else {
            nonStiffSteps += 1
            if nonStiffSteps >= 6 { stiffSteps = 0 }
        }
    }

    func interpolate(at time: Double, into out: inout [Double]) {
        let theta = (time - stepStartTime) / stepSize
        method.denseWeights(theta, &weights)
        let n = self.n, s = method.stages
        // The stages of the last step: its first is kept aside (k[0] already holds f at its end).
        out.withUnsafeMutableBufferPointer { o in
            k.withUnsafeBufferPointer { kp in
                for j in 0..<n { o[j] = stepStart[j] + stepSize * weights[0] * stepStartDerivative[j] }
                for m in 1..<s where weights[m] != 0 {
                    let coefficient = stepSize * weights[m], km = kp.baseAddress! + m * n
                    for j in 0..<n { o[j] += coefficient * km[j] }
                }
            }
        }
    }
}
