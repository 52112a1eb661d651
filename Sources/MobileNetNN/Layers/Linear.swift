import MobileNetTensor

/// A fully connected layer, `y = x Wᵀ + b`, with PyTorch's `nn.Linear` weight layout `[out, in]`.
public final class Linear: Layer, ParameterInitializing {
    public let weight: Parameter
    public let bias: Parameter?

    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true) {
        self.weight = Parameter(.zeros([outputFeatures, inputFeatures]))
        self.bias = bias ? Parameter(.zeros([outputFeatures])) : nil
    }

    public var inputFeatures: Int { weight.shape[1] }
    public var outputFeatures: Int { weight.shape[0] }

    public var localState: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// torchvision's MobileNet classifier initialization: normal(0, 0.01), zero bias.
    public func resetParameters(using generator: inout SplitMix64) {
        weight.value = .normal(weight.shape, standardDeviation: 0.01, using: &generator)
        bias?.value = .zeros([outputFeatures])
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try linear(input, weight: weight.tracked, bias: bias?.tracked)
        ForwardTrace.record(self, output: output, multiplyAdds: input.shape[0] * inputFeatures * outputFeatures)
        return output
    }
}
