import Foundation
import XCTest

/// Running the built `cotflow` as a user would, with a timeout, and checking its outputs.
enum Cotflow {
    struct Run {
        let arguments: [String]
        let status: Int32
        /// True when the process ended by a signal (a crash, or our timeout).
        let signaled: Bool
        let timedOut: Bool
        let stdout: String
        let stderr: String
        var seconds = 0.0
        var summary: String { "cotflow \(arguments.joined(separator: " ")) -> \(signaled ? "signal" : "exit") \(status)\(timedOut ? " (timed out)" : "")\nstderr: \(stderr.prefix(600))" }
    }

    /// The built executable, next to the test bundle.
    static var executable: URL {
        var dir = Bundle(for: HostileInputTests.self).bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("cotflow").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("cotflow")
    }

    /// Runs cotflow; `onStart` gets the child's PID (for signal tests); `limits` are shell
    /// commands run before it (`ulimit -v 1000000`).
    /// `stdoutPath` sends stdout to that file instead (`/dev/full`); `closedStderr` gives the child a
    /// pipe for stderr whose reading end is closed (as `2>&1 | head` leaves it).
    /// `program` names another executable built beside cotflow (an example: `exact-chain`).
    static func run(_ arguments: [String], timeout: TimeInterval = 30, environment: [String: String]? = nil,
                    directory: String? = nil, limits: String? = nil, stdoutPath: String? = nil, closedStderr: Bool = false,
                    program: String? = nil, onStart: ((Int32) -> Void)? = nil) throws -> Run {
        let process = Process()
        let executable = program.map { Self.executable.deletingLastPathComponent().appendingPathComponent($0) } ?? Self.executable
        if let limits {
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "\(limits) && exec \"$0\" \"$@\"", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        // Relative paths among hostile values ("0", "garbage") land in a temporary directory.
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? NSTemporaryDirectory())
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let outFile = temporaryPath("stdout"), errFile = temporaryPath("stderr")
        FileManager.default.createFile(atPath: outFile, contents: nil)
        FileManager.default.createFile(atPath: errFile, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outFile); try? FileManager.default.removeItem(atPath: errFile) }
        let out = FileHandle(forWritingAtPath: stdoutPath ?? outFile)!, err = FileHandle(forWritingAtPath: errFile)!
        process.standardOutput = out
        let pipe = Pipe()
        process.standardError = closedStderr ? pipe : err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        let started = Date()
        try process.run()
        if closedStderr {
            try pipe.fileHandleForReading.close()
            try pipe.fileHandleForWriting.close()
        }
        onStart?(process.processIdentifier)
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            done.wait()
        }
        try? out.close(); try? err.close()
        let stdout = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        return Run(arguments: arguments, status: process.terminationStatus,
                   signaled: process.terminationReason == .uncaughtSignal, timedOut: timedOut,
                   stdout: stdout, stderr: stderr, seconds: Date().timeIntervalSince(started))
    }

    /// Runs `arguments` and sends `signal` once the run says (in its `COTFLOW_READY_FILE`) that
    /// `phase` polls for a stop request: never after a fixed time.
    static func signalled(_ arguments: [String], signal: Int32, phase: String, timeout: TimeInterval = 120, environment: [String: String] = [:],
                          closedStderr: Bool = false, beforeSignal: (@Sendable (Int32) -> Void)? = nil) throws -> Run {
        let ready = temporaryPath("ready")
        defer { try? FileManager.default.removeItem(atPath: ready) }
        // The run may end on its own before the signal: `beforeSignal` is still waited for.
        let sent = DispatchSemaphore(value: 0)
        defer { _ = sent.wait(timeout: .now() + timeout) }
        return try run(arguments, timeout: timeout, environment: environment.merging(["COTFLOW_READY_FILE": ready]) { $1 }, closedStderr: closedStderr) { pid in
            DispatchQueue.global().async {
                defer { sent.signal() }
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline {
                    let lines = ((try? String(contentsOfFile: ready, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                    if lines.dropFirst().contains(phase) { break }
                    usleep(5000)
                }
                beforeSignal?(pid)
                kill(pid, signal)
            }
        }
    }

    static func temporaryPath(_ label: String) -> String {
        NSTemporaryDirectory() + "cotflow-hostile-\(label)-\(UUID().uuidString)"
    }

    static func temporaryDirectory(_ label: String = "dir") -> String {
        let path = temporaryPath(label)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Problems with the files in `directory`: a non-finite number in a CSV/TSV cell or a JSON
    /// number position, a JSON file that does not parse, or a temporary file left half-written.
    static func outputProblems(in directory: String) -> [String] {
        var problems: [String] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            if name.contains(".tmp") || name.hasPrefix(".") && !name.hasPrefix(".cotflow") { problems.append("\(name): temporary file left behind") }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if name.hasSuffix(".csv") || name.hasSuffix(".tsv") {
                let separator: Character = name.hasSuffix(".csv") ? "," : "\t"
                for (i, line) in text.split(separator: "\n").enumerated().dropFirst() {
                    for cell in line.split(separator: separator, omittingEmptySubsequences: false) {
                        let c = cell.trimmingCharacters(in: .whitespaces).lowercased()
                        // Sweep tables mark a metric that was not reached by an empty cell (notes/formats.md), never nan.
                        if ["nan", "inf", "-inf", "+inf", "infinity", "-infinity"].contains(c) {
                            problems.append("\(name): line \(i + 1) has the non-finite cell '\(cell)'")
                            break
                        }
                    }
                }
            } else if name.hasSuffix(".json") {
                if (try? JSONSerialization.jsonObject(with: Data(text.utf8))) == nil { problems.append("\(name): not valid JSON") }
                if text.range(of: #"(:|\[|,)\s*-?(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]) != nil {
                    problems.append("\(name): non-finite number")
                }
            }
        }
        return problems
    }

    /// A non-finite number printed as a result on stdout.
    static func nonFiniteInReport(_ text: String) -> String? {
        guard let r = text.range(of: #"(^|[\s=(:,\[])[-+]?(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]) else { return nil }
        return String(text[r])
    }
}

/// Runs `body` over `items` with `width` at a time.
func concurrently<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) -> Void) {
    let semaphore = DispatchSemaphore(value: width)
    let group = DispatchGroup()
    let queue = DispatchQueue(label: "hostile", attributes: .concurrent)
    for item in items {
        semaphore.wait()
        queue.async(group: group) {
            body(item)
            semaphore.signal()
        }
    }
    group.wait()
}
