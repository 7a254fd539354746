import CotflowIO
import Foundation

/// One line of the protocol between `runSweep`'s process path and its workers: the parent sends
/// `point`, the worker answers `record` (or `interrupted`, and then stops). Metrics travel as IEEE
/// bit patterns in hex, so every double (NaN payloads included) arrives exactly; text travels as a
/// JSON string, so that a message is one line whatever the text holds.
public enum SweepWorkerMessage: Sendable {
    case point(Int)
    case record(index: Int, metrics: [Double], status: String)
    case interrupted(String)

    public var line: String {
        switch self {
        case .point(let index):
            return "point \(index)"
        case .record(let index, let metrics, let status):
            let bits = metrics.isEmpty ? "-" : metrics.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
            return "record \(index) \(bits) \(JSONValue.string(status).rendered())"
        case .interrupted(let reason):
            return "interrupted \(JSONValue.string(reason).rendered())"
        }
    }

    public init(line: String) throws {
        func bad() -> CotflowError { CotflowError("sweep worker protocol: bad message '\(line.prefix(200))'") }
        func text(_ json: String) throws -> String {
            guard let text = (try? JSONReader.parse(json))?.stringValue else { throw bad() }
            return text
        }
        let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "point":
            guard fields.count == 2, let index = Int(fields[1]), index >= 0 else { throw bad() }
            self = .point(index)
        case "record":
            guard fields.count == 4, let index = Int(fields[1]), index >= 0 else { throw bad() }
            var metrics: [Double] = []
            if fields[2] != "-" {
                for hex in fields[2].split(separator: ",", omittingEmptySubsequences: false) {
                    guard let bits = UInt64(hex, radix: 16) else { throw bad() }
                    metrics.append(Double(bitPattern: bits))
                }
            }
            self = .record(index: index, metrics: metrics, status: try text(fields[3]))
        case "interrupted":
            self = .interrupted(try text(String(line.dropFirst("interrupted ".count))))
        default:
            throw bad()
        }
    }
}

/// Lines read from a file descriptor (blocking `read`); nil at the end of input.
final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(fd: Int32) { self.fd = fd }

    func next() throws -> String? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[start..<newline], as: UTF8.self)
                start = newline + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return String(decoding: buffer[start...], as: UTF8.self)
            }
            buffer.removeFirst(start)
            start = 0
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CotflowError("read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { atEnd = true } else { buffer += chunk[0..<n] }
        }
    }
}

/// Writes `line` and a newline to `fd`; false when the reader is gone (EPIPE) or the write failed.
@discardableResult
func writeLine(_ line: String, to fd: Int32) -> Bool {
    let bytes = Array((line + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return false }
        written += n
    }
    return true
}

/// The worker side of `runSweep`'s process path (see `SweepWorkers`): reads `point` lines from
/// standard input, computes each point with `run` exactly as a serial sweep does (a throwing point
/// is answered as the record of a failed point), and answers one line per point on standard
/// output. Anything else the process prints goes to standard error. Returns at the end of input,
/// or after answering `interrupted` (`run` threw `SweepInterrupted` or `CancellationError`); exits
/// at once when the process `parent` is gone, so that a worker never outlives its sweep.
public func serveSweepPoints(grid: SweepGrid, metricNames: [String], parent: Int32,
                             run: (SweepPoint) throws -> [String: Double]) throws {
    // The protocol keeps the real standard output; stray prints go to standard error.
    fflush(nil)
    let answers = dup(STDOUT_FILENO)
    guard answers >= 0, dup2(STDERR_FILENO, STDOUT_FILENO) >= 0 else {
        throw CotflowError("sweep worker: cannot set up standard output: \(String(cString: strerror(errno)))")
    }
    let watcher = Thread {
        while getppid() == parent { usleep(200_000) }
        _exit(3)
    }
    watcher.start()
    let input = LineReader(fd: STDIN_FILENO)
    while let line = try input.next() {
        guard case .point(let index) = try SweepWorkerMessage(line: line), index < grid.count else {
            throw CotflowError("sweep worker: expected a point of the grid, got '\(line.prefix(200))'")
        }
        let answer: SweepWorkerMessage
        do {
            let record = try pointRecord(grid.point(index), metricNames: metricNames, run: run)
            answer = .record(index: index, metrics: record.metrics, status: record.status)
        } catch let error as SweepInterrupted {
            answer = .interrupted(error.reason)
        } catch is CancellationError {
            answer = .interrupted("cancelled")
        }
        guard writeLine(answer.line, to: answers) else { throw CotflowError("sweep worker: the sweep stopped reading") }
        if case .interrupted = answer { return }
    }
}

/// How `runSweep` starts a worker process: `executable` with `arguments`, which must end up in
/// `serveSweepPoints` for the same grid, metrics and point function.
public struct SweepWorkerCommand: Sendable {
    public let executable: String
    public let arguments: [String]
    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// A running worker process of a shard.
final class WorkerProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private let answers: LineReader
    private var closed = false

    init(_ command: SweepWorkerCommand) throws {
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        process.standardInput = input
        process.standardOutput = output
        // Foundation closes the child's ends here after the spawn, and every other descriptor in the child.
        try process.run()
        answers = LineReader(fd: output.fileHandleForReading.fileDescriptor)
    }

    var pid: Int32 { process.processIdentifier }

    /// Runs `point` in the worker: its record, or `SweepInterrupted`; an error naming the point
    /// when the worker died or answered something else.
    func compute(_ point: SweepPoint, metricNames: [String]) throws -> SweepRecord {
        func died(_ what: String) -> CotflowError {
            CotflowError("sweep worker process \(pid) \(what) while running point \(point.index) (\(point.label))")
        }
        guard writeLine(SweepWorkerMessage.point(point.index).line, to: input.fileHandleForWriting.fileDescriptor), let line = try answers.next() else {
            let end = endDescription()
            // Killed by the signal passed on to it (before its handler was installed): an interruption.
            if let sig = Interruption.signalNumber, !process.isRunning, process.terminationReason == .uncaughtSignal, process.terminationStatus == sig {
                throw SweepInterrupted("\(Interruption.signalName) received")
            }
            throw died(end)
        }
        switch try SweepWorkerMessage(line: line) {
        case .record(let index, let metrics, let status) where index == point.index && metrics.count == metricNames.count:
            return SweepRecord(index: index, values: point.values, metrics: metrics, status: status)
        case .interrupted(let reason):
            throw SweepInterrupted(reason)
        default:
            throw died("answered '\(line.prefix(200))'")
        }
    }

    /// How the worker ended, after its output closed.
    private func endDescription() -> String {
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { return "stopped answering" }
        if process.terminationReason == .uncaughtSignal {
            let name = strsignal(process.terminationStatus).map { String(cString: $0) } ?? "signal \(process.terminationStatus)"
            return "died (killed by signal \(process.terminationStatus), \(name))"
        }
        return "died (exit status \(process.terminationStatus))"
    }

    func signal(_ sig: Int32) {
        if process.isRunning { kill(pid, sig) }
    }

    /// Ends the worker: closes its input (an idle worker then exits) and waits, killing it after `grace` seconds.
    func finish(grace: TimeInterval = 5) {
        guard !closed else { return }
        closed = true
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        try? output.fileHandleForReading.close()
    }
}
