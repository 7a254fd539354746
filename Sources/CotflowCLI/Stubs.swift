import ArgumentParser
struct TrainCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "train") }
struct EvalCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "eval") }
