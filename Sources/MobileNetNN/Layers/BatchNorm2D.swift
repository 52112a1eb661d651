import MobileNetTensor

/// Batch normalization over the channels of an NHWC map, as PyTorch's `nn.BatchNorm2d`.
///
/// While training it normalizes with the batch's statistics and updates the running ones:
/// `running = (1 - momentum) · running + momentum · batch` (unbiased variance). In evaluation
/// it uses the running statistics. Both modes are differentiable; in training the gradient also
/// flows through the batch statistics.
public final class BatchNorm2D: Layer, ModeDependent, ParameterInitializing {
    /// γ and β.
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter
    public let epsilon: Float
    public let momentum: Float
    public var isTraining = false

    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        self.bias = Parameter(.zeros([channels]))
        self.runningMean = Parameter(.zeros([channels]), trainable: false)
        self.runningVariance = Parameter(Tensor(repeating: 1, shape: [channels]), trainable: false)
        self.epsilon = epsilon
        self.momentum = momentum
    }

    public var channels: Int { weight.shape[0] }

    public var localState: [(name: String, parameter: Parameter)] {
        [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVariance)]
    }

    public func resetParameters(using generator: inout SplitMix64) {
        weight.value = Tensor(repeating: 1, shape: [channels])
        bias.value = .zeros([channels])
        runningMean.value = .zeros([channels])
        runningVariance.value = Tensor(repeating: 1, shape: [channels])
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output: Tensor
        if isTraining {
            let result = try batchNormTraining(input, scale: weight.tracked, shift: bias.tracked, epsilon: epsilon)
            updateRunningStatistics(mean: result.mean, variance: result.variance, count: input.elementCount / channels)
            output = result.output
        } else {
            output = try batchNorm(
                input, mean: runningMean.value, variance: runningVariance.value,
                scale: weight.tracked, shift: bias.tracked, epsilon: epsilon)
        }
        ForwardTrace.record(self, output: output)
        return output
    }

    private func updateRunningStatistics(mean: Tensor, variance: Tensor, count: Int) {
        let unbiasing = count > 1 ? Float(count) / Float(count - 1) : 1
        runningMean.value.withUnsafeMutableBufferPointer { running in
            for c in running.indices { running[c] = (1 - momentum) * running[c] + momentum * mean[c] }
        }
        runningVariance.value.withUnsafeMutableBufferPointer { running in
            for c in running.indices { running[c] = (1 - momentum) * running[c] + momentum * variance[c] * unbiasing }
        }
    }
}
