import Foundation
import Synchronization

// Shared guards of the CLI and library: error text, size limits, output directories, signals.
// What each guards and what is not yet guarded: notes/reliability.md.

/// A Foundation or system error in words (never "NSCocoaErrorDomain error 512").
public func describe(_ error: Error) -> String {
    if let e = error as? ReportableError { return e.description }
    // It bridges to NSCocoaErrorDomain ("system error 4864"); its own text names the key path and type.
    if let e = error as? DecodingError { return String(describing: e) }
    let ns = error as NSError
    // A Swift error of this project or a library says itself what went wrong.
    if ns.domain != NSCocoaErrorDomain, ns.domain != NSPOSIXErrorDomain { return String(describing: error) }
    var reason: String?
    if ns.domain == NSCocoaErrorDomain {
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: reason = "no such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: reason = "permission denied"
        case NSFileWriteOutOfSpaceError: reason = "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: reason = "the file system is read-only"
        case NSFileReadCorruptFileError: reason = "the file is corrupt or not in the expected format"
        case NSFileReadInapplicableStringEncodingError: reason = "the file is not valid UTF-8 text"
        case NSFileWriteFileExistsError: reason = "a file is in the way"
        case NSFileReadUnknownError, NSFileWriteUnknownError: reason = nil
        default: reason = nil
        }
    }
    if reason == nil, let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        reason = String(cString: strerror(Int32(underlying.code)))
    }
    if reason == nil, ns.domain == NSPOSIXErrorDomain { reason = String(cString: strerror(Int32(ns.code))) }
    if let reason { return reason }
    let text = ns.localizedDescription
    // Foundation's fallback text names only the domain and code; say what we know instead.
    if text.contains("NSCocoaErrorDomain") || text.contains("The operation could not be completed") {
        if let failure = ns.userInfo[NSLocalizedFailureReasonErrorKey] as? String { return failure }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error { return describe(underlying) }
        return ns.code >= NSFileWriteUnknownError && ns.code <= 699 ? "the file could not be written (file system error \(ns.code))"
            : ns.code >= 256 && ns.code < 512 ? "the file could not be read (file system error \(ns.code))" : "system error \(ns.code)"
    }
    return text
}

