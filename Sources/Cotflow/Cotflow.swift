// The umbrella module: `import Cotflow` gives every public module of the library.
// Layers and what each module holds: notes/architecture.md.
@_exported import CotflowIO
@_exported import CotflowGSL
@_exported import CotflowNumerics
@_exported import CotflowTask
@_exported import CotflowExact
@_exported import CotflowODE
@_exported import CotflowModel
@_exported import CotflowTraining
@_exported import CotflowFlow
@_exported import CotflowFullFlow
@_exported import CotflowStages
@_exported import CotflowCompare
@_exported import CotflowSweep
@_exported import CotflowExperiments
@_exported import CotflowPlot
@_exported import CotflowFigures
