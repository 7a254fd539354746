import CotflowExact
import CotflowCore
import CotflowModel
import Foundation
import XCTest

/// Runs `url` with `arguments`; the exit status and stdout and stderr together.
func runExecutable(_ url: URL, _ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// Examples/library-api, the program that uses the library directly: it runs, exits 0, and prints
/// the exact loss that `ReducedLoss` gives here, a converged flow and a completed training.
final class LibraryAPITests: XCTestCase {
    func testLibraryAPIExample() throws {
        var dir = Bundle(for: LibraryAPITests.self).bundleURL
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("library-api").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        let (status, text) = try runExecutable(dir.appendingPathComponent("library-api"), [])
        XCTAssertEqual(status, 0, text)

        let eta = paperStepSize(n: 10, d: 3)
        let v = Rational.parse("-0.5")!, w = Rational.parse("0.9")!
        let exact = try ReducedLoss(n: 10, d: 3, k: 3, eta: eta).exactLoss(v: [v, v, v], w: [w, w, w])
        XCTAssertTrue(text.contains("eta = \(eta): \(exact) = "), "exact loss \(exact) not printed:\n\(text)")
        XCTAssertTrue(text.contains("converged: true"), text)
        XCTAssertTrue(text.contains("SGD steps): completed;"), text)
        XCTAssertTrue(text.contains("library-api: done"), text)
    }

    /// Issue 24, item 10: `--help` prints what the program does and exits 0 without running it; an
    /// unknown option is refused with exit 64.
    func testLibraryAPIHelpDoesNotRunTheProgram() throws {
        var dir = Bundle(for: LibraryAPITests.self).bundleURL
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("library-api").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        let (status, text) = try runExecutable(dir.appendingPathComponent("library-api"), ["--help"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("USAGE: library-api"), text)
        XCTAssertFalse(text.contains("exact L_CoT") || text.contains("library-api: done"), text)
        let (bad, message) = try runExecutable(dir.appendingPathComponent("library-api"), ["--d", "4"])
        XCTAssertEqual(bad, 64, message)
        XCTAssertFalse(message.contains("exact L_CoT"), message)
    }
}
