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
/// stride is 1 and the channel counts match (torchvision's `InvertedResidual`, child `conv`).
public final class InvertedResidual: Layer {
    public let layers: Sequential
    public let usesResidual: Bool
    public let stride: Int

    public init(inputChannels: Int, outputChannels: Int, stride: Int, expansion: Int) {
        let hidden = Int((Double(inputChannels) * Double(expansion)).rounded(.toNearestOrEven))
        var layers: [any Layer] = []
        if expansion != 1 {
            layers.append(ConvNormActivation(inputChannels: inputChannels, outputChannels: hidden, kernelSize: 1, activation: .relu6))
        }
        layers.append(ConvNormActivation(
            inputChannels: hidden, outputChannels: hidden, kernelSize: 3, stride: stride, groups: hidden, activation: .relu6))
        layers.append(Conv2D(inputChannels: hidden, outputChannels: outputChannels, kernelSize: 1, bias: false))
        layers.append(BatchNorm2D(channels: outputChannels))
        self.layers = Sequential(layers)
        self.stride = stride
        usesResidual = stride == 1 && inputChannels == outputChannels
    }

    public var children: [(name: String, module: any Module)] { [("conv", layers)] }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try layers(input)
        return usesResidual ? try add(input, output) : output
    }
}

public final class MobileNetV2: ImageClassifier {
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
        var channels = makeDivisible(Double(Self.stemChannels) * width)
        let lastChannels = makeDivisible(Double(Self.lastChannels) * max(1, width))

        var layers: [any Layer] = [
            ConvNormActivation(inputChannels: 3, outputChannels: channels, stride: 2, activation: .relu6),
        ]
        var strides = [2], widths = [channels]
        for stage in Self.stages {
            let outputChannels = makeDivisible(Double(stage.channels) * width)
            for repeatIndex in 0..<stage.repeats {
                let stride = repeatIndex == 0 ? stage.stride : 1
                layers.append(InvertedResidual(
                    inputChannels: channels, outputChannels: outputChannels, stride: stride, expansion: stage.expansion))
                channels = outputChannels
                strides.append(stride)
                widths.append(outputChannels)
            }
        }
        layers.append(ConvNormActivation(inputChannels: channels, outputChannels: lastChannels, kernelSize: 1, activation: .relu6))
        strides.append(1)
        widths.append(lastChannels)
        features = Sequential(layers)
        featureStrides = strides
        featureChannels = widths
        classifier = Sequential([
            Dropout(probability: configuration.dropout),
            Linear(inputFeatures: lastChannels, outputFeatures: configuration.classCount),
        ])
    }

    public var children: [(name: String, module: any Module)] {
        [("features", features), ("classifier", classifier)]
    }

    public var featureLayers: [any Layer] { features.layers }

    public func classify(pooled: Tensor) throws -> Tensor {
        try classifier(pooled)
    }
}
