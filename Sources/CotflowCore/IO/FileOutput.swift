import CGSL
import Foundation

/// The one way the tool writes a file: into a temporary file created exclusively (never through
/// a symlink or an existing file) under an unpredictable name in the target's directory, flushed
/// to disk, then renamed over the target, which holds its old or its new content, never a mix,
/// whenever the process stops. A symlink planted at the target is replaced, not followed. Into an
/// output directory the run locked, only while it is still that directory (not moved or removed:
/// `OutputDirectory.checkStillHeld`).
package enum FileOutput {
    /// Writes `text` to `path`, creating parent directories. `sync` flushes the data to disk
    /// before the rename (so the file also survives a machine crash); `mode` is the new file's
    /// permissions (before the umask).
    package static func write(_ text: String, to path: String, sync: Bool = true, mode: mode_t = 0o644) throws {
        // Split at the last "/" by hand: Foundation's deletingLastPathComponent traps on a one-character name ("0").
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw CotflowError("cannot write \(path): it names a directory, not a file") }
        do { try OutputDirectory.checkStillHeld(directory) } catch { throw CotflowError("cannot write \(path): \(describe(error))") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CotflowError("cannot write \(path): \(describe(error))")
        }
        var temp = "", fd: Int32 = -1
        for _ in 0..<16 {
            temp = directory + "/.\(name).tmp-\(String(UInt64.random(in: .min ... .max), radix: 36))"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw CotflowError("cannot write \(path): cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))") }
        func failure(_ what: String) -> CotflowError {
            let reason = ResourceLimit.writeFailure(errno)
            unlink(temp)
            return CotflowError("cannot write \(path): \(what): \(reason)")
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { let e = failure("write failed"); close(fd); throw e }
            written += n
        }
        // An executable (a Slurm script) gets its mode as asked, as chmod would give it.
        if mode & 0o111 != 0 { _ = fchmod(fd, mode) }
        if sync, fsync(fd) != 0 { let e = failure("fsync failed"); close(fd); throw e }
        guard close(fd) == 0 else { throw failure("close failed") }
        guard rename(temp, path) == 0 else { throw failure("rename failed") }
    }

    /// True for a temporary file this writer makes (`.NAME.tmp-XXXX`), for cleaning up after a kill.
    package static func isTemporary(_ name: String, of target: String? = nil) -> Bool {
        guard name.hasPrefix("."), name.contains(".tmp-") else { return false }
        guard let target else { return true }
        return name.hasPrefix("." + target + ".tmp-")
    }
}

/// Writing to the standard streams without dying: SIGPIPE is ignored (`Interruption.install`), so
/// a closed stream gives an error here, never a signal; progress and error text on stderr are
/// best effort, while stdout carries results and its failure fails the run (`finishOutput`).
package enum StandardStreams {
    /// Writes `text` to stderr; a closed or full stderr is ignored (progress must never stop a run).
    package static func writeError(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            written += n
        }
    }

    /// Flushes stdout and throws when anything printed could not be written (a closed pipe, a full
    /// device), so that a run whose result was lost does not exit 0.
    package static func finishOutput() throws {
        let error = cot_stdout_finish()
        guard error == 0 else { throw CotflowError("cannot write the output to standard output: \(String(cString: strerror(error)))") }
    }
}

/// Before a subprocess starts: Foundation's `Process.run` traps (instead of throwing) when it
/// cannot get the file descriptors it needs, so they are checked first.
package enum Subprocess {
    /// Descriptors `Process.run` needs free (its pipes, the child's standard streams, a margin).
    package static let descriptorsNeeded = 16

    /// Throws, saying why, unless a subprocess can start: file descriptors (`checkDescriptors`)
    /// and a thread for Foundation's process monitor and the child (`checkThreads`: short of them
    /// `Process.run` waits for ever).
    package static func checkCanStart(_ what: String) throws {
        try checkDescriptors(for: what)
        try checkThreads(for: what, needed: 2)
    }

    /// Throws, saying why, when fewer than `needed` threads can run at once besides this one
    /// (`ulimit -u` counts every thread and process of the user): they are started, held until
    /// all are, and joined.
    package static func checkThreads(for what: String, needed: Int) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        var threads: [pthread_t] = [], failure: Int32 = 0
        for _ in 0..<needed {
            var thread = pthread_t()
            // Each thread blocks reading the pipe until its writing end is closed.
            let rc = pthread_create(&thread, nil, { argument in
                var byte: UInt8 = 0
                _ = read(Int32(Int(bitPattern: argument) - 1), &byte, 1)
                return nil
            }, UnsafeMutableRawPointer(bitPattern: Int(fds[0]) + 1))
            guard rc == 0 else { failure = rc; break }
            threads.append(thread)
        }
        close(fds[1])
        for thread in threads { pthread_join(thread, nil) }
        close(fds[0])
        guard failure != 0 else { return }
        var limit = rlimit()
        getrlimit(Int32(__RLIMIT_NPROC.rawValue), &limit)
        throw CotflowError("cannot start \(what): it needs \(needed) more threads, and only \(threads.count) could be started "
            + "(\(String(cString: strerror(failure))); the limit of processes and threads of this user, ulimit -u, is \(limit.rlim_cur)); raise it and try again")
    }

    /// Throws, saying why, when fewer than `needed` file descriptors can still be opened.
    package static func checkDescriptors(for what: String, needed: Int = descriptorsNeeded) throws {
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        for _ in 0..<needed {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                var limit = rlimit()
                getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
                throw CotflowError("cannot start \(what): too few file descriptors left (\(reason); the limit, ulimit -n, is \(limit.rlim_cur)); raise it and try again")
            }
            opened.append(fd)
        }
    }
}
