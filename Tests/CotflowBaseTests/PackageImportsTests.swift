import Foundation
import XCTest

/// Package.swift declares every module each target imports (no reliance on a transitive
/// dependency), and no target imports the retired CotflowSupport (notes/architecture.md).
final class PackageImportsTests: XCTestCase {
    /// The repository root, from this file's path (Tests/CotflowBaseTests/...).
    private var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Modules that come with the toolchain or the system, not from Package.swift.
    private static let system: Set<String> = ["Foundation", "XCTest", "Dispatch", "Synchronization", "Glibc", "Darwin"]
    /// Package.swift's names for the products of other packages.
    private static let products = ["bigInt": "BigInt", "argumentParser": "ArgumentParser"]

    /// name -> (source directory, declared dependencies), read from Package.swift's target list.
    private func targets() throws -> [String: (path: String, dependencies: Set<String>)] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let quoted = try NSRegularExpression(pattern: #""([^"]+)""#)
        func strings(_ s: String) -> [String] {
            quoted.matches(in: s, range: NSRange(s.startIndex..., in: s)).map { String(s[Range($0.range(at: 1), in: s)!]) }
        }
        var library: Set<String> = []
        if let r = manifest.range(of: "let libraryModules = ["), let end = manifest[r.upperBound...].firstIndex(of: "]") {
            library = Set(strings(String(manifest[r.upperBound..<end])))
        }
        var result: [String: (path: String, dependencies: Set<String>)] = [:]
        let kinds = [".target(", ".executableTarget(", ".testTarget("]
        var rest = Substring(manifest)
        while let start = kinds.compactMap({ rest.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            // The call's text up to its balanced closing parenthesis.
            var depth = 1, i = start.upperBound
            while i < rest.endIndex, depth > 0 {
                if rest[i] == "(" { depth += 1 } else if rest[i] == ")" { depth -= 1 }
                i = rest.index(after: i)
            }
            let call = String(rest[start.lowerBound..<i])
            rest = rest[i...]
            guard let name = strings(call).first else { continue }
            var dependencies: Set<String> = []
            if let d = call.range(of: "dependencies:") {
                let text = String(call[d.upperBound...]).components(separatedBy: "path:")[0]
                dependencies = Set(strings(text))
                for (variable, product) in Self.products where text.contains(variable) { dependencies.insert(product) }
                if text.contains("libraryModules.map") { dependencies.formUnion(library) }
            }
            let kind = call.hasPrefix(".testTarget") ? "Tests" : "Sources"
            let path = call.range(of: #"path: "([^"]+)""#, options: .regularExpression).map { String(call[$0].dropFirst(7).dropLast()) } ?? "\(kind)/\(name)"
            result[name] = (path, dependencies)
        }
        return result
    }

    func testEveryImportIsDeclared() throws {
        let all = try targets()
        XCTAssertGreaterThan(all.count, 20, "Package.swift's targets were not read")
        var problems: [String] = []
        for (name, target) in all.sorted(by: { $0.key < $1.key }) {
            let dir = root.appendingPathComponent(target.path)
            let files = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".swift") }
            for file in files {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.hasPrefix("@testable import ") || line.hasPrefix("@_exported import ") {
                    let module = String(line.split(separator: " ").last!)
                    if Self.system.contains(module) || target.dependencies.contains(module) { continue }
                    problems.append("\(target.path)/\(file) imports \(module), not a dependency of \(name) in Package.swift")
                }
            }
        }
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }
}
