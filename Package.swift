// swift-tools-version:6.0
import PackageDescription

let bigInt: Target.Dependency = .product(name: "BigInt", package: "BigInt")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

// Layers, bottom to top, and what each target may import: notes/architecture.md. Every target
// lists every module its files import (no reliance on transitive dependencies).
// No unsafe compiler flags (SwiftPM refuses them in a dependency): the tests run an optimised build
// instead (scripts/test.sh: `swift build -c release --build-tests -Xswiftc -enable-testing`).

/// The modules of the library, bottom to top; each is a product, and `Cotflow` re-exports them all.
let libraryModules = [
    "CotflowIO", "CotflowGSL", "CotflowNumerics", "CotflowTask",
    "CotflowExact", "CotflowODE", "CotflowModel",
    "CotflowTraining", "CotflowFlow", "CotflowFullFlow",
    "CotflowStages", "CotflowCompare", "CotflowSweep", "CotflowExperiments", "CotflowPlot", "CotflowFigures",
]

let package = Package(
    name: "cotflow",
    products: [
        .executable(name: "cotflow", targets: ["CotflowCLI"]),
        .executable(name: "library-api", targets: ["library-api"]),
        // `import Cotflow`: every public module at once.
        .library(name: "Cotflow", targets: ["Cotflow"]),
    ] + libraryModules.map { .library(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.0"),
    ],
    targets: [
        // C bindings: GSL headers, shims for GSL's global step/RNG types, OpenBLAS as the CBLAS.
        // openblas is listed first so that it, not libgslcblas, serves the cblas_* symbols.
        .target(
            name: "CGSL",
            linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("gsl"), .linkedLibrary("m")]
        ),
        // Support: JSON and CSV values, readers and writers, the number formatter, errors, provenance,
        // output directories, size limits, signals, progress. Foundation only.
        .target(name: "CotflowIO"),
        // GSL set-up, typed GSL errors, random streams.
        .target(name: "CotflowGSL", dependencies: ["CGSL"]),
        // Exact rationals, tail-aware statistics and the median, dense linear algebra over BLAS/GSL,
        // fixed-chunk parallel map.
        .target(name: "CotflowNumerics", dependencies: ["CGSL", "CotflowGSL", "CotflowIO", bigInt]),
        // The task: TaskConfig, prompts, the GD chain, the paper's step size, the Assumption 4.1 initialisation.
        .target(name: "CotflowTask", dependencies: ["CotflowGSL", "CotflowIO", "CotflowNumerics", bigInt]),
        // Exact Wishart moments and the exact population loss of the reduced model.
        .target(name: "CotflowExact", dependencies: ["CotflowIO", "CotflowNumerics", bigInt]),
        // Swift wrapper over GSL's odeiv2 drivers.
        .target(name: "CotflowODE", dependencies: ["CGSL", "CotflowGSL"]),
        // Tokens, the one-layer linear transformer, objectives and gradients, Hessians.
        .target(name: "CotflowModel", dependencies: ["CotflowGSL", "CotflowIO", "CotflowNumerics", "CotflowTask"]),
        // Full-matrix training on sampled batches (SGD, Adam), trajectories.
        .target(name: "CotflowTraining", dependencies: ["CotflowGSL", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowTask"]),
        // Reduced gradient flow on eigenvalues: right-hand side, Jacobian, integration.
        .target(name: "CotflowFlow", dependencies: ["CotflowExact", "CotflowIO", "CotflowNumerics", "CotflowODE", "CotflowTask"]),
        // Full-matrix gradient flow: every entry of V and W on the loss of a fixed set of prompts.
        .target(name: "CotflowFullFlow", dependencies: ["CotflowFlow", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowODE",
                                                        "CotflowTask", "CotflowTraining"]),
        // Stage detection: change points of the log-loss and mechanistic boundaries; stage tables.
        .target(name: "CotflowStages", dependencies: ["CotflowIO", "CotflowNumerics"]),
        // The reduced flow against full training from the same initial point.
        .target(name: "CotflowCompare", dependencies: ["CotflowExact", "CotflowFlow", "CotflowFullFlow", "CotflowIO", "CotflowModel",
                                                       "CotflowNumerics", "CotflowODE", "CotflowStages", "CotflowTask", "CotflowTraining"]),
        // Parameter sweeps over a grid, sharded runs and merging.
        .target(name: "CotflowSweep", dependencies: ["CotflowIO"]),
        // Experiments: the jobs a sweep runs (typed metrics per run), regimes, transitions, scaling fits, reports.
        .target(name: "CotflowExperiments", dependencies: ["CotflowCompare", "CotflowExact", "CotflowFlow", "CotflowGSL", "CotflowIO",
                                                           "CotflowModel", "CotflowNumerics", "CotflowODE", "CotflowStages",
                                                           "CotflowSweep", "CotflowTask", "CotflowTraining"]),
        // Plots through gnuplot (SVG and PNG), or the data and script when gnuplot is missing.
        .target(name: "CotflowPlot", dependencies: ["CotflowIO"]),
        // The panels of each command's --plot: which series, reference lines and stages a result is drawn with.
        .target(name: "CotflowFigures", dependencies: ["CotflowCompare", "CotflowExperiments", "CotflowFlow", "CotflowIO", "CotflowModel",
                                                       "CotflowPlot", "CotflowStages", "CotflowSweep", "CotflowTraining"]),
        // The umbrella: `import Cotflow` re-exports every library module.
        .target(name: "Cotflow", dependencies: libraryModules.map { .target(name: $0) }),
        // The command-line tool (thin).
        .executableTarget(
            name: "CotflowCLI",
            dependencies: ["CotflowCompare", "CotflowExact", "CotflowExperiments", "CotflowFlow", "CotflowFullFlow", "CotflowGSL",
                           "CotflowFigures", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowODE", "CotflowPlot", "CotflowStages",
                           "CotflowSweep", "CotflowTask", "CotflowTraining", argumentParser]
        ),
        // Release-build benchmarks: `swift run -c release cotflow-bench [training|exact|flow]`.
        .executableTarget(
            name: "cotflow-bench",
            dependencies: ["CGSL", "CotflowExact", "CotflowFlow", "CotflowFullFlow", "CotflowGSL", "CotflowModel",
                           "CotflowNumerics", "CotflowODE", "CotflowTask", "CotflowTraining", bigInt],
            path: "Sources/CotflowBench"
        ),
        // Examples: one executable per claim of the paper (`swift run -c release NAME`), sharing
        // a small support library; `--quick` runs a reduced size (used by ExamplesTests).
        .target(name: "CotflowExamplesSupport", dependencies: ["CotflowIO", "CotflowNumerics", "CotflowPlot", argumentParser], path: "Examples/Support"),
        .executableTarget(name: "cot-vs-nocot", dependencies: ["CotflowExamplesSupport", "CotflowExact", "CotflowExperiments", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowTask", "CotflowTraining"], path: "Examples/cot-vs-nocot"),
        .executableTarget(name: "training-dynamics", dependencies: ["CotflowExamplesSupport", "CotflowCompare", "CotflowExact", "CotflowFlow", "CotflowIO", "CotflowPlot", "CotflowStages", "CotflowTask", "CotflowTraining"], path: "Examples/training-dynamics"),
        .executableTarget(name: "weights-heatmap", dependencies: ["CotflowExamplesSupport", "CotflowExperiments", "CotflowGSL", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowTask", "CotflowTraining"], path: "Examples/weights-heatmap"),
        .executableTarget(name: "ood-generalization", dependencies: ["CotflowExamplesSupport", "CotflowExact", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowTask", "CotflowTraining"], path: "Examples/ood-generalization"),
        .executableTarget(name: "looped-vs-single", dependencies: ["CotflowExamplesSupport", "CotflowExact", "CotflowExperiments", "CotflowGSL", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowTask", "CotflowTraining"], path: "Examples/looped-vs-single"),
        .executableTarget(name: "stage-sweep", dependencies: ["CotflowExamplesSupport", "CotflowExact", "CotflowExperiments", "CotflowFlow", "CotflowGSL", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowStages", "CotflowSweep", "CotflowTask"], path: "Examples/stage-sweep"),
        .executableTarget(name: "exact-chain", dependencies: ["CotflowExamplesSupport", "CotflowExact", "CotflowExperiments", "CotflowGSL", "CotflowIO", "CotflowModel", "CotflowNumerics", "CotflowPlot", "CotflowSweep", "CotflowTask"], path: "Examples/exact-chain"),
        // A program that uses the library directly (`import Cotflow`): exact loss, a flow, a short training run.
        .executableTarget(name: "library-api", dependencies: ["Cotflow"], path: "Examples/library-api"),
        // Writes the table of notes/reproduction.md from the examples' results.json.
        .executableTarget(name: "reproduction-table", dependencies: ["CotflowExamplesSupport", argumentParser], path: "Examples/reproduction-table"),
        .testTarget(name: "ExamplesTests", dependencies: ["CotflowExamplesSupport", "cot-vs-nocot", "training-dynamics", "weights-heatmap", "ood-generalization", "looped-vs-single", "stage-sweep", "exact-chain",
                                                     "library-api", "CotflowExact", "CotflowNumerics", "CotflowTask"]),
        // The base layer: IO, GSL, numerics, the task.
        .testTarget(name: "CotflowBaseTests", dependencies: ["CGSL", "CotflowGSL", "CotflowIO", "CotflowNumerics", "CotflowTask", bigInt]),
        .testTarget(name: "CotflowModelTests", dependencies: ["CotflowGSL", "CotflowModel", "CotflowNumerics", "CotflowTask"]),
        .testTarget(name: "CotflowTrainingTests", dependencies: ["CotflowModel", "CotflowTask", "CotflowTraining"]),
        .testTarget(name: "CotflowExactTests", dependencies: ["CotflowExact", "CotflowGSL", "CotflowNumerics", "CotflowTask", bigInt]),
        .testTarget(name: "CotflowODETests", dependencies: ["CotflowODE"]),
        .testTarget(name: "CotflowFlowTests", dependencies: ["CotflowExact", "CotflowFlow", "CotflowGSL", "CotflowModel", "CotflowNumerics", "CotflowODE", "CotflowTask"]),
        .testTarget(name: "CotflowFullFlowTests", dependencies: ["CotflowFlow", "CotflowFullFlow", "CotflowModel", "CotflowODE", "CotflowTask", "CotflowTraining"]),
        // End-to-end tests that run the built `cotflow` executable.
        .testTarget(name: "CotflowCLITests", dependencies: ["CotflowCLI", "CotflowFlow", "CotflowIO", "CotflowTraining"]),
        // Hostile values for every option of every subcommand, and the lost-work paths (signals included).
        .testTarget(name: "CotflowHostileTests", dependencies: ["CotflowCLI"]),
        .testTarget(name: "CotflowStagesTests", dependencies: ["CotflowGSL", "CotflowIO", "CotflowStages"]),
        .testTarget(name: "CotflowPlotTests", dependencies: ["CotflowPlot"]),
        .testTarget(name: "CotflowCompareTests", dependencies: ["CotflowCompare", "CotflowExact", "CotflowNumerics", "CotflowTask", "CotflowTraining"]),
        .testTarget(name: "CotflowSweepTests", dependencies: ["CotflowIO", "CotflowSweep"]),
        .testTarget(name: "CotflowExperimentsTests", dependencies: ["CotflowExact", "CotflowExperiments", "CotflowFlow", "CotflowGSL", "CotflowNumerics", "CotflowSweep", "CotflowTask"]),
    ],
    swiftLanguageModes: [.v6]
)
