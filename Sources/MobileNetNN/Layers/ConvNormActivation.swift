import MobileNetTensor

/// Convolution, batch norm, then an optional activation: the unit every MobileNet is built from
/// (torchvision's `Conv2dNormActivation`; state keys `0.weight`, `1.weight`, `1.running_mean`, ...).
///
/// Padding is `(kernelSize - 1) / 2 · dilation`, so stride 1 keeps the map's size and stride 2
/// halves it (rounding up), as in PyTorch.
public final class ConvNormActivation: Layer {
    public let convolution: Conv2D
    public let normalization: BatchNorm2D
    public let activation: Activation?

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int = 3, stride: Int = 1,
        groups: Int = 1, dilation: Int = 1, activation: Activation?,
        normEpsilon: Float = 1e-5, normMomentum: Float = 0.1
    ) {
        convolution = Conv2D(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
            stride: stride, padding: (kernelSize - 1) / 2 * dilation, dilation: dilation, groups: groups, bias: false)
        normalization = BatchNorm2D(channels: outputChannels, epsilon: normEpsilon, momentum: normMomentum)
        self.activation = activation
    }

    public var children: [(name: String, module: any Module)] {
        [("0", convolution), ("1", normalization)]
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let normalized = try normalization(convolution(input))
        guard let activation else { return normalized }
        return try MobileNetTensor.activation(normalized, activation)
    }
}

extension ConvNormActivation: InferenceLowering {
    /// The unit as one fused convolution: batch norm folded into the weights, the activation a
    /// post-operation.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        try lower(input, into: &graph, residual: nil, kind: nil)
    }

    /// The same, adding `residual` before the activation, as blocks that end in a linear
    /// projection do (V3's projection unit has no activation, so the add is the last step).
    /// `kind` says what the unit is in its block (``InferenceGraph/StepKind``).
    public func lower(
        _ input: InferenceGraph.Value, into graph: inout InferenceGraph, residual: InferenceGraph.Value? = nil,
        kind: InferenceGraph.StepKind?
    ) throws -> InferenceGraph.Value {
        let add = residual.map { [InferenceGraph.PostOperation.add($0)] } ?? []
        let activationStep = activation.map { [InferenceGraph.PostOperation.activation($0)] } ?? []
        return try graph.convolution(input, convolution, norm: normalization, post: add + activationStep, kind: kind)
    }
}
