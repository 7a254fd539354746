import Foundation

/// A Slurm array-job script that runs a sweep's shards, one array task per shard.
package enum SlurmScript {
    /// The script text. `arguments` is the sweep's command line (the executable's absolute path
    /// first) without any `--shard`: each task takes its shard from `SLURM_ARRAY_TASK_ID` and
    /// `SLURM_ARRAY_TASK_COUNT`. A `%` in the output directory is written `%%` in `#SBATCH --output`
    /// (where Slurm reads `%` as a pattern).
    /// Every task runs with `--resume`, so resubmitting the same script after a failure, a time
    /// limit or a cancelled task reruns only the points not yet finished.
    /// `time`: the `#SBATCH --time` of each task (from the shards' estimate), with what it came from.
    package static func arrayJob(arguments: [String], tasks: Int, cpusPerTask: Int, workingDirectory: String,
                                outputDirectory: String, jobName: String = "cotflow-sweep", time: (limit: String, basis: String)? = nil) -> String {
        let command = arguments.map(quote).joined(separator: " ")
        let merge = [arguments[0], "merge", outputDirectory].map(quote).joined(separator: " ")
        return """
        #!/bin/bash
        # A cotflow sweep as a Slurm array job: one task per shard (shard i of \(tasks) runs the grid points
        # with index % \(tasks) == i). Submit with `sbatch THIS_FILE`; when every task is done, merge:
        #   \(merge)
        # or submit the merge to run after the array: sbatch --dependency=afterok:JOBID --wrap \(quote(merge))
        # Tasks run with --resume: resubmitting this file after a failure, a time limit or a cancelled
        # task reruns only the points not yet finished (finished points are kept in the shard files).
        \(time.map { "# --time: \($0.basis).\n# Add #SBATCH --partition=..., --account=... as your cluster requires." } ?? "# Add #SBATCH --time=..., --partition=..., --account=... as your cluster requires.")
        #SBATCH --job-name=\(jobName)\(time.map { "\n#SBATCH --time=\($0.limit)" } ?? "")
        #SBATCH --array=0-\(tasks - 1)
        #SBATCH --ntasks=1
        #SBATCH --cpus-per-task=\(cpusPerTask)
        #SBATCH --chdir=\(directive(workingDirectory))
        #SBATCH --output=\(directive(outputDirectory.replacingOccurrences(of: "%", with: "%%")))/slurm-%A_%a.out
        set -euo pipefail
        mkdir -p \(quote(outputDirectory))
        exec \(command) --resume --quiet --jobs "${SLURM_CPUS_PER_TASK:-1}"

        """
    }

    /// A value of an `#SBATCH` line as sbatch reads it back: sbatch splits the line at white space
    /// (refused before: `SweepPlan.sbatchScript`), drops quotes, takes a backslash as an escape and
    /// ends the line at `#`, so each of `\ " ' #` is written after a backslash.
    package static func directive(_ value: String) -> String {
        var out = ""
        for c in value {
            if "\\\"'#".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// Single-quotes a word for the shell when it holds anything but safe characters.
    package static func quote(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=:/.,+@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
