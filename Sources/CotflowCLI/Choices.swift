import ArgumentParser
import CotflowExperiments
import CotflowModel
import CotflowCore

// The library's enumerations as option values: help lists them and shell completion offers them.
// The conformances live here so that no library module depends on argument-parser.

extension Stepper: ExpressibleByArgument {}
extension TrainingObjective: ExpressibleByArgument {}
extension TrainableSet: ExpressibleByArgument {}
extension InitialisationKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
    public var defaultValueDescription: String { name }
}
extension Objective: ExpressibleByArgument {}
extension SweepJob: ExpressibleByArgument {}

/// `--grid` of `ode`: the kind of output grid (its points and first time come from other options).
enum GridKind: String, CaseIterable, ExpressibleByArgument {
    case log, linear, steps
}

/// `--w24` of `ode`: W24 held at its initial value or trained with V31 and W13.
enum W24Choice: String, CaseIterable, ExpressibleByArgument {
    case fixed, free
}

/// `--params` of `compare`: the trainable sets to run against the flow.
enum ComparedSets: String, CaseIterable, ExpressibleByArgument {
    case reduced, full, both

    var trainable: [TrainableSet] {
        switch self {
        case .reduced: return [.reduced]
        case .full: return [.full]
        case .both: return [.reduced, .full]
        }
    }
}
