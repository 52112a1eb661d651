#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MobileNetNN
import MobileNetTensor

/// Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as PyTorch's
/// `torch.optim.AdamW` computes it, for the `t`-th update of a parameter:
///
/// ```text
/// p ← p · (1 − lr · weightDecay)                     (decay applied to the weights, not the gradient)
/// m ← m + (1 − β₁) · (g − m)
/// v ← β₂ · v + (1 − β₂) · g²
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// `t` counts each parameter's own updates, so a parameter that had no gradient for a step is
/// not corrected as if it had. Checked against PyTorch for five steps
/// (`Scripts/generate_training_fixtures.py`).
public final class AdamW: Optimizer {
    public let groups: [ParameterGroup]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    private let core: OptimizerCore
    private var firstMoments: [String: Tensor] = [:]
    private var secondMoments: [String: Tensor] = [:]
    private var steps: [String: Int] = [:]

    public init(groups: [ParameterGroup], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) throws {
        try OptimizerCore.require(learningRate >= 0, "learning rate", learningRate, "at least 0")
        try OptimizerCore.require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)")
        try OptimizerCore.require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)")
        try OptimizerCore.require(epsilon >= 0, "epsilon", epsilon, "at least 0")
        core = try OptimizerCore(groups: groups)
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// AdamW over `parameters` split by ``ParameterGroup/decayingWeights(_:weightDecay:learningRateScale:)``
    /// (PyTorch's default decay is 0.01 on every parameter; here it spares norms and biases).
    public convenience init(
        parameters: [(key: String, parameter: Parameter)], learningRate: Double = 1e-3, beta1: Double = 0.9,
        beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01
    ) throws {
        try self.init(
            groups: ParameterGroup.decayingWeights(parameters, weightDecay: weightDecay), learningRate: learningRate,
            beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func step() throws {
        let mix1 = Float(1 - beta1)
        let beta2 = Float(self.beta2)
        let mix2 = Float(1 - self.beta2)
        let epsilon = Float(self.epsilon)
        for (group, key, parameter, gradient) in try core.updates() {
            let rate = learningRate * group.learningRateScale
            let step = steps[key, default: 0] + 1
            steps[key] = step
            // The scalars are computed in double precision, as PyTorch's Python floats are.
            let shrink = Float(1 - rate * group.weightDecay)
            let decays = group.weightDecay != 0
            let stepSize = -Float(rate / (1 - pow(self.beta1, Double(step))))
            let correction = Float(pow(1 - pow(self.beta2, Double(step)), 0.5))
            var first = firstMoments.removeValue(forKey: key) ?? Tensor.zeros(parameter.shape)
            var second = secondMoments.removeValue(forKey: key) ?? Tensor.zeros(parameter.shape)
            gradient.withUnsafeBufferPointer { g in
                parameter.value.withUnsafeMutableBufferPointer { p in
                    first.withUnsafeMutableBufferPointer { m in
                        second.withUnsafeMutableBufferPointer { v in
                            for i in 0..<p.count {
                                if decays { p[i] = p[i] * shrink }
                                m[i] = linearInterpolation(m[i], g[i], mix1)
                                v[i] = v[i] * beta2 + mix2 * g[i] * g[i]
                                let denominator = v[i].squareRoot() / correction + epsilon
                                p[i] = p[i] + stepSize * m[i] / denominator
                            }
                        }
                    }
                }
            }
            firstMoments[key] = first
            secondMoments[key] = second
        }
    }

    public var state: OptimizerState {
        OptimizerState(
            kind: "adamw", tensors: OptimizerCore.flatten(["exp_avg": firstMoments, "exp_avg_sq": secondMoments]), steps: steps)
    }

    public func load(_ state: OptimizerState) throws {
        let slots = try core.restore(state, kind: "adamw", slots: ["exp_avg", "exp_avg_sq"], requiredFor: Set(state.steps.keys))
        firstMoments = slots["exp_avg"]!
        secondMoments = slots["exp_avg_sq"]!
        steps = state.steps
    }
}
