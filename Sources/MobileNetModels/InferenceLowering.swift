import MobileNetNN
import MobileNetTensor

// Lowering a trained model into an `InferenceGraph`: batch norm folded into the preceding
// convolution's weights and bias, activations and residual adds attached to the convolution
// that produces their input, dropout dropped. The graph is a snapshot: later changes to the
// model's parameters do not reach it.

/// A model or block that can write itself into an ``InferenceGraph``.
public protocol InferenceLowering {
    /// Appends this layer's work on `input` and returns its output value.
    func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value
}

/// A layer arrangement the lowering does not know how to fuse.
public struct LoweringError: Error, CustomStringConvertible {
    public var description: String
}

/// `convolution` followed by `norm`, as one convolution with a bias:
/// `w' = w · γ / √(σ² + ε)` per output channel, `b' = (b − μ) · γ / √(σ² + ε) + β`.
func foldBatchNorm(_ convolution: Conv2D, _ norm: BatchNorm2D?) throws -> (weight: Tensor, bias: Tensor) {
    let channels = convolution.outputChannels
    let bias = convolution.bias?.value ?? Tensor.zeros([channels])
    guard let norm else { return (convolution.weight.value, bias) }
    guard norm.channels == channels else {
        throw LoweringError(description: "batch norm of \(norm.channels) channels after a convolution with \(channels) outputs")
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
    /// A convolution with its batch norm folded in and `post` fused.
    mutating func convolution(
        _ input: Value, _ convolution: Conv2D, norm: BatchNorm2D?, post: [PostOperation]
    ) throws -> Value {
        let (weight, bias) = try foldBatchNorm(convolution, norm)
        return self.convolution(input, weight: weight, bias: bias, geometry: convolution.geometry, post: post)
    }
}

extension ConvNormActivation {
    /// The unit as one fused convolution; `extra` post-operations (a residual add) go before the
    /// activation, as in the blocks that end in a linear projection.
    func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph, extra: [InferenceGraph.PostOperation]) throws
        -> InferenceGraph.Value
    {
        let activationStep = activation.map { [InferenceGraph.PostOperation.activation($0)] } ?? []
        return try graph.convolution(input, convolution, norm: normalization, post: extra + activationStep)
    }
}

extension ConvNormActivation: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        try lower(input, into: &graph, extra: [])
    }
}

extension SqueezeExcitation: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let pooled = graph.globalAveragePool(input)
        let hidden = try graph.convolution(pooled, fc1, norm: nil, post: [.activation(activation)])
        let scale = try graph.convolution(hidden, fc2, norm: nil, post: [.activation(scaleActivation)])
        return graph.multiplyChannels(input, by: scale)
    }
}

extension InvertedResidual: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        let units = layers.layers
        for unit in units.dropLast(2) {
            guard let unit = unit as? ConvNormActivation else {
                throw LoweringError(description: "InvertedResidual holds \(type(of: unit)) where a ConvNormActivation belongs")
            }
            x = try unit.lower(x, into: &graph)
        }
        guard let projection = units[units.count - 2] as? Conv2D, let norm = units[units.count - 1] as? BatchNorm2D else {
            throw LoweringError(description: "InvertedResidual does not end in a convolution and a batch norm")
        }
        return try graph.convolution(x, projection, norm: norm, post: usesResidual ? [.add(input)] : [])
    }
}

extension MobileNetV3Block: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        let units = layers.layers
        for unit in units.dropLast() {
            guard let lowerable = unit as? InferenceLowering else {
                throw LoweringError(description: "MobileNetV3Block holds \(type(of: unit)), which cannot be lowered")
            }
            x = try lowerable.lower(x, into: &graph)
        }
        guard let projection = units.last as? ConvNormActivation else {
            throw LoweringError(description: "MobileNetV3Block does not end in a ConvNormActivation")
        }
        return try projection.lower(x, into: &graph, extra: usesResidual ? [.add(input)] : [])
    }
}

extension DepthwiseSeparable: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let spatial = try graph.convolution(input, depthwise, norm: depthwiseNorm, post: [.activation(.relu6)])
        return try graph.convolution(spatial, pointwise, norm: pointwiseNorm, post: [.activation(.relu6)])
    }
}

extension Sequential: InferenceLowering {
    /// Blocks in order; a classifier head's `Linear`s take the activation that follows them as a
    /// post-operation, and dropout (the identity at inference) disappears.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        var pendingLinear: (input: InferenceGraph.Value, layer: Linear, post: [InferenceGraph.PostOperation])?
        func flush() {
            if let pending = pendingLinear {
                x = graph.linear(
                    pending.input, weight: pending.layer.weight.value,
                    bias: pending.layer.bias?.value ?? .zeros([pending.layer.outputFeatures]), post: pending.post)
                pendingLinear = nil
            }
        }
        for layer in layers {
            switch layer {
            case is Dropout:
                continue
            case let linear as Linear:
                flush()
                pendingLinear = (x, linear, [])
            case let activation as ActivationLayer where pendingLinear != nil:
                pendingLinear!.post.append(.activation(activation.kind))
            case let lowerable as InferenceLowering:
                flush()
                x = try lowerable.lower(x, into: &graph)
            default:
                throw LoweringError(description: "\(type(of: layer)) cannot be lowered for inference here")
            }
        }
        flush()
        return x
    }
}

extension MobileNetV1: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let stem = try graph.convolution(input, stemConvolution, norm: stemNorm, post: [.activation(.relu6)])
        let features = try blocks.lower(stem, into: &graph)
        let pooled = graph.globalAveragePool(features)
        return graph.linear(pooled, weight: classifier.weight.value, bias: classifier.bias?.value ?? .zeros([classifier.outputFeatures]))
    }
}

extension MobileNetV2: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        try classifier.lower(graph.globalAveragePool(features.lower(input, into: &graph)), into: &graph)
    }
}

extension MobileNetV3: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        try classifier.lower(graph.globalAveragePool(features.lower(input, into: &graph)), into: &graph)
    }
}

extension ImageClassifier {
    /// The model as an inference graph: batch norm folded, activations and residual adds fused.
    public func inferenceGraph() throws -> InferenceGraph {
        guard let lowerable = self as? InferenceLowering else {
            throw LoweringError(description: "\(type(of: self)) cannot be lowered for inference")
        }
        var graph = InferenceGraph()
        _ = try lowerable.lower(graph.input(channels: 3), into: &graph)
        return graph
    }
}

/// A model compiled for fast inference: ``ImageClassifier/inferenceGraph()`` run by an
/// ``InferenceSession`` (fused oneDNN primitives, compiled once per input shape).
///
/// A snapshot of the weights when it was made; build a new one after training further.
public final class InferenceModel: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let session: InferenceSession

    public init(_ model: any ImageClassifier) throws {
        configuration = model.configuration
        session = InferenceSession(graph: try model.inferenceGraph())
    }

    /// Logits `[N, classes]` for an NHWC batch `[N, H, W, 3]` (H, W ≥ 32).
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try validateImageBatch(images)
        return try session.run(images)
    }
}
