import MobileNetTensor

/// Squeeze-and-excitation (Hu et al., 2018) as MobileNetV3 uses it: average each channel
/// (squeeze), pass the vector through a 1x1-conv bottleneck (`fc1`, ReLU, `fc2`, hard-sigmoid),
/// and scale each channel of the input by the result (excitation).
public final class SqueezeExcitation: Layer {
    public let fc1: Conv2D
    public let fc2: Conv2D
    public let activation: Activation
    public let scaleActivation: Activation

    public init(
        inputChannels: Int, squeezeChannels: Int,
        activation: Activation = .relu, scaleActivation: Activation = .hardSigmoid
    ) {
        fc1 = Conv2D(inputChannels: inputChannels, outputChannels: squeezeChannels, kernelSize: 1)
        fc2 = Conv2D(inputChannels: squeezeChannels, outputChannels: inputChannels, kernelSize: 1)
        self.activation = activation
        self.scaleActivation = scaleActivation
    }

    public var children: [(name: String, module: any Module)] {
        [("fc1", fc1), ("fc2", fc2)]
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let squeezed = try globalAveragePool(input)
        let hidden = try MobileNetTensor.activation(fc1(squeezed), activation)
        let scale = try MobileNetTensor.activation(fc2(hidden), scaleActivation)
        return try multiplyChannels(input, by: scale)
    }
}

extension SqueezeExcitation: InferenceLowering {
    /// Pool, the two 1x1 convolutions with their activations fused, then the channel scaling.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let me = ObjectIdentifier(self)
        let pooled = graph.globalAveragePool(input, label: .init(layer: me, part: "avgpool", kind: .squeezeExcitation))
        let hidden = try graph.convolution(pooled, fc1, norm: nil, post: [.activation(activation)], kind: .squeezeExcitation)
        let scale = try graph.convolution(hidden, fc2, norm: nil, post: [.activation(scaleActivation)], kind: .squeezeExcitation)
        return graph.multiplyChannels(input, by: scale, label: .init(layer: me, part: "scale", kind: .squeezeExcitation))
    }
}
