// Searching for MobileNetV3.
// Andrew Howard, Mark Sandler, Grace Chu, Liang-Chieh Chen, Bo Chen, Mingxing Tan, Weijun Wang,
// Yukun Zhu, Ruoming Pang, Vijay Vasudevan, Quoc V. Le, Hartwig Adam. ICCV 2019, arXiv:1905.02244.
//
// Structure, state-dict keys (`features.4.block.2.fc1.weight`, `classifier.3.weight`) and
// rounding follow torchvision's `mobilenet_v3_large` / `mobilenet_v3_small`: batch norm with
// ε = 0.001 and momentum 0.01; the squeeze width is makeDivisible(expanded / 4, 8) (the paper
// says a quarter of the expanded width); and, unlike V2, the classifier's hidden width is scaled
// by α below 1 too.

import MobileNetNN
import MobileNetTensor

/// One row of the paper's Table 1 (Large) or Table 2 (Small): input channels, kernel, expanded
/// ("exp size") and output channels at α = 1, squeeze-and-excitation, nonlinearity, stride.
public struct BottleneckSetting: Hashable, Sendable {
    public var inputChannels: Int
    public var kernelSize: Int
    public var expandedChannels: Int
    public var outputChannels: Int
    public var usesSqueezeExcitation: Bool
    public var activation: Activation
    public var stride: Int

    public init(_ inputChannels: Int, _ kernelSize: Int, _ expandedChannels: Int, _ outputChannels: Int,
                _ usesSqueezeExcitation: Bool, _ activation: Activation, _ stride: Int) {
        self.inputChannels = inputChannels
        self.kernelSize = kernelSize
        self.expandedChannels = expandedChannels
        self.outputChannels = outputChannels
        self.usesSqueezeExcitation = usesSqueezeExcitation
        self.activation = activation
        self.stride = stride
    }

    /// The row with every channel count scaled by α and rounded to a multiple of 8.
    func scaled(by width: Double) -> BottleneckSetting {
        var row = self
        row.inputChannels = makeDivisible(Double(inputChannels) * width)
        row.expandedChannels = makeDivisible(Double(expandedChannels) * width)
        row.outputChannels = makeDivisible(Double(outputChannels) * width)
        return row
    }
}

/// MobileNetV3's bottleneck ("bneck"): an inverted residual whose depthwise kernel, activation
/// and optional squeeze-and-excitation come from its table row (torchvision's `InvertedResidual`
/// in `mobilenetv3.py`, child `block`). The expansion is skipped when it would not widen.
public final class MobileNetV3Block: Layer {
    public let layers: Sequential
    public let usesResidual: Bool
    public let setting: BottleneckSetting

    public init(_ setting: BottleneckSetting) {
        self.setting = setting
        let expanded = setting.expandedChannels
        var layers: [any Layer] = []
        if expanded != setting.inputChannels {
            layers.append(ConvNormActivation(
                inputChannels: setting.inputChannels, outputChannels: expanded, kernelSize: 1,
                activation: setting.activation, normEpsilon: MobileNetV3.normEpsilon, normMomentum: MobileNetV3.normMomentum))
        }
        layers.append(ConvNormActivation(
            inputChannels: expanded, outputChannels: expanded, kernelSize: setting.kernelSize, stride: setting.stride,
            groups: expanded, activation: setting.activation,
            normEpsilon: MobileNetV3.normEpsilon, normMomentum: MobileNetV3.normMomentum))
        if setting.usesSqueezeExcitation {
            layers.append(SqueezeExcitation(inputChannels: expanded, squeezeChannels: makeDivisible(Double(expanded / 4))))
        }
        layers.append(ConvNormActivation(
            inputChannels: expanded, outputChannels: setting.outputChannels, kernelSize: 1, activation: nil,
            normEpsilon: MobileNetV3.normEpsilon, normMomentum: MobileNetV3.normMomentum))
        self.layers = Sequential(layers)
        usesResidual = setting.stride == 1 && setting.inputChannels == setting.outputChannels
    }

    public var children: [(name: String, module: any Module)] { [("block", layers)] }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try layers(input)
        return usesResidual ? try add(input, output) : output
    }
}

