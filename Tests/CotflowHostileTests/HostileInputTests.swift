import Foundation
import XCTest

/// Every option of every subcommand, read from `cotflow --experimental-dump-help` (so a new option
/// is covered without editing this file), given each hostile value in turn on an otherwise small,
/// valid invocation. Each run must exit 0, 1 or 64 (no crash, no hang); a failure must say what
/// was wrong, a usage error naming the option, value or file; a success must print no non-finite
/// result and leave no non-finite number, invalid JSON or temporary file in its outputs.
final class HostileInputTests: XCTestCase {
    /// Small valid invocations per command path; `{OUT}`, `{CSV}` and `{SWEEP}` are replaced per run.
    static let base: [String: [String]] = [
        "train": ["--d", "2", "--n", "4", "--k", "2", "--steps", "4", "--record-every", "2", "--batch-size", "8", "--held-out", "16", "--quiet", "--out", "{OUT}"],
        "eval": ["--construction", "--d", "2", "--n", "4", "--k", "2", "--prompts", "16", "--out", "{OUT}"],
        "exact moment": ["--powers", "2", "--d", "2", "--n", "4"],
        "exact gd-loss": ["--d", "2", "--n", "4", "--k", "2"],
        "exact cot-loss": ["--d", "2", "--n", "4", "--k", "2", "--v", "0.5", "--w", "1"],
        "exact nocot-optimum": ["--d", "2", "--n", "4"],
        "ode": ["--d", "2", "--n", "4", "--k", "2", "--points", "20", "--t-end", "100", "--quiet", "--out", "{OUT}"],
        "compare": ["--d", "2", "--n", "6", "--k", "2", "--steps", "20", "--record-every", "2", "--batch-size", "16", "--held-out", "64", "--prompts", "64", "--quiet", "--out", "{OUT}"],
        "stages": ["{CSV}", "--out", "{OUT}"],
        "sweep": ["--vary", "d=2,3", "--n", "6", "--k", "2", "--points", "20", "--t-end", "100", "--quiet", "--out", "{OUT}"],
        "merge": ["{SWEEP}"],
        "rerun": ["{RUN}", "--out", "{OUT}"],
        "hessian": ["--load", "{PARAMS}", "--d", "2", "--n", "4", "--k", "2", "--prompts", "8"],
        "exact eval-loss": ["--d", "2", "--n", "4", "--k", "2"],
    ]
    /// Options that exclude one of the base arguments (the flag is removed when the option is tested).
    static let excludes: [String: String] = ["--load": "--construction", "--covariance": "", "--spectrum": "", "--condition-number": ""]

    static let values = ["0", "-1", "9223372036854775807", "1e308", "nan", "inf", "", "garbage", "1/2/3"]

    struct Argument { let name: String?; let kind: String; let help: String; let repeating: Bool }
    struct Command { let path: [String]; let arguments: [Argument] }

    /// The leaf commands and their arguments from the dump-help JSON.
    static func commands() throws -> [Command] {
        let run = try Cotflow.run(["--experimental-dump-help"])
        guard run.status == 0, let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
              let root = object["command"] as? [String: Any] else { throw XCTSkip("no --experimental-dump-help output") }
        var out: [Command] = []
        func walk(_ c: [String: Any], _ path: [String]) {
            let subs = (c["subcommands"] as? [[String: Any]]) ?? []
            if subs.isEmpty {
                let args = ((c["arguments"] as? [[String: Any]]) ?? []).compactMap { a -> Argument? in
                    let names = (a["names"] as? [[String: Any]]) ?? []
                    let long = names.first { ($0["kind"] as? String) == "long" }?["name"] as? String
                    guard (a["shouldDisplay"] as? Bool) ?? true else { return nil }
                    return Argument(name: long.map { "--" + $0 }, kind: a["kind"] as? String ?? "",
                                    help: ((a["abstract"] as? String) ?? "") + " " + ((a["valueName"] as? String) ?? ""),
                                    repeating: (a["isRepeating"] as? Bool) ?? false)
                }
                out.append(Command(path: path, arguments: args))
            }
            for s in subs { if let name = s["commandName"] as? String, name != "help" { walk(s, path + [name]) } }
        }
        walk(root, [])
        return out
    }

    /// Bad files of each kind the tool reads, and a good CSV and sweep directory for the base runs.
    final class Fixtures: @unchecked Sendable {
        let dir = Cotflow.temporaryDirectory("fixtures")
        var csv = "", sweep = "", run = "", parameters = ""
        var badFiles: [String] = [], badDirectories: [String] = []

        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        func write(_ name: String, _ text: String) -> String {
            let p = path(name)
            try! text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }

