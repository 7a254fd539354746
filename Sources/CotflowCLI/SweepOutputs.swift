import ArgumentParser
import CotflowExperiments
import CotflowPlot
import CotflowCore
import Foundation

extension SweepCommand {
    /// Writes the sweep description and the Slurm array script that runs it (`SweepPlan.emitSbatch`).
    func writeSbatch(_ plan: SweepPlan, to file: String) throws {
        // The binary by its resolved absolute path: the tasks may start in another directory or PATH.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executableURL?.resolvingSymlinksInPath().path ?? "cotflow"
        print(try plan.emitSbatch(to: file, executable: executable, cpusPerTask: cpusPerTask, workingDirectory: FileManager.default.currentDirectoryPath))
    }
}

/// The sweep's figure (`SweepFigure`): a heatmap of `metric` over two ordered axes with the regime
/// boundaries, or every metric against the one ordered axis with the replicate range as a band.
func renderSweepFigure(_ report: PhaseReport, metric: String?, directory out: String) throws {
    try reportFigure(try SweepFigure(report, metric: metric).render(directory: out))
}
