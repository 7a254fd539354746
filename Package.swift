// swift-tools-version:6.0
import PackageDescription

let bigInt: Target.Dependency = .product(name: "BigInt", package: "BigInt")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

// The numerical kernels are compiled with optimisation in debug builds too, so that the test
// suite (which runs in debug) exercises them at realistic sizes in reasonable time.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "cotflow",
    products: [
        .executable(name: "cotflow", targets: ["CotflowCLI"]),
    ],
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
        // GSL errors and RNG, dense matrices over BLAS, exact rationals, statistics, output helpers.
        .target(name: "CotflowSupport", dependencies: ["CGSL", bigInt], swiftSettings: optimised),
        // Task (prompts, GD chain), tokens, the one-layer linear transformer, objectives and gradients.
        .target(name: "CotflowModel", dependencies: ["CotflowSupport"], swiftSettings: optimised),
        // Full-matrix training on sampled batches (SGD, Adam), trajectories.
        .target(name: "CotflowTraining", dependencies: ["CotflowModel"], swiftSettings: optimised),
        // Exact Wishart moments and the exact population loss of the reduced model.
        .target(name: "CotflowExact", dependencies: ["CotflowSupport", bigInt], swiftSettings: optimised),
        // Swift wrapper over GSL's odeiv2 drivers.
        .target(name: "CotflowODE", dependencies: ["CotflowSupport"]),
        // Reduced gradient flow on eigenvalues: right-hand side, Jacobian, integration.
        .target(name: "CotflowFlow", dependencies: ["CotflowExact", "CotflowODE"], swiftSettings: optimised),
        // Full-matrix gradient flow: every entry of V and W on the loss of a fixed set of prompts.
        .target(name: "CotflowFullFlow", dependencies: ["CotflowFlow", "CotflowTraining", "CotflowODE"], swiftSettings: optimised),
        // Stage detection: change points of the log-loss and mechanistic boundaries; stage tables.
        .target(name: "CotflowStages", dependencies: ["CotflowSupport"]),
        // Plots through gnuplot (SVG and PNG), or the data and script when gnuplot is missing.
        .target(name: "CotflowPlot", dependencies: ["CotflowSupport"]),
        // The reduced flow against full training from the same initial point.
        .target(name: "CotflowCompare", dependencies: ["CotflowFlow", "CotflowFullFlow", "CotflowTraining", "CotflowStages"], swiftSettings: optimised),
        // Parameter sweeps over a grid, sharded runs and merging.
        .target(name: "CotflowSweep", dependencies: ["CotflowSupport"]),
        // Experiments: the jobs a sweep runs (typed metrics per run), regimes, transitions, scaling fits, reports.
        .target(name: "CotflowExperiments", dependencies: ["CGSL", "CotflowSupport", "CotflowModel", "CotflowTraining", "CotflowExact",
                                                           "CotflowODE", "CotflowFlow", "CotflowStages", "CotflowCompare", "CotflowSweep"]),
        // The command-line tool (thin).
        .executableTarget(
            name: "CotflowCLI",
            dependencies: ["CotflowSupport", "CotflowModel", "CotflowTraining", "CotflowExact",
                           "CotflowODE", "CotflowFlow", "CotflowFullFlow", "CotflowStages", "CotflowPlot", "CotflowCompare",
                           "CotflowSweep", "CotflowExperiments", argumentParser]
        ),
        // Release-build benchmarks: `swift run -c release cotflow-bench [training|exact|flow]`.
        .executableTarget(
            name: "cotflow-bench",
            dependencies: ["CotflowSupport", "CotflowModel", "CotflowTraining", "CotflowExact",
                           "CotflowODE", "CotflowFlow", "CotflowFullFlow"],
            path: "Sources/CotflowBench"
        ),
        // Examples: one executable per claim of the paper (`swift run -c release NAME`), sharing
        // a small support library; `--quick` runs a reduced size (used by ExamplesTests).
        .target(name: "CotflowExamplesSupport", dependencies: ["CotflowSupport", "CotflowModel", "CotflowTraining", "CotflowExact", "CotflowFlow", "CotflowStages", "CotflowPlot", "CotflowCompare", "CotflowSweep", "CotflowExperiments", argumentParser], path: "Examples/Support"),
        .executableTarget(name: "cot-vs-nocot", dependencies: ["CotflowExamplesSupport"], path: "Examples/cot-vs-nocot"),
        .executableTarget(name: "training-dynamics", dependencies: ["CotflowExamplesSupport"], path: "Examples/training-dynamics"),
        .executableTarget(name: "weights-heatmap", dependencies: ["CotflowExamplesSupport"], path: "Examples/weights-heatmap"),
        .executableTarget(name: "ood-generalization", dependencies: ["CotflowExamplesSupport"], path: "Examples/ood-generalization"),
        .executableTarget(name: "looped-vs-single", dependencies: ["CotflowExamplesSupport"], path: "Examples/looped-vs-single"),
        .executableTarget(name: "stage-sweep", dependencies: ["CotflowExamplesSupport"], path: "Examples/stage-sweep"),
        .executableTarget(name: "exact-chain", dependencies: ["CotflowExamplesSupport"], path: "Examples/exact-chain"),
        // Writes the table of notes/reproduction.md from the examples' results.json.
        .executableTarget(name: "reproduction-table", dependencies: ["CotflowExamplesSupport", argumentParser], path: "Examples/reproduction-table"),
        .testTarget(name: "ExamplesTests", dependencies: ["CotflowExamplesSupport", "cot-vs-nocot", "training-dynamics", "weights-heatmap", "ood-generalization", "looped-vs-single", "stage-sweep", "exact-chain"]),
        .testTarget(name: "CotflowSupportTests", dependencies: ["CotflowSupport"]),
        .testTarget(name: "CotflowModelTests", dependencies: ["CotflowModel"]),
        .testTarget(name: "CotflowTrainingTests", dependencies: ["CotflowTraining"]),
        .testTarget(name: "CotflowExactTests", dependencies: ["CotflowExact"]),
        .testTarget(name: "CotflowODETests", dependencies: ["CotflowODE"]),
        .testTarget(name: "CotflowFlowTests", dependencies: ["CotflowFlow", "CotflowModel"]),
        .testTarget(name: "CotflowFullFlowTests", dependencies: ["CotflowFullFlow"]),
        // End-to-end tests that run the built `cotflow` executable.
        .testTarget(name: "CotflowCLITests", dependencies: ["CotflowCLI"]),
        // Hostile values for every option of every subcommand, and the lost-work paths (signals included).
        .testTarget(name: "CotflowHostileTests", dependencies: ["CotflowCLI"]),
        .testTarget(name: "CotflowStagesTests", dependencies: ["CotflowStages"]),
        .testTarget(name: "CotflowPlotTests", dependencies: ["CotflowPlot"]),
        .testTarget(name: "CotflowCompareTests", dependencies: ["CotflowCompare"]),
        .testTarget(name: "CotflowSweepTests", dependencies: ["CotflowSweep"]),
        .testTarget(name: "CotflowExperimentsTests", dependencies: ["CotflowExperiments"]),
    ],
    swiftLanguageModes: [.v6]
)