/// Sizes that decide memory: checked before allocation against a stated limit.
package enum ResourceLimit {
    /// The environment variable that overrides the memory limit (bytes, or with a suffix K, M, G, T).
    public static let environmentKey = "COTFLOW_MEMORY_LIMIT"

    /// The memory a run may plan for: `COTFLOW_MEMORY_LIMIT` if set, else 80% of physical memory.
    public static var memoryBytes: Double {
        if let text = ProcessInfo.processInfo.environment[environmentKey], let value = parseBytes(text) { return value }
        return 0.8 * Double(ProcessInfo.processInfo.physicalMemory)
    }

    static func parseBytes(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Double)] = [("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)]
        for (suffix, scale) in units where t.hasSuffix(suffix) || t.hasSuffix(suffix + "B") {
            let number = t.hasSuffix("B") ? t.dropLast(2) : t.dropLast(1)
            guard let x = Double(number), x.isFinite, x > 0 else { return nil }
            return x * scale
        }
        guard let x = Double(t), x.isFinite, x > 0 else { return nil }
        return x
    }

    /// Human-readable bytes.
    public static func bytesText(_ bytes: Double) -> String {
        for (unit, scale) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] where bytes >= scale {
            return String(format: "%.3g %@", bytes / scale, unit)
        }
        return String(format: "%.0f bytes", bytes)
    }

    /// Throws an input error when `bytes` (an estimate, computed in floating point so that it
    /// cannot overflow) is above the memory limit. `what` names the options that set the size.
    /// `blas`: the run calls BLAS or LAPACK, whose OpenBLAS needs room for its buffers under an
    /// address-space limit (`checkAddressSpace`).
    public static func checkMemory(_ bytes: Double, what: String, blas: Bool = true) throws {
        let limit = memoryBytes
        guard bytes.isFinite, bytes <= limit else {
            throw CotflowError.input("\(what) needs about \(bytesText(bytes)) of memory, above the limit of \(bytesText(limit)) "
                + "(80% of this machine's memory unless \(environmentKey) is set); use smaller values, or set "
                + "\(environmentKey)=<bytes> to go past the limit on a larger machine")
        }
        try checkAddressSpace(bytes, what: what, blas: blas)
    }

    /// OpenBLAS maps a buffer of 128 MB (its build's BUFFER_SIZE, 32 << 22 bytes) for each thread
    /// inside a BLAS call, and when the mapping fails it retries for ever: under an address-space
    /// limit (`ulimit -v`) too small for it a run spins at full CPU instead of failing.
    static let blasBufferBytes = Double(32 << 22)
    /// Address space each computing thread may map besides its BLAS buffer: glibc's heap of a
    /// thread (64 MB reserved) and its stack.
    static let threadHeapBytes = Double(72 << 20)

    /// The address space this process may still map under its limit (RLIMIT_AS, `ulimit -v`):
    /// the limit less what is mapped now; nil without a limit.
    static var addressSpaceLeft: (left: Double, limit: Double)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        // /proc/self/statm: the mapped size in pages first.
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").first.flatMap { Double($0) } ?? 0
        let mapped = pages * Double(sysconf(Int32(_SC_PAGESIZE)))
        return (Double(limit.rlim_cur) - mapped, Double(limit.rlim_cur))
    }

    /// Throws an input error when the address-space limit leaves less than `bytes` plus, for a
    /// run that calls BLAS, a buffer and a heap for each computing thread (`blasBufferBytes`):
    /// OpenBLAS would otherwise spin for ever on a mapping that cannot succeed.
    public static func checkAddressSpace(_ bytes: Double, what: String, blas: Bool = true) throws {
        guard let space = addressSpaceLeft else { return }
        let threads = Double(max(ProcessInfo.processInfo.activeProcessorCount, 1))
        let reserve = blas ? threads * (blasBufferBytes + threadHeapBytes) : 0
        guard bytes + reserve <= space.left else {
            let raise = (space.limit - space.left + bytes + reserve) / 1024
            throw CotflowError.input("\(what) needs about \(bytesText(bytes + reserve)) of address space"
                + (blas ? " (\(bytesText(bytes)) of data, and \(bytesText(reserve)) for OpenBLAS's buffer and a heap on each of \(Int(threads)) threads)" : "")
                + ", but the address-space limit (ulimit -v \(Int(space.limit / 1024))) leaves this process \(bytesText(max(space.left, 0))); "
                + "raise it to at least ulimit -v \(Int(raise.rounded(.up))), or use smaller values")
        }
    }

    /// The environment variable that overrides the work limit (floating-point operations).
    public static let workEnvironmentKey = "COTFLOW_WORK_LIMIT"

    /// Work a run may plan for: `COTFLOW_WORK_LIMIT` if set, else 1e14 operations (its time on
    /// this machine: `WorkEstimate`, which every refusal quotes).
    public static var workOperations: Double {
        if let text = ProcessInfo.processInfo.environment[workEnvironmentKey], let value = parseBytes(text) { return value }
        return 1e14
    }

    /// The environment variable of an optional time limit (seconds of the estimate on this machine).
    public static let timeEnvironmentKey = "COTFLOW_TIME_LIMIT"

    /// The time a run may plan for: `COTFLOW_TIME_LIMIT` seconds if set, else none.
    public static var timeLimit: Double? {
        guard let text = ProcessInfo.processInfo.environment[timeEnvironmentKey], let x = Double(text), x.isFinite, x > 0 else { return nil }
        return x
    }

    /// Descriptors a run needs free besides its standard streams: libdispatch's event loop takes
    /// two at the first concurrent loop (and traps when it cannot), the output directory's lock
    /// one, and a file being written or read one.
    public static let descriptorsNeeded = 4

    /// Throws (a failed run: the limit is the machine's, not the input's) when fewer than
    /// `descriptorsNeeded` file descriptors can be opened (`ulimit -n`), or no thread can be
    /// started (`ulimit -u`: libdispatch retries a thread it cannot start for ever, so a run with
    /// none hung at its first concurrent loop; with one it runs); before any work.
    public static func checkProcessLimits() throws {
        try Subprocess.checkDescriptors(for: "the run (its threads and files need \(descriptorsNeeded) file descriptors)", needed: descriptorsNeeded)
        try Subprocess.checkThreads(for: "the run", needed: 1)
    }

    /// The reason of a failed write in words: `strerror`, and for EFBIG the file size limit
    /// (`ulimit -f`) that caused it.
    public static func writeFailure(_ code: Int32) -> String {
        let reason = String(cString: strerror(code))
        guard code == EFBIG else { return reason }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return reason }
        return "\(reason): the file size limit (ulimit -f) is \(bytesText(Double(limit.rlim_cur))); raise it"
    }

    /// Throws an input error when `value` is above `limit`; `reason` says what the limit protects.
    public static func check(_ value: Int, atMost limit: Int, option: String, reason: String) throws {
        guard value <= limit else {
            throw CotflowError.input("\(option) = \(value) is above the limit \(limit): \(reason)")
        }
    }
}

