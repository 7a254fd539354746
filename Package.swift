// swift-tools-version:6.0
import PackageDescription

let bigInt: Target.Dependency = .product(name: "BigInt", package: "BigInt")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

// Layers, bottom to top, and what each module holds: notes/architecture.md. Every target lists every
// module its files import (no reliance on transitive dependencies; PackageImportsTests checks it).
// No unsafe compiler flags (SwiftPM refuses them in a dependency): the tests run an optimised build
// instead (scripts/test.sh: `swift build -c release --build-tests -Xswiftc -enable-testing`).

/// The modules of the library, bottom to top; `import Cotflow` re-exports them all.
let libraryModules = ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowStages", "CotflowExperiments", "CotflowPlot"]

let package = Package(
    name: "cotflow",
    products: [
        .executable(name: "cotflow", targets: ["CotflowCLI"]),
        .executable(name: "library-api", targets: ["library-api"]),
        // The library: `import Cotflow` (every module at once).
        .library(name: "Cotflow", targets: ["Cotflow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.0"),
        // `swift package generate-documentation`: the API reference (scripts/check-docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // C bindings: GSL headers, shims for GSL's global step/RNG types, OpenBLAS as the CBLAS.
        // The C boundary: shims for GSL's globals and the small-product kernels (AVX2 and AVX-512F, chosen at run
        // time; Sources/CGSL/small_products.c). openblas is listed first so that it, not libgslcblas, serves the cblas_* symbols.
        .target(
            name: "CGSL",
            linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("gsl"), .linkedLibrary("m")]
        ),
        // Numerics, IO and the C boundary: JSON/CSV values and readers, formatting, errors, provenance, output
        // directories, limits, signals, progress; GSL set-up and errors, random streams; exact rationals, statistics, dense
        // linear algebra and kernels, parallel map; the ODE layer (steppers, drivers). The only library module that imports CGSL.
        .target(name: "CotflowCore", dependencies: ["CGSL", bigInt]),
        // Exact Wishart moments (also with a covariance), the exact population losses of the reduced model.
        .target(name: "CotflowExact", dependencies: ["CotflowCore", bigInt]),
        // The task (prompts, the GD chain, the paper's step size), the one-layer linear transformer (tokens,
        // objectives, gradients, Hessians), its training (SGD, Adam, ...), the reduced flow and the full-matrix flow.
        .target(name: "CotflowModel", dependencies: ["CotflowCore", "CotflowExact", bigInt]),
        // Stage detection: change points of the log-loss, mechanistic boundaries, stage tables.
        .target(name: "CotflowStages", dependencies: ["CotflowCore"]),
        // Runs that combine the above: the flow against training, sweeps (grids, shards, merge, Slurm),
        // the jobs a sweep runs, regimes, transitions, scaling fits, reports.
        .target(name: "CotflowExperiments", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowStages"]),
        // Figures through gnuplot (SVG, PNG) or their data and script, and the panels of each command's --plot.
        .target(name: "CotflowPlot", dependencies: ["CotflowCore", "CotflowModel", "CotflowStages", "CotflowExperiments"]),
        // The umbrella: `import Cotflow` re-exports every library module.
        .target(name: "Cotflow", dependencies: libraryModules.map { .target(name: $0) }),
        // The command-line tool (thin: parses, calls the library's runs, prints).
        .executableTarget(name: "CotflowCLI", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowStages", "CotflowExperiments", "CotflowPlot", argumentParser]),
        // Release-build benchmarks: `swift run -c release cotflow-bench [training|exact|flow|...]`.
        .executableTarget(name: "cotflow-bench", dependencies: ["CGSL", "CotflowCore", "CotflowExact", "CotflowModel", bigInt], path: "Sources/CotflowBench"),
        // Examples: one executable per claim of the paper (`swift run -c release NAME`), sharing
        // a small support library; `--quick` runs a reduced size (used by ExamplesTests).
        .target(name: "CotflowExamplesSupport", dependencies: ["CotflowCore", "CotflowPlot", argumentParser], path: "Examples/Support"),
        .executableTarget(name: "cot-vs-nocot", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/cot-vs-nocot"),
        .executableTarget(name: "training-dynamics", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowStages", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/training-dynamics"),
        .executableTarget(name: "weights-heatmap", dependencies: ["CotflowCore", "CotflowModel", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/weights-heatmap"),
        .executableTarget(name: "ood-generalization", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/ood-generalization"),
        .executableTarget(name: "looped-vs-single", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/looped-vs-single"),
        .executableTarget(name: "stage-sweep", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowStages", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/stage-sweep"),
        .executableTarget(name: "exact-chain", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowExperiments", "CotflowPlot", "CotflowExamplesSupport"], path: "Examples/exact-chain"),
        // A program that uses the library as another package would (`import Cotflow`).
        .executableTarget(name: "library-api", dependencies: ["Cotflow"], path: "Examples/library-api"),
        // Writes the table of notes/reproduction.md from the examples' results.json.
        .executableTarget(name: "reproduction-table", dependencies: [argumentParser, "CotflowExamplesSupport"], path: "Examples/reproduction-table"),
        .testTarget(name: "CotflowBaseTests", dependencies: ["CGSL", "CotflowCore", "CotflowModel", bigInt]),
        .testTarget(name: "CotflowCLITests", dependencies: ["CotflowCLI", "CotflowCore", "CotflowExact", "CotflowExperiments", "CotflowModel", "CotflowStages"]),
        .testTarget(name: "CotflowCompareTests", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowExperiments"]),
        .testTarget(name: "CotflowExactTests", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", bigInt]),
        .testTarget(name: "CotflowExperimentsTests", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel", "CotflowExperiments"]),
        .testTarget(name: "CotflowFlowTests", dependencies: ["CotflowCore", "CotflowExact", "CotflowModel"]),
        .testTarget(name: "CotflowFullFlowTests", dependencies: ["CotflowCore", "CotflowModel"]),
        .testTarget(name: "CotflowHostileTests", dependencies: ["CotflowCLI"]),
        .testTarget(name: "CotflowModelTests", dependencies: ["CotflowCore", "CotflowModel"]),
        .testTarget(name: "CotflowODETests", dependencies: ["CotflowCore"]),
        .testTarget(name: "CotflowPlotTests", dependencies: ["CotflowPlot", "CotflowCore", "CotflowModel", "CotflowExperiments"]),
        .testTarget(name: "CotflowStagesTests", dependencies: ["CotflowCore", "CotflowStages"]),
        .testTarget(name: "CotflowSweepTests", dependencies: ["CotflowCore", "CotflowExperiments"]),
        .testTarget(name: "CotflowTrainingTests", dependencies: ["CotflowCore", "CotflowModel"]),
        .testTarget(name: "ExamplesTests", dependencies: ["cot-vs-nocot", "training-dynamics", "weights-heatmap", "ood-generalization", "looped-vs-single", "stage-sweep", "exact-chain", "library-api", "CotflowCore", "CotflowExact", "CotflowModel", "CotflowExamplesSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
