import MobileNetNN
import MobileNetTensor

/// Stochastic gradient descent with momentum, dampening and Nesterov's variant, exactly as
/// PyTorch's `torch.optim.SGD` updates a parameter `p` with gradient `g`:
///
/// ```text
/// g ← g + weightDecay · p                          (L2 penalty, when weightDecay ≠ 0)
/// b ← g                                            (first update)
/// b ← momentum · b + (1 − dampening) · g           (later updates)
/// g ← g + momentum · b   (Nesterov)   or   g ← b
/// p ← p − lr · g
/// ```
///
/// Checked against PyTorch for five steps (`Scripts/generate_training_fixtures.py`).
public final class SGD: Optimizer {
    public let groups: [ParameterGroup]
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let nesterov: Bool
    private let core: OptimizerCore
    /// `momentum_buffer` by parameter key.
    private var momentumBuffers: [String: Tensor] = [:]

    /// - Throws: ``OptimizerError`` for a negative rate, momentum or dampening, for Nesterov
    ///   without momentum or with dampening (PyTorch refuses both), or for a parameter in two groups.
    public init(groups: [ParameterGroup], learningRate: Double = 0.1, momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) throws {
        try OptimizerCore.require(learningRate >= 0, "learning rate", learningRate, "at least 0")
        try OptimizerCore.require(momentum >= 0, "momentum", momentum, "at least 0")
        try OptimizerCore.require(dampening >= 0, "dampening", dampening, "at least 0")
        if nesterov {
            try OptimizerCore.require(momentum > 0, "momentum", momentum, "above 0 with Nesterov momentum")
            try OptimizerCore.require(dampening == 0, "dampening", dampening, "0 with Nesterov momentum")
        }
        core = try OptimizerCore(groups: groups)
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    /// SGD over `parameters` split by ``ParameterGroup/decayingWeights(_:weightDecay:learningRateScale:)``:
    /// weight decay on weights, none on batch-norm parameters and biases.
    public convenience init(
        parameters: [(key: String, parameter: Parameter)], learningRate: Double = 0.1, momentum: Double = 0,
        dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0
    ) throws {
        try self.init(
            groups: ParameterGroup.decayingWeights(parameters, weightDecay: weightDecay), learningRate: learningRate,
            momentum: momentum, dampening: dampening, nesterov: nesterov)
    }

    public func step() throws {
        // PyTorch passes these as scalars to float32 kernels: each becomes a Float once.
        let momentum = Float(self.momentum)
        let keep = Float(1 - dampening)
        for (group, key, parameter, gradient) in try core.updates() {
            let rate = -Float(learningRate * group.learningRateScale)
            let decay = Float(group.weightDecay)
            var buffer = momentumBuffers.removeValue(forKey: key)
            let isFirst = buffer == nil
            if self.momentum != 0 && isFirst { buffer = Tensor(uninitializedShape: parameter.shape) }
            gradient.withUnsafeBufferPointer { g in
                parameter.value.withUnsafeMutableBufferPointer { p in
                    if var momentumBuffer = buffer {
                        momentumBuffer.withUnsafeMutableBufferPointer { b in
                            for i in 0..<p.count {
                                let d = decay != 0 ? g[i] + decay * p[i] : g[i]
                                b[i] = isFirst ? d : b[i] * momentum + keep * d
                                let direction = nesterov ? d + momentum * b[i] : b[i]
                                p[i] = p[i] + rate * direction
                            }
                        }
                        buffer = momentumBuffer
                    } else {
                        for i in 0..<p.count {
                            let d = decay != 0 ? g[i] + decay * p[i] : g[i]
                            p[i] = p[i] + rate * d
                        }
                    }
                }
            }
            if let buffer { momentumBuffers[key] = buffer }
        }
    }

    public var state: OptimizerState {
        OptimizerState(kind: "sgd", tensors: OptimizerCore.flatten(["momentum_buffer": momentumBuffers]))
    }

    public func load(_ state: OptimizerState) throws {
        momentumBuffers = try core.restore(state, kind: "sgd", slots: ["momentum_buffer"])["momentum_buffer"]!
    }
}