public final class MobileNetV3: ImageClassifier {
    static let normEpsilon: Float = 0.001
    static let normMomentum: Float = 0.01

    /// Table 1 of the paper (MobileNetV3-Large). `// C1` ... mark where a stride-2 stage begins.
    public static let large: [BottleneckSetting] = [
        .init(16, 3, 16, 16, false, .relu, 1),
        .init(16, 3, 64, 24, false, .relu, 2), // C1
        .init(24, 3, 72, 24, false, .relu, 1),
        .init(24, 5, 72, 40, true, .relu, 2), // C2
        .init(40, 5, 120, 40, true, .relu, 1),
        .init(40, 5, 120, 40, true, .relu, 1),
        .init(40, 3, 240, 80, false, .hardSwish, 2), // C3
        .init(80, 3, 200, 80, false, .hardSwish, 1),
        .init(80, 3, 184, 80, false, .hardSwish, 1),
        .init(80, 3, 184, 80, false, .hardSwish, 1),
        .init(80, 3, 480, 112, true, .hardSwish, 1),
        .init(112, 3, 672, 112, true, .hardSwish, 1),
        .init(112, 5, 672, 160, true, .hardSwish, 2), // C4
        .init(160, 5, 960, 160, true, .hardSwish, 1),
        .init(160, 5, 960, 160, true, .hardSwish, 1),
    ]

    /// Table 2 of the paper (MobileNetV3-Small). Its first block already downsamples.
    public static let small: [BottleneckSetting] = [
        .init(16, 3, 16, 16, true, .relu, 2), // C1
        .init(16, 3, 72, 24, false, .relu, 2), // C2
        .init(24, 3, 88, 24, false, .relu, 1),
        .init(24, 5, 96, 40, true, .hardSwish, 2), // C3
        .init(40, 5, 240, 40, true, .hardSwish, 1),
        .init(40, 5, 240, 40, true, .hardSwish, 1),
        .init(40, 5, 120, 48, true, .hardSwish, 1),
        .init(48, 5, 144, 48, true, .hardSwish, 1),
        .init(48, 5, 288, 96, true, .hardSwish, 2), // C4
        .init(96, 5, 576, 96, true, .hardSwish, 1),
        .init(96, 5, 576, 96, true, .hardSwish, 1),
    ]

    public let configuration: ModelConfiguration
    public let features: Sequential
    public let classifier: Sequential
    public let featureStrides: [Int]
    public let featureChannels: [Int]

    public init(_ configuration: ModelConfiguration) {
        precondition(configuration.architecture == .v3Large || configuration.architecture == .v3Small)
        self.configuration = configuration
        let width = configuration.widthMultiplier
        let isLarge = configuration.architecture == .v3Large
        let rows = (isLarge ? Self.large : Self.small).map { $0.scaled(by: width) }
        let hiddenChannels = makeDivisible(Double(isLarge ? 1280 : 1024) * width)

        let stemChannels = rows[0].inputChannels
        var layers: [any Layer] = [
            ConvNormActivation(
                inputChannels: 3, outputChannels: stemChannels, stride: 2, activation: .hardSwish,
                normEpsilon: Self.normEpsilon, normMomentum: Self.normMomentum),
        ]
        var strides = [2], widths = [stemChannels]
        for row in rows {
            layers.append(MobileNetV3Block(row))
            strides.append(row.stride)
            widths.append(row.outputChannels)
        }
        let lastInput = rows[rows.count - 1].outputChannels
        let lastChannels = 6 * lastInput
        layers.append(ConvNormActivation(
            inputChannels: lastInput, outputChannels: lastChannels, kernelSize: 1, activation: .hardSwish,
            normEpsilon: Self.normEpsilon, normMomentum: Self.normMomentum))
        strides.append(1)
        widths.append(lastChannels)
        features = Sequential(layers)
        featureStrides = strides
        featureChannels = widths
        classifier = Sequential([
            Linear(inputFeatures: lastChannels, outputFeatures: hiddenChannels),
            ActivationLayer(.hardSwish),
            Dropout(probability: configuration.dropout),
            Linear(inputFeatures: hiddenChannels, outputFeatures: configuration.classCount),
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
