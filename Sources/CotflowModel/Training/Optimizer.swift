import CotflowCore
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

/// SGD with heavy-ball momentum: v <- beta v + g, theta <- theta - lr v, from v = 0. To first
/// order it follows the gradient flow with step h = lr / (1 - beta); from v = 0 its flow time is
/// t = h (step - beta (1 - beta^step) / (1 - beta)), the distance moved at a constant gradient
/// (notes/training.md).
public struct MomentumSGD: Optimizer {
    public let learningRate: Double
    /// The heavy-ball coefficient beta, in [0, 1).
    public let beta: Double
    private var velocity: [Double]

    /// State for `size` parameters (2 D^2: V and W).
    public init(size: Int, learningRate: Double, beta: Double) {
        self.learningRate = learningRate; self.beta = beta
        velocity = [Double](repeating: 0, count: size)
    }

    public func flowTime(step: Int) -> Double? {
        let h = learningRate / (1 - beta)
        return h * (Double(step) - beta * (1 - pow(beta, Double(step))) / (1 - beta))
    }

    public mutating func update(_ p: inout TransformerParameters, gradV: [Double], gradW: [Double]) {
        let half = gradV.count
        for i in 0..<half {
            velocity[i] = beta * velocity[i] + gradV[i]
            p.V[i] -= learningRate * velocity[i]
        }
        for i in 0..<half {
            velocity[half + i] = beta * velocity[half + i] + gradW[i]
            p.W[i] -= learningRate * velocity[half + i]
        }
    }
}

/// An invalid optimizer parameter.
public enum OptimizerError: ReportableError, Equatable {
    case momentum(Double)
    /// A momentum given to an optimizer without one (nil: no optimizer given).
    case momentumWithoutMomentumOptimizer(String?)

    public var description: String {
        switch self {
        case .momentum(let beta): return "optimizer: the momentum beta must be finite and in [0, 1) (got \(beta))"
        case .momentumWithoutMomentumOptimizer(let name):
            return "optimizer: --momentum applies to --optimizer momentum only (" + (name.map { "got --optimizer \($0)" } ?? "no --optimizer given") + ")"
        }
    }
}

/// The optimizer of a run, with its parameters: the one description of each optimizer (its name
/// in the CLI and in JSON, its settings, its validation, its state and time map through `Optimizer`).
public enum OptimizerKind: Sendable, Hashable {
    case sgd
    /// Adam with beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    case adam
    /// SGD with heavy-ball momentum `beta` (`MomentumSGD`).
    case momentum(beta: Double)

    /// The heavy-ball coefficient of `--optimizer momentum` without `--momentum`.
    public static let defaultMomentum = 0.9

    /// Every optimizer with its default parameters, in the order help lists them.
    public static let allCases: [OptimizerKind] = [.sgd, .adam, .momentum(beta: defaultMomentum)]

    /// The name in the CLI (`--optimizer`) and in JSON.
    public var name: String {
        switch self {
        case .sgd: return "sgd"
        case .adam: return "adam"
        case .momentum: return "momentum"
        }
    }

    /// The optimizer in a sentence of a report: "SGD", "Adam", "SGD with heavy-ball momentum (beta = 0.9)".
    public var prose: String {
        switch self {
        case .sgd: return "SGD"
        case .adam: return "Adam"
        case .momentum(let beta): return "SGD with heavy-ball momentum (beta = \(beta))"
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
        case .momentum(let beta): return MomentumSGD(size: size, learningRate: learningRate, beta: beta)
        }
    }

    /// Flow time after `step` steps at this learning rate; nil without a time map.
    public func flowTime(step: Int, learningRate: Double) -> Double? {
        optimizer(size: 0, learningRate: learningRate).flowTime(step: step)
    }

    /// True when training steps map to flow time.
    public var hasTimeMap: Bool { flowTime(step: 1, learningRate: 1) != nil }

