import Foundation

/// Compact number formatting for human-readable output.
public func fmt(_ x: Double) -> String {
    if !x.isFinite { return "\(x)" }
    if x != 0 && (abs(x) < 1e-3 || abs(x) >= 1e6) { return String(format: "%.4e", x) }
    return String(format: "%.6g", x)
}
