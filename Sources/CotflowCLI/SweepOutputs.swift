import ArgumentParser
import CotflowExperiments
import CotflowFigures
import CotflowIO
import CotflowNumerics
import CotflowPlot
import CotflowSweep
import Foundation

extension SweepCommand {
    /// Writes the Slurm array script for this command line (without --emit-sbatch, --shards,
    /// --cpus-per-task, --shard, --jobs, --resume, --plot).
    func writeSbatch(to file: String, grid: SweepGrid) throws {
        guard let out = output.out, !out.isEmpty else { throw ValidationError("--emit-sbatch needs --out DIR: where the array tasks write their shards") }
        var args = Array(CommandLine.arguments.dropFirst())
        let withValue: Set<String> = ["--emit-sbatch", "--shards", "--cpus-per-task", "--shard", "--jobs", "--out", "--plot-metric"]
        let flags: Set<String> = ["--resume", "--plot", "--quiet", "--json"]
        var kept: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if withValue.contains(name) { i += a.contains("=") ? 1 : 2; continue }
            if flags.contains(a) { i += 1; continue }
            kept.append(a)
            i += 1
        }
        args = kept
        let cwd = FileManager.default.currentDirectoryPath
        let absoluteOut = out.hasPrefix("/") ? out : (cwd as NSString).appendingPathComponent(out)
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        // #SBATCH lines take no quoting: paths with white space would split.
        for (what, path) in [("--out", absoluteOut), ("the working directory", cwd), ("the cotflow executable", executable)]
        where path.contains(where: \.isWhitespace) {
            throw ValidationError("--emit-sbatch: \(what) '\(path)' contains white space, which #SBATCH lines cannot hold; use a path without spaces")
        }
        let script = SlurmScript.arrayJob(arguments: [executable, "sweep"] + args.drop(while: { $0 == "sweep" }) + ["--out", absoluteOut],
                                          tasks: min(shards, grid.count), cpusPerTask: cpusPerTask,
                                          workingDirectory: cwd, outputDirectory: absoluteOut)
        // Slurm opens each task's output file in --out before the task starts: the directory must exist.
        try reportingErrors {
            do {
                try FileManager.default.createDirectory(atPath: absoluteOut, withIntermediateDirectories: true)
            } catch {
                throw CotflowError("--out \(out): cannot create the directory: \(error.localizedDescription)")
            }
            try SweepFiles.writeAtomically(script, to: file)
        }
        _ = chmod(file, 0o755)
        print("wrote \(file): \(min(shards, grid.count)) array tasks over \(grid.count) points; submit with `sbatch \(SlurmScript.quote(file))`, then `cotflow merge \(absoluteOut)`")
    }
}

/// The sweep's figure: a heatmap of `metric` over two ordered axes with the regime boundaries, or
/// every metric against the one ordered axis with the replicate range as a band.
func renderSweepFigure(_ report: PhaseReport, metric: String?, directory out: String) throws {
    let figure = SweepFigure(report, metric: metric)
    // Not "sweep": its data file would overwrite the sweep's own sweep.tsv.
    let base = (out as NSString).appendingPathComponent("sweep_plot")
    let outcome: PlotOutcome
    switch figure {
    case .lines(let panels, let title):
        outcome = try reportingErrors { try Plotter.render(panels: panels, to: base, title: title) }
    case .map(let map):
        outcome = try reportingErrors { try Plotter.renderRegimeMap(map, to: base) }
    case .none(let reason):
        FileHandle.standardError.write("plot: \(reason)\n".data(using: .utf8)!)
        return
    }
    FileHandle.standardError.write("plot: \(outcome.message)\n".data(using: .utf8)!)
}