/// The command line as given: Swift decodes each argument from its bytes and replaces bytes that
/// are not UTF-8 by U+FFFD, so such a path would name another file (`--out $'a\xff'` wrote into
/// `a\u{FFFD}`, and `--load` would read another file). Every argument must be UTF-8.
package enum CommandLineText {
    /// Throws an input error naming the first argument (and its option) that is not UTF-8.
    package static func checkUTF8() throws {
        let arguments = CommandLine.arguments
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw)))
            guard Array(String(decoding: bytes, as: UTF8.self).utf8) != bytes else { continue }
            let shown = bytes.map { $0 >= 0x20 && $0 < 0x7f ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
            // The option it is the value of: `--out=VALUE`, or the argument before it.
            let inline = arguments[i].hasPrefix("--") ? arguments[i].split(separator: "=", maxSplits: 1).first.map(String.init) : nil
            let after = inline == nil && i > 1 && arguments[i - 1].hasPrefix("-") ? ", after \(arguments[i - 1])," : ""
            throw CotflowError.input("argument \(i) (\(shown))\(after)" + (inline.map { " of \($0)" } ?? "")
                + " is not UTF-8 text; cotflow reads every path and value as UTF-8: rename the file or directory")
        }
    }
}

/// The one signal policy of every command: SIGINT, SIGTERM, SIGHUP (a dropped ssh session),
/// SIGQUIT (Ctrl-\: Swift's runtime printed "Program crashed" and the run went on), SIGXCPU (a
/// soft CPU-time limit) and SIGUSR1, SIGUSR2 (a batch system's warning before its time limit,
/// `sbatch --signal`) are a request to stop; SIGPIPE is ignored, so a closed stdout or stderr gives
/// a write error, never the end of a run (`StandardStreams`).
///
/// A run that can stop early polls `requested` at its safe points (a training step, an ODE step,
/// a sweep point) and writes what it computed, marked interrupted. Until something has polled, a
/// signal ends the process at once (the default action): a command with no safe point (a short
/// exact computation) is never left running after Ctrl-C. A second signal also ends it at once.
/// `COTFLOW_READY_FILE`, if set, names a file that lists the phases ("training", "flow", "sweep")
/// that have polled so far: the run is under way there and a signal will be handled (what scripts
/// and tests wait for before they send one).
package enum Interruption {
    private static let received = Atomic<Int32>(0)
    private static let polled = Atomic<Bool>(false)
    private static let installed = Atomic<Bool>(false)
    /// The environment variable naming the file created when the run first polls.
    public static let readyFileKey = "COTFLOW_READY_FILE"

    /// Installs the handlers (idempotent).
    public static func install() {
        guard installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        signal(SIGPIPE, SIG_IGN)
        ignoreFileSizeSignal()
        for sig in stopSignals {
            signal(sig) { s in
                Interruption.received.store(s, ordering: .relaxed)
                signal(s, SIG_DFL)
                // Nothing polls yet: nothing would stop, so the signal ends the process now.
                if !Interruption.polled.load(ordering: .relaxed) { raise(s) }
            }
        }
    }

    /// True once `install` has run in this process (tests of the start's signal handling).
    package static var isInstalled: Bool { installed.load(ordering: .relaxed) }

    /// The signals that request a stop.
    public static let stopSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXCPU, SIGUSR1, SIGUSR2]

    /// Beyond the file size limit (`ulimit -f`) a write fails with EFBIG (the writer says so and
    /// removes its temporary file) instead of SIGXFSZ ending the process with a half-written file.
    public static func ignoreFileSizeSignal() { signal(SIGXFSZ, SIG_IGN) }

    /// The signal received, if any.
    public static var signalNumber: Int32? {
        let s = received.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }

    /// True once a stop was requested; reading it marks the run as one that stops at safe points.
    public static var requested: Bool { requested(at: nil) }

    /// `requested`, polled at a safe point of `phase` ("training", "flow", "sweep"): the first poll
    /// of each phase is announced in the ready file.
    public static func requested(at phase: String?) -> Bool {
        if !polled.load(ordering: .relaxed) { polled.store(true, ordering: .relaxed) }
        if let phase, readyFile != nil { announce(phase) }
        return signalNumber != nil
    }

    private static let readyFile: String? = {
        guard let path = ProcessInfo.processInfo.environment[readyFileKey], !path.isEmpty else { return nil }
        return path
    }()
    private static let announced = Mutex<[String]>([])

    /// Rewrites the ready file with every phase polled so far, one a line (the pid first).
    private static func announce(_ phase: String) {
        guard let path = readyFile else { return }
        announced.withLock { phases in
            guard !phases.contains(phase) else { return }
            phases.append(phase)
            try? FileOutput.write(([String(getpid())] + phases).joined(separator: "\n") + "\n", to: path, sync: false)
        }
    }

    /// "SIGINT", "SIGTERM", ... (`stopSignals`).
    public static var signalName: String {
        switch signalNumber {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGQUIT: return "SIGQUIT"
        case SIGXCPU: return "SIGXCPU"
        case SIGUSR1: return "SIGUSR1"
        case SIGUSR2: return "SIGUSR2"
        case let s?: return "signal \(s)"
        case nil: return "no signal"
        }
    }
}

