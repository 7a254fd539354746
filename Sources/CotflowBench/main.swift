import Foundation

// Benchmarks are run in release builds only: `swift run -c release cotflow-bench [training|exact|flow|all]`.
let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "training": benchTraining()
case "exact": benchExact(); benchCovariance()
case "flow": benchFlow()
case "all": benchTraining(); benchExact(); benchCovariance(); benchFlow()
default:
    FileHandle.standardError.write("usage: cotflow-bench [training|exact|flow|all]\n".data(using: .utf8)!)
    exit(2)
}
