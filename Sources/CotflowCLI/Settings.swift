import CotflowCore
import Foundation

extension OutputOptions {
    /// Writes a summary's JSON as `name` in --out.
    func write(summary object: JSONValue, _ name: String = "summary.json") throws { try write(object.rendered() + "\n", name) }
}

/// Prints `cotflow: warning: text` on stderr.
func warn(_ text: String) {
    FileHandle.standardError.write("cotflow: warning: \(text)\n".data(using: .utf8)!)
}
