/// One integration: drives a stepping session over the output grid, checks every accepted state,
/// applies the stopping rule and the step limits, and records the solution.
struct Run {
    let system: ODESystem
    let method: any SteppingMethod
    let t0: Double
    let y0: [Double]
    let options: ODEOptions
    /// Output times (nil: record every accepted step).
    let grid: [Double]?
    let stop: ((Double, [Double]) -> StopDecision?)?

    func execute() throws -> ODESolution {
        let end = options.endTime
        var h = options.initialStep ?? 1e-6 * (end - t0)
        if let hmax = options.maximumStep { h = min(h, hmax) }
        var startOptions = options
        startOptions.initialStep = h

        var t = t0
        var y = y0
        var previous = y0  // last good state, for non-finite steps
        var times = [t0], states = [y0]
        var acceptedSteps = 0
        var nextGrid = 1
        var session: (any SteppingSession)?
        var interpolated = y0

        func snapshot(_ reason: StopReason) -> ODESolution {
            var stats = session?.statistics ?? ODEStatistics()
            stats.acceptedSteps = acceptedSteps
            stats.nextStepSize = h
            return ODESolution(times: times, states: states, stopReason: reason, statistics: stats,
                               phases: session?.phases ?? [StepperPhase(name: method.name, start: t0)])
        }
        func record(_ t: Double, _ y: [Double]) {
            if t > times[times.count - 1] { times.append(t); states.append(y) }
        }
        func failure(_ reason: ODEFailure.Reason, lastGood: (Double, [Double])) -> ODEFailure {
            record(lastGood.0, lastGood.1)
            return ODEFailure(reason: reason, partial: snapshot(.failed(reason)))
        }

        do {
            session = try method.start(system, t0: t0, y0: y0, options: startOptions)
        } catch let error as StepFailure {
            throw failure(error.reason, lastGood: (t0, y0))
        }
        let stepping = session!
        while true {
            if acceptedSteps >= options.maximumSteps {
                throw failure(.maximumStepsExceeded(options.maximumSteps), lastGood: (t, y))
            }
            let target = grid?[nextGrid] ?? end
            let start = t
            previous = y
            do {
                try stepping.step(t: &t, y: &y, h: &h, output: target, end: options.interpolateOutput ? end : target)
            } catch let error as StepFailure {
                throw failure(error.reason, lastGood: (start, previous))
            }
            acceptedSteps += 1
            if !y.allSatisfy(\.isFinite) || !t.isFinite {
                throw failure(.nonFiniteState(time: start), lastGood: (start, previous))
            }
            if let hmax = options.maximumStep { h = min(h, hmax) }

            var hitTarget = t == target
            if let grid, stepping.hasContinuousExtension, options.interpolateOutput {
                // Output times inside the step from the continuous extension; one at its end exactly.
                while nextGrid < grid.count && grid[nextGrid] < t {
                    stepping.interpolate(at: grid[nextGrid], into: &interpolated)
                    record(grid[nextGrid], interpolated)
                    nextGrid += 1
                }
                hitTarget = nextGrid < grid.count && grid[nextGrid] == t
            }
            if grid == nil || hitTarget { record(t, y) }
            if hitTarget { nextGrid += 1 }
            if t >= end { return snapshot(.reachedEndTime) }

            if !hitTarget && h < options.minimumStep {
                throw failure(.stepBelowMinimum(step: h, minimum: options.minimumStep, time: t),
                              lastGood: (t, y))
            }
            if let decision = stop?(t, y) {
                record(t, y)
                return snapshot(.predicate(decision))
            }
            // A safe point: the state is accepted and recorded up to t.
            if Interruption.requested(at: "flow") {
                throw failure(.interrupted(signal: Interruption.signalName, time: t), lastGood: (t, y))
            }
        }
    }
}
