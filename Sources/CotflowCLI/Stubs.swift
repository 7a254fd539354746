import ArgumentParser
struct TrainCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "train") }
struct EvalCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "eval") }
struct ExactCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "exact") }
struct ODECommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "ode") }
