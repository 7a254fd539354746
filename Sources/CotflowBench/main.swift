import Foundation

// Benchmarks are run in release builds only: `swift run -c release cotflow-bench [training|exact|flow|full-flow|all]`.
let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "training": benchTraining()
case "exact": benchExact()
case "flow": benchFlow()
case "full-flow": benchFullFlow()
case "all": benchTraining(); benchExact(); benchFlow(); benchFullFlow()
default:
    FileHandle.standardError.write("usage: cotflow-bench [training|exact|flow|full-flow|all]\n".data(using: .utf8)!)
    exit(2)
}