/// The output directory of a run: locked for the run, checked writable, and free of another
/// run's files, before any work.
package enum OutputDirectory {
    /// The lock file every run holds in its output directory (`flock`, released when the process ends).
    public static let lockName = ".cotflow.lock"

    /// Every file a cotflow run may write into its output directory, besides the files of a sweep
    /// shard (`shard-*`, `summary-shard-*`), which shards of one sweep share the directory with:
    /// `--force` removes these so that no earlier run's file (a figure of a run with `--plot`)
    /// stays beside the new outputs.
    public static let runFiles: [String] = [
        "summary.json", "trajectory.csv", "parameters.json", "initial_parameters.json", "per_prompt.csv",
        "comparison.csv", "ode_trajectory.csv", "full_flow_trajectory.csv", "train_full_trajectory.csv",
        "train_reduced_trajectory.csv", "stages.csv", "change_point_stages.csv", "mechanistic_stages.csv", "stages.json", "eigenvalues.csv",
        "sweep.tsv", "sweep.json", "report.txt", "report.json",
    ] + ["figure", "comparison", "stages", "sweep_plot"].flatMap { base in
        [".svg", ".png", ".gp", ".tsv", "_data.csv"].map { base + $0 }
    }

    /// Creates `path` if missing, locks it for this run and checks that it can be written. Unless
    /// `force`, refuses when it already holds any of `files` (another run's outputs: writing would
    /// mix or overwrite them); with `force` those files and every other run file (`runFiles`) are
    /// removed first, so that old and new outputs never mix.
    ///
    /// The lock: a second run into the same directory is refused (naming the holder's pid) while
    /// this process lives. `shard` (a sweep shard's file stem) shares the directory with the other
    /// shards of its sweep and excludes only another run of the same shard.
    public static func prepare(_ path: String, files: [String], force: Bool, option: String = "--out", shard: String? = nil) throws {
        guard !path.isEmpty else { throw CotflowError.input("\(option) is empty; give a directory") }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CotflowError.input("\(option) \(path) is a file, not a directory") }
        } else {
            // The nearest existing ancestor says why a directory cannot be made there.
            var ancestor = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
            while ancestor.path != "/", !fm.fileExists(atPath: ancestor.path) { ancestor = ancestor.deletingLastPathComponent() }
            var ancestorIsDirectory: ObjCBool = false
            if fm.fileExists(atPath: ancestor.path, isDirectory: &ancestorIsDirectory), !ancestorIsDirectory.boolValue {
                throw CotflowError.input("\(option) \(path): cannot create the directory because \(ancestor.path) is a file")
            }
            if !fm.isWritableFile(atPath: ancestor.path) {
                throw CotflowError.input("\(option) \(path): cannot create the directory because \(ancestor.path) is not writable")
            }
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw CotflowError.input("\(option) \(path): cannot create the directory: \(describe(error))")
            }
        }
        if let shard {
            try lock(path, name: lockName, exclusive: false, option: option)
            try lock(path, name: ".cotflow-\(shard).lock", exclusive: true, option: option)
        } else {
            try lock(path, name: lockName, exclusive: true, option: option)
        }
        // A probe file made as `FileOutput` makes its temporaries (exclusively, never through a symlink).
        let probe = (path as NSString).appendingPathComponent(".cotflow-write-check-\(getpid())-\(UInt32.random(in: .min ... .max))")
        let probeFD = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard probeFD >= 0 else {
            let code = errno
            guard code == EACCES || code == EROFS || code == EPERM else {
                throw CotflowError("\(option) \(path): cannot create a file in the directory: \(String(cString: strerror(code)))")
            }
            throw CotflowError.input("\(option) \(path): the directory is not writable (\(String(cString: strerror(code)))); choose another \(option)")
        }
        close(probeFD)
        unlink(probe)
        let present = files.filter { fm.fileExists(atPath: (path as NSString).appendingPathComponent($0)) }
        if force {
            // Remove the earlier runs' outputs so that none of them is left beside the new ones. A run
            // writes files: a directory of that name is the user's, never removed with its contents.
            let names = Set(present + runFiles).sorted()
            for name in names {
                var isDirectory: ObjCBool = false
                let file = (path as NSString).appendingPathComponent(name)
                if (try? fm.destinationOfSymbolicLink(atPath: file)) == nil, fm.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                    throw CotflowError.input("\(option) \(path): \(name) is a directory, not the file a run writes; --force removes files only: move it away or choose another \(option)")
                }
            }
            for name in names { try? fm.removeItem(atPath: (path as NSString).appendingPathComponent(name)) }
            return
        }
        guard present.isEmpty else {
            throw CotflowError.input("\(option) \(path) already holds the outputs of another run (\(present.joined(separator: ", "))); "
                + "choose an empty directory, or pass --force to overwrite them")
        }
    }

    /// Lock files this process holds, by path: kept open (and locked) until the process ends.
    private static let held = Mutex<[String: Int32]>([:])

    /// Throws when `directory` is an output directory this process locked whose lock file is no
    /// longer the one it holds: the directory was moved or removed while the run went on (and
    /// maybe another run prepared a new one at its path). A write there would recreate it unlocked
    /// or mix with that run's files; `FileOutput.write` checks before every file.
    package static func checkStillHeld(_ directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(lockName)
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let fd = held.withLock({ $0[key] }) else { return }
        var mine = stat(), there = stat()
        guard fstat(fd, &mine) == 0 else { return }
        guard lstat(path, &there) == 0, there.st_dev == mine.st_dev, there.st_ino == mine.st_ino else {
            throw CotflowError("\(directory) is no longer the output directory this run locked: it was moved or removed while the run went on; "
                + "nothing more is written there (the run's files would be recreated at that path beside whatever is there now)")
        }
    }

    /// Removes `directory`, which this run made, when it holds nothing but its lock (the run was
    /// refused before writing anything), and releases the lock.
    package static func removeUnused(_ directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory), names.allSatisfy({ $0 == lockName }) else { return }
        let path = (directory as NSString).appendingPathComponent(lockName)
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        held.withLock { held in
            if let fd = held.removeValue(forKey: key) { close(fd) }
        }
        unlink(path)
        rmdir(directory)
    }

    /// Holds the lock of `directory`, a run's output directory that this process reads (`rerun`),
    /// shared for the life of the process: a run into it, which takes the lock exclusively, is
    /// refused meanwhile, so that what is read and compared is one run's files. Throws naming the
    /// pid of a run writing into it. A directory this user cannot write is read without the lock
    /// when it has no lock file to take.
    public static func lockForReading(_ directory: String) throws {
        try lock(directory, exclusive: false, option: "", reading: true)
    }

    /// Takes the lock file `name` in `directory` (exclusive or shared), or throws naming the pid
    /// that holds it. The file holds the pid of the last process that took it. A lock this process
    /// already holds is kept (a run that solves another into a directory twice). `reading`: see
    /// `lockForReading`.
    public static func lock(_ directory: String, name: String = lockName, exclusive: Bool = true, option: String = "--out", reading: Bool = false) throws {
        let path = (directory as NSString).appendingPathComponent(name)
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        try held.withLock { held in
            if held[key] != nil { return }
            var fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            let writable = fd >= 0
            if fd < 0, reading {
                // A directory this user cannot write (or a full device): its lock file, if any, is still taken.
                fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                if fd < 0 { return }
            }
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                if errno == EACCES || errno == EROFS || errno == EPERM {
                    throw CotflowError.input("\(option) \(directory): the directory is not writable (\(reason)); choose another \(option)")
                }
                // Out of descriptors (`ulimit -n`) is the machine's limit, not a bad --out.
                if errno == EMFILE || errno == ENFILE { throw CotflowError("\(option) \(directory): cannot open the lock file \(name): \(reason)") }
                throw CotflowError.input("\(option) \(directory): cannot create the lock file \(name): \(reason)")
            }
            guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                let reason = String(cString: strerror(errno))
                var buffer = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buffer, buffer.count, 0)
                close(fd)
                let named = reading ? directory : "\(option) \(directory)"
                guard busy else { throw CotflowError.input("\(named): cannot lock \(name): \(reason)") }
                let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
                let holder = Int(pid) != nil ? " (pid \(pid))" : ""
                if reading { throw CotflowError.input("\(directory) is being written by another cotflow run\(holder); wait for it to end") }
                throw CotflowError.input("\(named) is in use by another cotflow run\(holder); wait for it to end, or choose another \(option)")
            }
            // Written only now: the lock is ours (a reader's pid at best effort).
            let text = Array("\(getpid())\n".utf8)
            if reading {
                if writable, ftruncate(fd, 0) == 0 { _ = pwrite(fd, text, text.count, 0) }
                held[key] = fd
                return
            }
            guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.count, 0) == text.count else {
                let code = errno, reason = ResourceLimit.writeFailure(code)
                close(fd)
                // A full device or the file size limit is the machine's, not a bad --out.
                if code == EFBIG || code == ENOSPC || code == EDQUOT { throw CotflowError("\(option) \(directory): cannot write the lock file \(name): \(reason)") }
                throw CotflowError.input("\(option) \(directory): the directory is not writable (\(reason)); choose another \(option)")
            }
            held[key] = fd
        }
    }
}