        init() throws {
            let ode = path("ode")
            let o = try Cotflow.run(["ode", "--d", "2", "--n", "4", "--k", "2", "--points", "40", "--quiet", "--out", ode])
            XCTAssertEqual(o.status, 0, o.summary)
            csv = (ode as NSString).appendingPathComponent("trajectory.csv")
            run = ode
            let train = path("train")
            let t = try Cotflow.run(["train", "--d", "2", "--n", "4", "--k", "2", "--steps", "4", "--record-every", "2", "--batch-size", "8",
                                     "--held-out", "16", "--quiet", "--out", train])
            XCTAssertEqual(t.status, 0, t.summary)
            parameters = (train as NSString).appendingPathComponent("parameters.json")
            sweep = path("sweep")
            let s = try Cotflow.run(["sweep", "--vary", "d=2,3", "--n", "6", "--k", "2", "--points", "20", "--quiet", "--out", sweep])
            XCTAssertEqual(s.status, 0, s.summary)
            try FileManager.default.createDirectory(atPath: path("adir"), withIntermediateDirectories: true)
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            let big = (0..<36).map { _ in "1e300" }.joined(separator: ",")
            badFiles = [
                path("does-not-exist"), path("adir"), write("empty", ""),
                write("garbage", "\u{0}\u{1}\u{FFFD}garbage,\"\n\r\n,,,"),
                write("deep.json", deep),
                write("wrong-types.json", #"{"d": "2", "V": [true], "W": {"x": 1}}"#),
                write("fraction-d.json", #"{"d": 2.5, "V": [], "W": []}"#),
                write("big-params.json", "{\"d\": 2, \"V\": [\(big)], \"W\": [\(big)]}"),
                write("overflow.json", "[[1e999, 0], [0, 1]]"),
                write("singular.json", "[[1, 1], [1, 1]]"),
                write("extreme-times.csv", "t,loss\n" + (0..<30).map { "\(Double($0) * 6e306),\(1.0 / Double($0 + 1))" }.joined(separator: "\n")),
                write("tiny-losses.csv", "t,loss\n" + (0..<30).map { "\($0),\(1e-300 * pow(1e-10, Double($0)))" }.joined(separator: "\n")),
                write("inf-cells.csv", "t,loss\n0,1\n1,inf\n2,nan\n3,-inf\n" + (4..<30).map { "\($0),1" }.joined(separator: "\n")),
                write("header-only.csv", "t,loss\n"),
            ]
            let deepShard = path("deep-shard")
            try FileManager.default.createDirectory(atPath: deepShard, withIntermediateDirectories: true)
            _ = write("deep-shard/shard-0-of-1.json", deep)
            let typedShard = path("typed-shard")
            try FileManager.default.createDirectory(atPath: typedShard, withIntermediateDirectories: true)
            let shardText = try String(contentsOfFile: (sweep as NSString).appendingPathComponent("shard-0-of-1.json"), encoding: .utf8)
            _ = write("typed-shard/shard-0-of-1.json", shardText.replacingOccurrences(of: "\"index\": 0", with: "\"index\": \"zero\""))
            badDirectories = [path("does-not-exist"), path("empty"), path("adir"), deepShard, typedShard]
        }
    }

    struct Case: Sendable {
        let command: [String], option: String, value: String, arguments: [String]
        var mustSucceed = false
    }

    func testEveryOptionOfEveryCommandRefusesHostileValues() throws {
        let commands = try Self.commands()
        XCTAssertFalse(commands.isEmpty)
        let fixtures = try Fixtures()
        var cases: [Case] = []
        var seen = Set<String>()
        for command in commands {
            let key = command.path.joined(separator: " ")
            guard let base = Self.base[key] else {
                XCTFail("no base invocation for `cotflow \(key)`: add one to HostileInputTests.base")
                continue
            }
            cases.append(Case(command: command.path, option: "(base)", value: "", arguments: command.path + base, mustSucceed: true))
            for argument in command.arguments {
                let help = argument.help.lowercased()
                if argument.kind == "flag" {
                    guard let name = argument.name, !["--help", "--version"].contains(name) else { continue }
                    cases.append(Case(command: command.path, option: name, value: "", arguments: command.path + base + [name],
                                      mustSucceed: !base.contains(name)))
                    continue
                }
                let takesDirectory = help.contains("directory")
                let takesFile = help.contains("file") && !takesDirectory
                // An option shared by several commands (one option group, same help) gets the whole
                // table once and a few values elsewhere, which check that each command validates it.
                let key = (argument.name ?? "positional") + argument.help
                var values = seen.insert(key).inserted ? Self.values : ["-1", "9223372036854775807", "nan", "garbage"]
                if takesFile { values += fixtures.badFiles }
                // Output directories get unwritable paths (an existing one would be shared between runs).
                if takesDirectory { values += argument.name == nil ? fixtures.badDirectories : [fixtures.path("empty"), fixtures.path("empty") + "/sub"] }
                for value in values {
                    var args = base
                    if let name = argument.name {
                        if let excluded = Self.excludes[name], let i = args.firstIndex(of: excluded) { args.remove(at: i) }
                        if let i = args.firstIndex(of: name), i + 1 < args.count, !argument.repeating {
                            args.removeSubrange(i...(i + 1))
                        }
                        args.append("\(name)=\(value)")
                    } else if let i = args.firstIndex(where: { $0.hasPrefix("{") && $0 != "{OUT}" }) {
                        args[i] = value
                    } else {
                        continue
                    }
                    cases.append(Case(command: command.path, option: argument.name ?? "positional", value: value, arguments: command.path + args))
                }
            }
        }

        let failures = FailureList(), timings = FailureList()
        let started = Date()
        concurrently(cases, width: 4) { c in
            let out = Cotflow.temporaryDirectory("out")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var sweepCopy: String?
            let args = c.arguments.map { a -> String in
                switch a {
                case "{OUT}": return (out as NSString).appendingPathComponent("run")
                case "{CSV}": return fixtures.csv
                case "{PARAMS}": return fixtures.parameters
                case "{RUN}":
                    // A copy, so that reruns never write into the shared fixture.
                    let copy = (out as NSString).appendingPathComponent("earlier")
                    try? FileManager.default.copyItem(atPath: fixtures.run, toPath: copy)
                    return copy
                case "{SWEEP}":
                    let copy = (out as NSString).appendingPathComponent("sweep")
                    try? FileManager.default.copyItem(atPath: fixtures.sweep, toPath: copy)
                    sweepCopy = copy
                    return copy
                default: return a
                }
            }
            guard let run = try? Cotflow.run(args, timeout: 20, environment: ["COTFLOW_MEMORY_LIMIT": "2G"], directory: out) else {
                return failures.add("could not start cotflow \(args)")
            }
            if let problem = Self.problem(run, case: c) { failures.add(problem) }
            timings.add(String(format: "%07.2f s ", run.seconds) + args.joined(separator: " "))
            for dir in [(out as NSString).appendingPathComponent("run"), sweepCopy].compactMap({ $0 }) {
                for p in Cotflow.outputProblems(in: dir) { failures.add("\(run.summary)\n  output: \(p)") }
            }
        }
        for f in failures.all { XCTFail(f) }
        print("slowest:\n" + timings.all.sorted().suffix(8).joined(separator: "\n"))
        print("hostile inputs: \(cases.count) invocations in \(String(format: "%.0f", Date().timeIntervalSince(started))) s, \(failures.all.count) failures")
    }

    /// What is wrong with a run's outcome, if anything.
    static func problem(_ run: Cotflow.Run, case c: Case) -> String? {
        if run.timedOut { return "hang: \(run.summary)" }
        if run.signaled { return "crash: \(run.summary)" }
        if c.mustSucceed, run.status != 0 { return "valid invocation failed: \(run.summary)" }
        switch run.status {
        case 0:
            // Paths in "wrote ..." lines may be named nan; sweep reports never print nan (a metric not reached is no finding).
            let report = run.stdout.split(separator: "\n").filter { !$0.hasPrefix("wrote") }.map(String.init)
                // An output directory named `inf` or `nan` is a path, not a result.
                .map { c.option == "--out" && !c.value.isEmpty ? $0.replacingOccurrences(of: c.value, with: "DIR") : $0 }
                .joined(separator: "\n")
            if let bad = Cotflow.nonFiniteInReport(report) { return "non-finite result '\(bad)' with exit 0: \(run.summary)\nstdout: \(run.stdout.prefix(800))" }
        case 1:
            if !run.stderr.contains("error") && !run.stderr.contains("Error") { return "exit 1 without an error message: \(run.summary)" }
        case 64:
            // A positional value that looks like an option ("-1") is argument-parser's to name (issue 13).
            let named = run.stderr.contains(c.option) || c.option == "positional" && (c.value.isEmpty || c.value.hasPrefix("-")) && run.stderr.contains("rror")
                || c.command.first == "merge" && run.stderr.contains("shard-") || (!c.value.isEmpty && run.stderr.contains(c.value))
                || (c.option == "positional" && run.stderr.contains(c.value))
                || run.stderr.contains(c.option.replacingOccurrences(of: "--", with: ""))
            if !named { return "usage error that names neither \(c.option) nor its value: \(run.summary)" }
        default:
            return "exit code \(run.status) (expected 0, 1 or 64): \(run.summary)"
        }
        return nil
    }
}

final class FailureList: @unchecked Sendable {
    private var items: [String] = []
    private let lock = NSLock()
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
