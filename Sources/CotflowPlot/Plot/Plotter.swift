import CotflowCore
import Foundation

/// Plots through gnuplot: writes the data (`<base>.tsv`) and a self-contained script (`<base>.gp`),
/// then runs gnuplot, when it is installed, to draw `<base>.svg` and `<base>.png`.
public enum Plotter {
    /// How gnuplot is found and run; tests replace the search path or the executable.
    struct Options: Sendable {
        /// The PATH to search; nil means the process environment's PATH.
        var searchPath: String?
        /// An explicit executable, used instead of searching when set.
        var executable: String?
        /// Seconds before a running gnuplot is stopped.
        var timeout: TimeInterval = 30
    }

    /// gnuplot's path on PATH, or nil.
    public static func gnuplotPath() -> String? { gnuplotPath(searchPath: nil) }

    static func gnuplotPath(searchPath: String?) -> String? {
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let fm = FileManager.default
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = String(dir) + "/gnuplot"
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               fm.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// Writes `<base>.tsv` (one block per series, gnuplot `index` blocks with header comments) and
    /// `<base>.gp` (a script that reads the .tsv by relative path from its own directory and writes
    /// `<base>.svg` and `<base>.png`), then runs gnuplot in the output directory when it is available.
    ///
    /// A trailing `.svg`, `.png`, `.gp` or `.tsv` on `base` is ignored. Figures left by an earlier
    /// render at `base` are removed first, so that the files listed always match the data.
    /// Non-finite points, and non-positive values on a log axis, are dropped and counted in the message.
    /// When gnuplot is missing, fails or hangs (stopped after 30 s), the data and the script are still
    /// written and `rendered` is false; the message says why and how to render later.
    /// Throws `PlotError` (or a write error) for an unwritable path or an invalid spec (no series, x and y of
    /// different lengths, a shaded interval with a NaN bound or start after end).
    public static func render(_ spec: PlotSpec, to base: String) throws -> PlotOutcome {
        try render(panels: [spec], title: nil, to: base, options: Options())
    }

    /// Several panels stacked vertically in one figure under a common title; same files and rules.
    public static func render(panels: [PlotSpec], to base: String, title: String) throws -> PlotOutcome {
        try render(panels: panels, title: title, to: base, options: Options())
    }

    static func render(panels specs: [PlotSpec], title: String?, to base: String, options: Options) throws -> PlotOutcome {
        guard !specs.isEmpty else { throw PlotError.noPanels }
        let base = try normalisedBase(base)
        var panels: [PreparedPanel] = []
        for (i, spec) in specs.enumerated() {
            let name = specs.count == 1 ? "'\(spec.title)'" : "panel \(i + 1) ('\(spec.title)')"
            panels.append(try PreparedPanel(spec, name: name))
        }
        let stem = URL(fileURLWithPath: base).lastPathComponent
        let data = GnuplotScript.data(panels: &panels, title: title ?? specs[0].title)
        let script = GnuplotScript.script(panels: panels, title: title, dataName: stem + ".tsv", stem: stem)
        let notes = panels.enumerated().compactMap { i, panel in
            panel.notes(name: specs.count == 1 ? "'\(panel.spec.title)'" : "panel \(i + 1) ('\(panel.spec.title)')")
        }
        // The same points as one tidy CSV for pandas and friends (the .tsv is in gnuplot's block form).
        try writeText(tidyCSV(panels), to: base + "_data.csv")
        var outcome = try writeAndRender(data: data, script: script, base: base, notes: notes, options: options)
        outcome.files.append(base + "_data.csv")
        return outcome
    }

    /// One row per plotted point: `panel,panel_title,series,group,x,y,low,high` (low and high empty
    /// without a spread); text fields quoted as in RFC 4180. See notes/formats.md.
    static func tidyCSV(_ panels: [PreparedPanel]) -> String {
        func text(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var out = "panel,panel_title,series,group,x,y,low,high\n"
        for (p, panel) in panels.enumerated() {
            for series in panel.series {
                let prefix = "\(p + 1),\(text(panel.spec.title)),\(text(series.name)),\(text(series.keyName)),"
                for i in series.x.indices {
                    out += prefix + "\(series.x[i]),\(series.y[i]),"
                        + (series.low.map { "\($0[i])" } ?? "") + "," + (series.high.map { "\($0[i])" } ?? "") + "\n"
                }
            }
        }
        return out
    }

    /// Writes `<base>.tsv` and `<base>.gp`, runs gnuplot on the script (in its directory) and says
    /// what was written; without gnuplot, or when it fails, the data and script stay for later.
    static func writeAndRender(data: String, script: String, base: String, notes: [String], options: Options) throws -> PlotOutcome {
        let baseURL = URL(fileURLWithPath: base)
        let directory = baseURL.deletingLastPathComponent().path
        let stem = baseURL.lastPathComponent
        let dataPath = base + ".tsv", scriptPath = base + ".gp", svgPath = base + ".svg", pngPath = base + ".png"
        var notes = notes
        try writeText(data, to: dataPath)
        try writeText(script, to: scriptPath)
        for stale in [svgPath, pngPath] where FileManager.default.fileExists(atPath: stale) {
            do { try FileManager.default.removeItem(atPath: stale) } catch {
                throw PlotError.cannotReplace(path: stale, reason: error.localizedDescription)
            }
        }
        let written = "wrote \(dataPath) and \(scriptPath)"
        let later = "render later with: gnuplot \(shellQuote(scriptPath))"
        guard let gnuplot = options.executable ?? gnuplotPath(searchPath: options.searchPath) else {
            notes.insert("gnuplot was not found on PATH, so no figure was drawn; \(written); install gnuplot "
                + "(Debian: apt-get install gnuplot-nox) and \(later)", at: 0)
            return PlotOutcome(files: [dataPath, scriptPath], rendered: false, message: notes.joined(separator: "\n"))
        }

        // gnuplot opens its outputs by name and would follow a symlink planted there: it draws in a
        // private directory of ours (0700, named as FileOutput's temporaries), and the figures are
        // renamed into place, which replaces whatever is at the target instead of following it.
        let scratch = try privateDirectory(in: directory, for: stem)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try writeText(data, to: scratch + "/" + stem + ".tsv")
        try writeText(script, to: scratch + "/" + stem + ".gp")
        let run = runGnuplot(gnuplot, script: stem + ".gp", directory: scratch, timeout: options.timeout)
        for (drawn, target) in [(scratch + "/" + stem + ".svg", svgPath), (scratch + "/" + stem + ".png", pngPath)] where nonEmptyFile(drawn) {
            guard rename(drawn, target) == 0 else {
                throw PlotError.cannotReplace(path: target, reason: String(cString: strerror(errno)))
            }
        }
        let svgOK = nonEmptyFile(svgPath), pngOK = nonEmptyFile(pngPath)
        var files = [dataPath, scriptPath]
        if svgOK { files.append(svgPath) }
        if pngOK { files.append(pngPath) }
        if let failure = run.failure {
            notes.insert("\(failure); no figure was drawn; \(written); fix the problem and \(later)", at: 0)
            return PlotOutcome(files: files, rendered: false, message: notes.joined(separator: "\n"))
        }
        guard svgOK else {
            notes.insert("gnuplot (\(gnuplot)) did not write \(svgPath)\(run.output.isEmpty ? "" : "; it said: \(run.output)"); "
                + "\(written); \(later)", at: 0)
            return PlotOutcome(files: files, rendered: false, message: notes.joined(separator: "\n"))
        }
        if pngOK {
            notes.insert("wrote \(svgPath) and \(pngPath) (data \(dataPath), script \(scriptPath))", at: 0)
        } else {
            notes.insert("wrote \(svgPath) only: gnuplot wrote no PNG (it has no pngcairo or png terminal); "
                + "data \(dataPath), script \(scriptPath)", at: 0)
        }
        // gnuplot's own output (warnings about empty ranges, fonts) is shown only when it failed.
        return PlotOutcome(files: files, rendered: true, message: notes.joined(separator: "\n"))
    }

    /// A new directory `.<stem>.tmp-XXXXXX` in `directory`, readable by this user only.
    static func privateDirectory(in directory: String, for stem: String) throws -> String {
        var template = Array((directory + "/." + stem + ".tmp-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw PlotError.cannotReplace(path: directory + "/" + stem + ".svg",
                                          reason: "cannot create a private directory for gnuplot in \(directory): \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// `base` without a figure, data or script extension; rejects empty names and directories.
    static func normalisedBase(_ base: String) throws -> String {
        var base = base
        for ext in [".svg", ".png", ".gp", ".tsv"] where base.lowercased().hasSuffix(ext) && base.count > ext.count {
            base.removeLast(ext.count)
            break
        }
        guard !base.isEmpty, !base.hasSuffix("/"), URL(fileURLWithPath: base).lastPathComponent != ".",
              URL(fileURLWithPath: base).lastPathComponent != ".." else {
            throw PlotError.invalidPath(base)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), isDirectory.boolValue {
            throw PlotError.pathIsDirectory(base)
        }
        return base
    }

    static func nonEmptyFile(_ path: String) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber else { return false }
        return size.intValue > 0
    }

    static func shellQuote(_ s: String) -> String {
        if s.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "/._-+,".unicodeScalars.contains($0) }) {
            return s
        }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    struct Run {
        /// Why the run failed, or nil when gnuplot exited with status 0.
        var failure: String?
        /// gnuplot's output (stdout and stderr), trimmed to its last lines.
        var output: String
    }

    /// Runs `executable script` in `directory` with stdin from /dev/null, stopping it after `timeout`
    /// seconds, or at a stop request (`Interruption`: the run's files are written, the figure is
    /// what is left, and a SIGTERM waited for gnuplot's end). gnuplot's output goes to a file
    /// unlinked as soon as it is opened, so that nothing is left behind when this process is killed.
    static func runGnuplot(_ executable: String, script: String, directory: String, timeout: TimeInterval) -> Run {
        do { try Subprocess.checkCanStart("gnuplot (\(executable))") } catch {
            return Run(failure: describe(error), output: "")
        }
        let temporary = FileManager.default.temporaryDirectory.path
        let logPath = temporary + "/cotflow-gnuplot-\(UUID().uuidString).log"
        let fd = open(logPath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            return Run(failure: "cannot create a log file for gnuplot in \(temporary): \(String(cString: strerror(errno)))", output: "")
        }
        unlink(logPath)
        let log = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory, isDirectory: true)
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do {
            try process.run()
        } catch {
            return Run(failure: "could not start gnuplot (\(executable)): \(describe(error))", output: "")
        }
        // Waits in slices of 0.1 s, polling for a stop request between them.
        let deadline = Date().addingTimeInterval(timeout)
        var stopped: String?
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if Interruption.requested(at: "plot") { stopped = "interrupted by \(Interruption.signalName) while gnuplot (\(executable)) was drawing" }
            else if Date() >= deadline { stopped = "gnuplot (\(executable)) did not finish within \(Int(timeout)) s and was stopped" }
            guard let stopped else { continue }
            process.terminate()
            if done.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                _ = done.wait(timeout: .now() + 2)
            }
            return Run(failure: stopped, output: readLog(fd))
        }
        let output = readLog(fd)
        let status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            return Run(failure: "gnuplot (\(executable)) was killed by signal \(status)"
                + (output.isEmpty ? "" : "; it said: \(output)"), output: output)
        }
        if status != 0 {
            return Run(failure: "gnuplot (\(executable)) failed with exit status \(status)"
                + (output.isEmpty ? "" : "; it said: \(output)"), output: output)
        }
        return Run(failure: nil, output: output)
    }

    /// The last few non-empty lines of gnuplot's output (the log file open at `fd`), joined.
    static func readLog(_ fd: Int32) -> String {
        var data: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let n = pread(fd, &buffer, buffer.count, offset)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            data += buffer[0..<n]
            offset += off_t(n)
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.suffix(8).joined(separator: " | ")
    }
}