    /// The fewest steps whose flow time at `learningRate` reaches `time` (through the time map, so
    /// momentum's slower start is counted; a relative 1e-12 of rounding is forgiven); throws
    /// `TrainingError.noTimeMap` for an optimizer without one (Adam) and `.flowTimeSteps` beyond 1e9 steps.
    public func steps(toFlowTime time: Double, learningRate: Double) throws -> Int {
        guard time.isFinite, time >= 0 else { throw TrainingError.flowTime(time) }
        guard hasTimeMap else { throw TrainingError.noTimeMap(name) }
        let target = time * (1 - 1e-12), limit = 1_000_000_000
        func reaches(_ n: Int) -> Bool { flowTime(step: n, learningRate: learningRate)! >= target }
        // The time map increases with the step: double, then bisect.
        var high = 1
        while !reaches(high) {
            guard high < limit else { throw TrainingError.flowTimeSteps(time: time, learningRate: learningRate) }
            high = min(2 * high, limit)
        }
        var low = 0
        if reaches(0) { return 0 }
        while high - low > 1 {
            let mid = (low + high) / 2
            if reaches(mid) { high = mid } else { low = mid }
        }
        return high
    }

    /// Flow time per unit of learning rate x step once the optimizer's state has built up (1 for
    /// SGD, 1 / (1 - beta) for momentum); nil without a time map.
    public var timeScale: Double? {
        switch self {
        case .sgd: return 1
        case .adam: return nil
        case .momentum(let beta): return 1 / (1 - beta)
        }
    }

    /// The time map as a formula over `learning_rate` and `step` (and the optimizer's parameters);
    /// nil without one.
    public var timeMapFormula: String? {
        switch self {
        case .sgd: return "t = learning_rate x step"
        case .adam: return nil
        case .momentum: return "t = learning_rate / (1 - momentum) x (step - momentum (1 - momentum^step) / (1 - momentum))"
        }
    }

    /// The coefficient c of the first-order modified drift `-G - c H G` this optimizer follows at
    /// learning rate `lr` (MODEL.md section 10; notes/training.md): SGD h/2 with h = lr, momentum
    /// h (1 + beta) / (2 (1 - beta)) with h = lr / (1 - beta); nil without a time map.
    public func driftCorrection(learningRate lr: Double) -> Double? {
        switch self {
        case .sgd: return lr / 2
        case .adam: return nil
        case .momentum(let beta): return lr / (1 - beta) * (1 + beta) / (2 * (1 - beta))
        }
    }

    /// The name and parameters, as recorded in settings and summaries.
    public var settings: [(String, JSONValue)] {
        switch self {
        case .sgd, .adam: return [("optimizer", .string(name))]
        case .momentum(let beta): return [("optimizer", .string(name)), ("momentum", .number(beta))]
        }
    }

    /// This optimizer with the momentum `beta` (nil: as it is); only `momentum` takes one.
    public func with(momentum beta: Double?) throws -> OptimizerKind {
        guard let beta else { return self }
        guard case .momentum = self else { throw OptimizerError.momentumWithoutMomentumOptimizer(name) }
        return .momentum(beta: beta)
    }

    /// Throws an `OptimizerError` naming an invalid parameter.
    public func validate() throws {
        if case .momentum(let beta) = self, !(beta.isFinite && beta >= 0 && beta < 1) { throw OptimizerError.momentum(beta) }
    }
}

/// In JSON an optimizer is its name, or an object with its name and parameters:
/// `"adam"`, `{"name": "momentum", "momentum": 0.9}`.
extension OptimizerKind: Codable {
    private enum CodingKeys: String, CodingKey { case name, momentum }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            guard let kind = OptimizerKind(name: name) else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "unknown optimizer '\(name)'")
            }
            self = kind
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        guard let kind = OptimizerKind(name: name) else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "unknown optimizer '\(name)'")
        }
        self = try kind.with(momentum: c.decodeIfPresent(Double.self, forKey: .momentum))
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .sgd, .adam:
            var c = encoder.singleValueContainer()
            try c.encode(name)
        case .momentum(let beta):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(beta, forKey: .momentum)
        }
    }
}
