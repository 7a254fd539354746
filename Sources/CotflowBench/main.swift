import Foundation

// Benchmarks are run in release builds only: `swift run -c release cotflow-bench [training|exact|flow|full-flow|full-flow-rkf45|full-flow-rhs|all]`.
let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "training": benchTraining()
case "exact": benchExact(); benchCovariance()
case "flow": benchFlow()
case "full-flow": benchFullFlow()
case "full-flow-rkf45": benchFullFlow(steppers: [.rkf45])
case "full-flow-rhs": benchFullFlowRightHandSide()
case "all": benchTraining(); benchExact(); benchCovariance(); benchFlow(); benchFullFlow()
default:
    FileHandle.standardError.write("usage: cotflow-bench [training|exact|flow|full-flow|full-flow-rkf45|full-flow-rhs|all]\n".data(using: .utf8)!)
    exit(2)
}
