import MobileNetTensor

// Lowering a trained model into an `InferenceGraph`: batch norm folded into the preceding
// convolution's weights and bias, activations and residual adds attached to the convolution
// that produces their input, dropout dropped. The graph is a snapshot: later changes to the
// model's parameters do not reach it. Each layer's lowering sits beside the layer
// (`ConvNormActivation+Lowering.swift`, the blocks in their model's file).

/// A model or block that can write itself into an ``InferenceGraph``.
public protocol InferenceLowering {
    /// Appends this layer's work on `input` and returns its output value.
    func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value
}

/// A layer arrangement the lowering does not know how to turn into fused graph steps.
public enum LoweringError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A batch norm whose channel count differs from the convolution it would be folded into.
    case normChannelMismatch(normChannels: Int, convolutionOutputs: Int)
    /// A layer of a type that has no lowering, found inside `container`.
    case notLowerable(layer: String, container: String)

    public var description: String {
        switch self {
        case let .normChannelMismatch(normChannels, convolutionOutputs):
            "cannot fold a batch norm of \(normChannels) channels into a convolution with \(convolutionOutputs) outputs"
        case let .notLowerable(layer, container):
            "\(layer) in \(container) cannot be lowered for inference"
        }
    }
}

/// `convolution` followed by `norm`, as one convolution with a bias:
/// `w' = w · γ / √(σ² + ε)` per output channel, `b' = (b − μ) · γ / √(σ² + ε) + β`.
func foldBatchNorm(_ convolution: Conv2D, _ norm: BatchNorm2D?) throws -> (weight: Tensor, bias: Tensor) {
    let channels = convolution.outputChannels
    let bias = convolution.bias?.value ?? Tensor.zeros([channels])
    guard let norm else { return (convolution.weight.value, bias) }
    guard norm.channels == channels else {
        throw LoweringError.normChannelMismatch(normChannels: norm.channels, convolutionOutputs: channels)
    }
    var weight = convolution.weight.value
    var foldedBias = Tensor.zeros([channels])
    let perChannel = weight.elementCount / channels
    weight.withUnsafeMutableBufferPointer { w in
        foldedBias.withUnsafeMutableBufferPointer { b in
            for c in 0..<channels {
                let scale = Double(norm.weight.value[c]) / (Double(norm.runningVariance.value[c]) + Double(norm.epsilon)).squareRoot()
                for i in 0..<perChannel { w[c * perChannel + i] = Float(Double(w[c * perChannel + i]) * scale) }
                b[c] = Float((Double(bias[c]) - Double(norm.runningMean.value[c])) * scale + Double(norm.bias.value[c]))
            }
        }
    }
    return (weight, foldedBias)
}

extension InferenceGraph {
    /// A convolution with its batch norm folded in and `post` fused, labelled with the
    /// convolution layer (its path names the step) and `kind`.
    public mutating func convolution(
        _ input: Value, _ convolution: Conv2D, norm: BatchNorm2D?, post: [PostOperation] = [], kind: StepKind? = nil
    ) throws -> Value {
        let (weight, bias) = try foldBatchNorm(convolution, norm)
        return self.convolution(
            input, weight: weight, bias: bias, geometry: convolution.geometry, post: post,
            label: StepLabel(layer: ObjectIdentifier(convolution), kind: kind))
    }

    /// A fully connected layer with `post` fused.
    public mutating func linear(_ input: Value, _ layer: Linear, post: [PostOperation] = []) -> Value {
        linear(
            input, weight: layer.weight.value, bias: layer.bias?.value ?? .zeros([layer.outputFeatures]), post: post,
            label: StepLabel(layer: ObjectIdentifier(layer), kind: .classifier))
    }
}
