import Foundation

// Benchmarks are run in release builds only: `swift run -c release cotflow-bench [training|exact|flow|full-flow|full-flow-rkf45|full-flow-rhs|all]`;
// `cotflow-bench training-step d n k batch seconds` runs one size of the training step alone (for profiles);
// `cotflow-bench full-flow-prompts d n count seed path` writes the full flow's prompts for the peer.
let which = CommandLine.arguments.dropFirst().first ?? "all"
switch which {
case "training": benchTraining()
case "exact": benchExact(); benchCovariance()
case "flow": benchFlow()
case "full-flow": benchFullFlow()
case "full-flow-rkf45": benchFullFlow(steppers: [.rkf45])
case "full-flow-rhs": benchFullFlowRightHandSide()
case "full-flow-prompts": writeFullFlowPrompts(Array(CommandLine.arguments.dropFirst(2)))
case "training-step": benchTrainingStep(Array(CommandLine.arguments.dropFirst(2)))
case "all": benchTraining(); benchExact(); benchCovariance(); benchFlow(); benchFullFlow()
default:
    FileHandle.standardError.write("usage: cotflow-bench [training|exact|flow|full-flow|full-flow-rkf45|full-flow-rhs|all] | training-step d n k batch seconds | full-flow-prompts d n count seed path\n".data(using: .utf8)!)
    exit(2)
}
