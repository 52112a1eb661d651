// MobileNetV2: Inverted Residuals and Linear Bottlenecks.
// Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh Chen.
// CVPR 2018, arXiv:1801.04381.
//
// Structure, state-dict keys (`features.3.conv.1.0.weight`, `classifier.1.weight`) and channel
// rounding follow torchvision's `mobilenet_v2`. As there, the last 1x1 convolution keeps 1280
// channels for α < 1 (1280 · max(1, α)), the paper's choice for small models.

import MobileNetNN
import MobileNetTensor

/// One row of the paper's Table 2: `repeats` blocks with expansion factor `expansion` (t),
/// `channels` outputs (c, at α = 1), the first with `stride` (s).
public struct InvertedResidualStage: Hashable, Sendable {
    public var expansion: Int
    public var channels: Int
    public var repeats: Int
    public var stride: Int
}

/// The inverted residual block: 1x1 expansion by t with ReLU6, 3x3 depthwise with ReLU6, then a
/// *linear* 1x1 projection back to a thin bottleneck; the shortcut joins the thin ends when the
/// stride is 1 and the channel counts match (torchvision's `InvertedResidual`, child `conv`:
/// `conv.0` the expansion when t > 1, then the depthwise unit, the projection and its batch norm).
public final class InvertedResidual: Layer {
    /// The 1x1 expansion to t times the input channels; `nil` when t = 1.
    public let expansion: ConvNormActivation?
    public let depthwise: ConvNormActivation
    /// The linear projection: no activation after its batch norm.
    public let projection: Conv2D
    public let projectionNorm: BatchNorm2D
    public let usesResidual: Bool
    public let stride: Int
    /// The units in state-dict order, under the child name `conv`.
    private let units: Sequential

    public init(inputChannels: Int, outputChannels: Int, stride: Int, expansion: Int) {
        let hidden = Int((Double(inputChannels) * Double(expansion)).rounded(.toNearestOrEven))
        self.expansion = expansion == 1
            ? nil : ConvNormActivation(inputChannels: inputChannels, outputChannels: hidden, kernelSize: 1, activation: .relu6)
        depthwise = ConvNormActivation(
            inputChannels: hidden, outputChannels: hidden, kernelSize: 3, stride: stride, groups: hidden, activation: .relu6)
        projection = Conv2D(inputChannels: hidden, outputChannels: outputChannels, kernelSize: 1, bias: false)
        projectionNorm = BatchNorm2D(channels: outputChannels)
        let units: [(any Layer)?] = [self.expansion, depthwise, projection, projectionNorm]
        self.units = Sequential(units.compactMap { $0 })
        self.stride = stride
        usesResidual = stride == 1 && inputChannels == outputChannels
    }

    public var children: [(name: String, module: any Module)] { [("conv", units)] }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try units(input)
        return usesResidual ? try add(input, output) : output
    }
}

extension InvertedResidual: InferenceLowering {
    /// The expansion and depthwise units fused as they are; the projection with its batch norm
    /// folded in and the shortcut's add as its post-operation.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        if let expansion { x = try expansion.lower(x, into: &graph, kind: .expand) }
        x = try depthwise.lower(x, into: &graph, kind: .depthwise)
        return try graph.convolution(x, projection, norm: projectionNorm, post: usesResidual ? [.add(input)] : [], kind: .project)
    }
}

public final class MobileNetV2: FeaturesClassifier {
    /// The paper's Table 2 after the 32-channel stem: t, c, n, s.
    public static let stages: [InvertedResidualStage] = [
        .init(expansion: 1, channels: 16, repeats: 1, stride: 1),
        .init(expansion: 6, channels: 24, repeats: 2, stride: 2),
        .init(expansion: 6, channels: 32, repeats: 3, stride: 2),
        .init(expansion: 6, channels: 64, repeats: 4, stride: 2),
        .init(expansion: 6, channels: 96, repeats: 3, stride: 1),
        .init(expansion: 6, channels: 160, repeats: 3, stride: 2),
        .init(expansion: 6, channels: 320, repeats: 1, stride: 1),
    ]
    public static let stemChannels = 32
    public static let lastChannels = 1280

    public let configuration: ModelConfiguration
    public let features: Sequential
    public let classifier: Sequential
    public let featureStrides: [Int]
    public let featureChannels: [Int]

    public init(_ configuration: ModelConfiguration) {
        self.configuration = configuration
        let width = configuration.widthMultiplier
        let lastChannels = makeDivisible(Double(Self.lastChannels) * max(1, width))

        var stack = FeatureStack()
        let stemChannels = makeDivisible(Double(Self.stemChannels) * width)
        stack.append(
            ConvNormActivation(inputChannels: 3, outputChannels: stemChannels, stride: 2, activation: .relu6),
            stride: 2, outputChannels: stemChannels)
        for stage in Self.stages {
            let outputChannels = makeDivisible(Double(stage.channels) * width)
            for repeatIndex in 0..<stage.repeats {
                let stride = repeatIndex == 0 ? stage.stride : 1
                stack.append(
                    InvertedResidual(
                        inputChannels: stack.outputChannels, outputChannels: outputChannels, stride: stride,
                        expansion: stage.expansion),
                    stride: stride, outputChannels: outputChannels)
            }
        }
        stack.append(
            ConvNormActivation(inputChannels: stack.outputChannels, outputChannels: lastChannels, kernelSize: 1, activation: .relu6),
            stride: 1, outputChannels: lastChannels)
        features = Sequential(stack.layers)
        featureStrides = stack.strides
        featureChannels = stack.channels
        classifier = Sequential([
            Dropout(probability: configuration.dropout),
            Linear(inputFeatures: lastChannels, outputFeatures: configuration.classCount),
        ])
    }
}
