import ArgumentParser
import CotflowExperiments
import CotflowPlot
import CotflowCore
import Foundation

extension SweepCommand {
    /// Writes the sweep description into its directory (`SweepPlan.fileName`) and the Slurm array
    /// script that runs it (`cotflow sweep --from`, one task per shard) to `file`.
    func writeSbatch(_ plan: SweepPlan, to file: String) throws {
        guard !plan.directory.isEmpty else { throw ValidationError("--emit-sbatch needs --out DIR: where the array tasks write their shards") }
        let planFile = (plan.directory as NSString).appendingPathComponent(SweepPlan.fileName)
        // The binary by its resolved absolute path: the tasks may start in another directory or PATH.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executableURL?.resolvingSymlinksInPath().path ?? "cotflow"
        let script = try plan.sbatchScript(planFile: planFile, executable: executable, cpusPerTask: cpusPerTask,
                                           workingDirectory: FileManager.default.currentDirectoryPath)
        try plan.checkDirectory()
        // Slurm opens each task's output file in --out before the task starts: the directory must exist.
        do {
            try FileManager.default.createDirectory(atPath: plan.directory, withIntermediateDirectories: true)
        } catch {
            throw CotflowError("--out \(plan.directory): cannot create the directory: \(error.localizedDescription)")
        }
        try SweepFiles.writeAtomically(try plan.encoded(), to: planFile)
        try SweepFiles.writeAtomically(script, to: file, mode: 0o755)
        print("wrote \(file) and \(planFile): \(plan.shards) array tasks over \(try plan.grid().count) points; submit with `sbatch \(SlurmScript.quote(file))`, then `cotflow merge \(plan.directory)`")
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
