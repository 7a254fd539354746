import CotflowIO
import CotflowModel
import Foundation

/// One optimizer over (V, W) as one vector: its state is sized once per run, a step allocates nothing.
public protocol Optimizer: Sendable {
    /// Flow time (of `cotflow ode`) after `step` steps; nil when the optimizer has no time map.
    func flowTime(step: Int) -> Double?
    /// One step from the batch gradient (V's entries, then W's).
    mutating func update(_ p: inout TransformerParameters, gradV: [Double], gradW: [Double])
}

/// Plain SGD: theta <- theta - lr g. Its flow time is t = lr x step (Euler steps of the gradient flow).
public struct SGD: Optimizer {
    public let learningRate: Double

    public init(learningRate: Double) { self.learningRate = learningRate }

    public func flowTime(step: Int) -> Double? { learningRate * Double(step) }

    public mutating func update(_ p: inout TransformerParameters, gradV: [Double], gradW: [Double]) {
        for i in 0..<gradV.count { p.V[i] -= learningRate * gradV[i] }
        for i in 0..<gradW.count { p.W[i] -= learningRate * gradW[i] }
    }
}

/// Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected). Its per-coordinate scaling has no
/// map to the flow's time.
public struct Adam: Optimizer {
    public let learningRate: Double
    public let beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    private var m: [Double], v: [Double]
    private var t = 0

    /// State for `size` parameters (2 D^2: V and W).
    public init(size: Int, learningRate: Double) {
        self.learningRate = learningRate
        m = [Double](repeating: 0, count: size)
        v = m
    }

    public func flowTime(step: Int) -> Double? { nil }

    public mutating func update(_ p: inout TransformerParameters, gradV: [Double], gradW: [Double]) {
        let half = gradV.count
        t += 1
        let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
        func step(_ i: Int, _ g: Double) -> Double {
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            return learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
        }
        for i in 0..<half { p.V[i] -= step(i, gradV[i]) }
        for i in 0..<half { p.W[i] -= step(half + i, gradW[i]) }
    }
}

/// The optimizer of a run, with its parameters: the one description of each optimizer (its name
/// in the CLI and in JSON, its settings, its validation, its state and time map through `Optimizer`).
public enum OptimizerKind: Sendable, Hashable {
    case sgd
    /// Adam with beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    case adam

    /// Every optimizer with its default parameters, in the order help lists them.
    public static let allCases: [OptimizerKind] = [.sgd, .adam]

    /// The name in the CLI (`--optimizer`) and in JSON.
    public var name: String {
        switch self {
        case .sgd: return "sgd"
        case .adam: return "adam"
        }
    }

    /// The optimizer of this name with its default parameters.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    /// The optimizer's state for `size` parameters at this learning rate.
    public func optimizer(size: Int, learningRate: Double) -> any Optimizer {
        switch self {
        case .sgd: return SGD(learningRate: learningRate)
        case .adam: return Adam(size: size, learningRate: learningRate)
        }
    }

    /// Flow time after `step` steps at this learning rate; nil without a time map.
    public func flowTime(step: Int, learningRate: Double) -> Double? {
        optimizer(size: 0, learningRate: learningRate).flowTime(step: step)
    }

    /// True when training steps map to flow time.
    public var hasTimeMap: Bool { flowTime(step: 1, learningRate: 1) != nil }

    /// Flow time per unit of learning rate x step (1 for SGD); nil without a time map.
    public var timeScale: Double? { flowTime(step: 1, learningRate: 1) }

    /// The time map as a formula over `learning_rate` and `step` (and the optimizer's parameters);
    /// nil without one.
    public var timeMapFormula: String? {
        switch self {
        case .sgd: return "t = learning_rate x step"
        case .adam: return nil
        }
    }

    /// The name and parameters, as recorded in settings and summaries.
    public var settings: [(String, JSONValue)] {
        [("optimizer", .string(name))]
    }

    /// Throws a `TrainingError` naming an invalid parameter.
    public func validate() throws {}
}
