#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MobileNetNN
import MobileNetTensor

/// RMSProp in the TensorFlow form the MobileNet papers trained with, as timm's `RMSpropTF`
/// computes it (`Scripts/generate_training_fixtures.py` checks five steps against it):
///
/// ```text
/// g ← g + weightDecay · p                            (L2 penalty, when weightDecay ≠ 0)
/// s ← s + (1 − decay) · (g² − s)                     (s starts at 1, not 0)
/// b ← momentum · b + lr · g / √(s + ε)              (ε inside the root; lr inside the buffer)
/// p ← p − b
/// ```
///
/// and without momentum `p ← p − lr · g / √(s + ε)`. Three differences from PyTorch's
/// `RMSprop` make it TensorFlow's: ε under the square root (so a small ε such as 1e-3 still
/// bounds the step), the square average starting at one (so the first steps are not huge), and
/// the learning rate accumulated in the momentum buffer (so a changing rate does not rescale
/// past momentum). timm's `centered`, decoupled decay and "caution" options are not offered.
public final class RMSProp: Optimizer {
    public let groups: [ParameterGroup]
    public var learningRate: Double
    /// The smoothing constant of the square average (TensorFlow's `decay`, PyTorch's `alpha`).
    public let decay: Double
    public let momentum: Double
    public let epsilon: Double
    private let core: OptimizerCore
    private var squareAverages: [String: Tensor] = [:]
    private var momentumBuffers: [String: Tensor] = [:]
    private var steps: [String: Int] = [:]

    /// Defaults are those of the MobileNet recipes (timm's `--opt rmsproptf`): decay 0.9,
    /// momentum 0.9, ε 1e-3.
    public init(groups: [ParameterGroup], learningRate: Double = 0.016, decay: Double = 0.9, momentum: Double = 0.9, epsilon: Double = 1e-3) throws {
        try OptimizerCore.require(learningRate >= 0, "learning rate", learningRate, "at least 0")
        try OptimizerCore.require(decay >= 0 && decay < 1, "decay", decay, "in [0, 1)")
        try OptimizerCore.require(momentum >= 0, "momentum", momentum, "at least 0")
        try OptimizerCore.require(epsilon >= 0, "epsilon", epsilon, "at least 0")
        core = try OptimizerCore(groups: groups)
        self.groups = groups
        self.learningRate = learningRate
        self.decay = decay
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// RMSProp over `parameters` split by ``ParameterGroup/decayingWeights(_:weightDecay:learningRateScale:)``.
    public convenience init(
        parameters: [(key: String, parameter: Parameter)], learningRate: Double = 0.016, decay: Double = 0.9,
        momentum: Double = 0.9, epsilon: Double = 1e-3, weightDecay: Double = 0
    ) throws {
        try self.init(
            groups: ParameterGroup.decayingWeights(parameters, weightDecay: weightDecay), learningRate: learningRate,
            decay: decay, momentum: momentum, epsilon: epsilon)
    }

    public func step() throws {
        let mix = Float(1 - decay)
        let momentum = Float(self.momentum)
        let epsilon = Float(self.epsilon)
        let usesMomentum = self.momentum > 0
        for (group, key, parameter, gradient) in try core.updates() {
            let rate = Float(learningRate * group.learningRateScale)
            let decay = Float(group.weightDecay)
            var square = squareAverages.removeValue(forKey: key) ?? Tensor(repeating: 1, shape: parameter.shape)
            // Without momentum the buffer is never read: an empty stand-in saves the allocation.
            var buffer = usesMomentum ? momentumBuffers.removeValue(forKey: key) ?? Tensor.zeros(parameter.shape) : Tensor.zeros([0])
            steps[key, default: 0] += 1
            gradient.withUnsafeBufferPointer { g in
                parameter.value.withUnsafeMutableBufferPointer { p in
                    square.withUnsafeMutableBufferPointer { s in
                        buffer.withUnsafeMutableBufferPointer { b in
                            for i in 0..<p.count {
                                let d = decay != 0 ? g[i] + decay * p[i] : g[i]
                                s[i] = s[i] + mix * (d * d - s[i])
                                let root = (s[i] + epsilon).squareRoot()
                                if usesMomentum {
                                    b[i] = b[i] * momentum
                                    b[i] = b[i] + rate * d / root
                                    p[i] = p[i] + -b[i]
                                } else {
                                    p[i] = p[i] + -rate * d / root
                                }
                            }
                        }
                    }
                }
            }
            squareAverages[key] = square
            if usesMomentum { momentumBuffers[key] = buffer }
        }
    }

    public var state: OptimizerState {
        var slots = ["square_avg": squareAverages]
        if momentum > 0 { slots["momentum_buffer"] = momentumBuffers }
        return OptimizerState(kind: "rmsprop", tensors: OptimizerCore.flatten(slots), steps: steps)
    }

    public func load(_ state: OptimizerState) throws {
        let names = momentum > 0 ? ["square_avg", "momentum_buffer"] : ["square_avg"]
        let slots = try core.restore(state, kind: "rmsprop", slots: names, requiredFor: Set(state.steps.keys))
        squareAverages = slots["square_avg"]!
        momentumBuffers = slots["momentum_buffer"] ?? [:]
        steps = state.steps
    }
}
