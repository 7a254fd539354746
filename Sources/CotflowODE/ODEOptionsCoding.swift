// The integration settings are part of a recorded run (summary.json's `run`).
extension Stepper: Codable {}
