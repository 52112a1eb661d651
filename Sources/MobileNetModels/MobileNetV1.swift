// MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications.
// Andrew G. Howard, Menglong Zhu, Bo Chen, Dmitry Kalenichenko, Weijun Wang, Tobias Weyand,
// Marco Andreetto, Hartwig Adam. arXiv:1704.04861, 2017.
//
// Structure and state-dict keys follow timm's `mobilenetv1_100` (`conv_stem`, `bn1`,
// `blocks.S.B.conv_dw`, ..., `classifier`), so its checkpoints load as they are.
// Deviations from the paper, as in timm: ReLU6 instead of ReLU, and channel counts at α ≠ 1
// rounded to multiples of 8 by `makeDivisible` (the paper truncates).

import MobileNetNN
import MobileNetTensor

/// One row of the paper's Table 1 as a stage: `repeats` depthwise separable blocks whose first
/// block has `stride` and all of which output `channels` (at α = 1).
public struct DepthwiseSeparableStage: Hashable, Sendable {
    public var channels: Int
    public var repeats: Int
    public var stride: Int
}

/// A 3x3 depthwise convolution (one filter per channel) and a 1x1 pointwise convolution that
/// mixes channels, each followed by batch norm and ReLU6: about 8-9x fewer multiply-adds than a
/// full 3x3 convolution (timm's `DepthwiseSeparableConv`, "dsa": activation after the pointwise, no skip).
public final class DepthwiseSeparable: Layer {
    public let depthwise: Conv2D
    public let depthwiseNorm: BatchNorm2D
    public let pointwise: Conv2D
    public let pointwiseNorm: BatchNorm2D

    public init(inputChannels: Int, outputChannels: Int, stride: Int) {
        depthwise = Conv2D(
            inputChannels: inputChannels, outputChannels: inputChannels, kernelSize: 3,
            stride: stride, padding: 1, groups: inputChannels, bias: false)
        depthwiseNorm = BatchNorm2D(channels: inputChannels)
        pointwise = Conv2D(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, bias: false)
        pointwiseNorm = BatchNorm2D(channels: outputChannels)
    }

    public var children: [(name: String, module: any Module)] {
        [("conv_dw", depthwise), ("bn1", depthwiseNorm), ("conv_pw", pointwise), ("bn2", pointwiseNorm)]
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let spatial = try relu6(depthwiseNorm(depthwise(input)))
        return try relu6(pointwiseNorm(pointwise(spatial)))
    }
}

extension DepthwiseSeparable: InferenceLowering {
    /// Two fused convolutions, each with its batch norm folded in and ReLU6 attached.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let spatial = try graph.convolution(input, depthwise, norm: depthwiseNorm, post: [.activation(.relu6)], kind: .depthwise)
        return try graph.convolution(spatial, pointwise, norm: pointwiseNorm, post: [.activation(.relu6)], kind: .pointwise)
    }
}

public final class MobileNetV1: ImageClassifier {
    /// The paper's Table 1 after the stem, one stage per stride step (timm's `dsa_rN_k3_sS_cC`).
    public static let stages: [DepthwiseSeparableStage] = [
        .init(channels: 64, repeats: 1, stride: 1),
        .init(channels: 128, repeats: 2, stride: 2),
        .init(channels: 256, repeats: 2, stride: 2),
        .init(channels: 512, repeats: 6, stride: 2),
        .init(channels: 1024, repeats: 2, stride: 2),
    ]
    public static let stemChannels = 32

    public let configuration: ModelConfiguration
    public let stemConvolution: Conv2D
    public let stemNorm: BatchNorm2D
    public let blocks: Sequential
    public let dropout: Dropout
    public let classifier: Linear
    public let featureStrides: [Int]
    public let featureChannels: [Int]
    private let stem: Stem

    public init(_ configuration: ModelConfiguration) {
        self.configuration = configuration
        let width = configuration.widthMultiplier
        let stemChannels = makeDivisible(Double(Self.stemChannels) * width)
        stemConvolution = Conv2D(inputChannels: 3, outputChannels: stemChannels, kernelSize: 3, stride: 2, padding: 1, bias: false)
        stemNorm = BatchNorm2D(channels: stemChannels)
        stem = Stem(convolution: stemConvolution, norm: stemNorm)

        var channels = stemChannels
        var strides = [2], widths = [stemChannels]
        var stageLayers: [any Layer] = []
        for stage in Self.stages {
            let outputChannels = makeDivisible(Double(stage.channels) * width)
            var stageBlocks: [any Layer] = []
            for repeatIndex in 0..<stage.repeats {
                stageBlocks.append(DepthwiseSeparable(
                    inputChannels: channels, outputChannels: outputChannels, stride: repeatIndex == 0 ? stage.stride : 1))
                channels = outputChannels
            }
            stageLayers.append(Sequential(stageBlocks))
            strides.append(stage.stride)
            widths.append(outputChannels)
        }
        blocks = Sequential(stageLayers)
        featureStrides = strides
        featureChannels = widths
        dropout = Dropout(probability: configuration.dropout)
        classifier = Linear(inputFeatures: channels, outputFeatures: configuration.classCount)
    }

    public var children: [(name: String, module: any Module)] {
        [("conv_stem", stemConvolution), ("bn1", stemNorm), ("blocks", blocks), ("dropout", dropout), ("classifier", classifier)]
    }

    public var featureLayers: [any Layer] { [stem] + blocks.layers }

    public func classify(pooled: Tensor) throws -> Tensor {
        try classifier(dropout(pooled))
    }

    /// The stem as one feature layer; its modules stay top-level children (`conv_stem`, `bn1`).
    private final class Stem: Layer {
        let convolution: Conv2D
        let norm: BatchNorm2D

        init(convolution: Conv2D, norm: BatchNorm2D) {
            self.convolution = convolution
            self.norm = norm
        }

        func callAsFunction(_ input: Tensor) throws -> Tensor {
            try relu6(norm(convolution(input)))
        }
    }
}

extension MobileNetV1: InferenceLowering {
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        let stem = try graph.convolution(input, stemConvolution, norm: stemNorm, post: [.activation(.relu6)], kind: .stem)
        let features = try blocks.lower(stem, into: &graph)
        return graph.linear(graph.globalAveragePool(features), classifier)
    }
}
