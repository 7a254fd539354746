// The umbrella module: `import Cotflow` gives every module of the library.
// Layers and what each module holds: notes/architecture.md.
@_exported import CotflowCore
@_exported import CotflowExact
@_exported import CotflowModel
@_exported import CotflowStages
@_exported import CotflowExperiments
@_exported import CotflowPlot
