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
/// ("exp size") and output channels at α = 1, squeeze-and-excitation, nonlinearity, stride;
/// and the depthwise convolution's dilation, 1 but in a dilated backbone's last stage.
public struct BottleneckSetting: Hashable, Sendable {
    public var inputChannels: Int
    public var kernelSize: Int
    public var expandedChannels: Int
    public var outputChannels: Int
    public var usesSqueezeExcitation: Bool
    public var activation: Activation
    public var stride: Int
    public var dilation: Int

    public init(_ inputChannels: Int, _ kernelSize: Int, _ expandedChannels: Int, _ outputChannels: Int,
                _ usesSqueezeExcitation: Bool, _ activation: Activation, _ stride: Int, dilation: Int = 1) {
        self.inputChannels = inputChannels
        self.kernelSize = kernelSize
        self.expandedChannels = expandedChannels
        self.outputChannels = outputChannels
        self.usesSqueezeExcitation = usesSqueezeExcitation
        self.activation = activation
        self.stride = stride
        self.dilation = dilation
    }

    /// The stride the depthwise convolution runs at: a dilated block keeps its map's size (the
    /// dilation widens the kernel instead), as torchvision's `InvertedResidual` does.
    public var effectiveStride: Int { dilation > 1 ? 1 : stride }

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
/// in `mobilenetv3.py`, child `block`). The expansion is skipped when it would not widen. The
/// shortcut follows the row's stride, not the effective one: a dilated strided block has none.
public final class MobileNetV3Block: Layer {
    /// The 1x1 expansion; `nil` when the row's expanded width equals its input.
    public let expansion: ConvNormActivation?
    public let depthwise: ConvNormActivation
    public let squeezeExcitation: SqueezeExcitation?
    /// The linear 1x1 projection (batch norm, no activation).
    public let projection: ConvNormActivation
    public let usesResidual: Bool
    public let setting: BottleneckSetting
    /// The units in state-dict order, under the child name `block`.
    private let units: Sequential

    public init(_ setting: BottleneckSetting, normMomentum: Float = MobileNetV3.defaultNormMomentum) {
        self.setting = setting
        let expanded = setting.expandedChannels
        func unit(
            _ input: Int, _ output: Int, kernel: Int = 1, stride: Int = 1, groups: Int = 1, dilation: Int = 1,
            _ activation: Activation?
        )
            -> ConvNormActivation
        {
            ConvNormActivation(
                inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride, groups: groups,
                dilation: dilation, activation: activation, normEpsilon: MobileNetV3.normEpsilon, normMomentum: normMomentum)
        }
        expansion = expanded == setting.inputChannels ? nil : unit(setting.inputChannels, expanded, setting.activation)
        depthwise = unit(
            expanded, expanded, kernel: setting.kernelSize, stride: setting.effectiveStride, groups: expanded,
            dilation: setting.dilation, setting.activation)
        squeezeExcitation = setting.usesSqueezeExcitation
            ? SqueezeExcitation(inputChannels: expanded, squeezeChannels: makeDivisible(Double(expanded / 4))) : nil
        projection = unit(expanded, setting.outputChannels, nil)
        let units: [(any Layer)?] = [expansion, depthwise, squeezeExcitation, projection]
        self.units = Sequential(units.compactMap { $0 })
        usesResidual = setting.stride == 1 && setting.inputChannels == setting.outputChannels
    }

    public var children: [(name: String, module: any Module)] { [("block", units)] }

    /// The units after the expansion (depthwise, squeeze-and-excitation, projection), as one
    /// `Sequential` keeping their indices in `block` (`1`, `2`, `3`): what torchvision's
    /// `block[1:]` is when SSDLite cuts the backbone at a block's expansion.
    public var unitsAfterExpansion: Sequential {
        let after: [(any Layer)?] = [depthwise, squeezeExcitation, projection]
        return Sequential(after.compactMap { $0 }, firstIndex: expansion == nil ? 0 : 1)
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let output = try units(input)
        return usesResidual ? try add(input, output) : output
    }
}

extension MobileNetV3Block: InferenceLowering {
    /// Each unit fused as it is; the shortcut's add attached to the projection.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        if let expansion { x = try expansion.lower(x, into: &graph, kind: .expand) }
        x = try depthwise.lower(x, into: &graph, kind: .depthwise)
        if let squeezeExcitation { x = try squeezeExcitation.lower(x, into: &graph) }
        return try projection.lower(x, into: &graph, residual: usesResidual ? input : nil, kind: .project)
    }
}

public final class MobileNetV3: FeaturesClassifier {
    static let normEpsilon: Float = 0.001
    /// torchvision's classifiers; its SSDLite uses 0.03.
    public static let defaultNormMomentum: Float = 0.01

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
    /// The last stage's channels halved (the paper's Table 6, for detection).
    public let reducedTail: Bool
    /// The last stage at stride 1 with dilation 2: output stride 16 (for segmentation).
    public let dilated: Bool

    /// The classifier torchvision's `mobilenet_v3_large` / `_small` build, with its two backbone
    /// options: `reducedTail` halves the channels of the last stage (the strided block's output
    /// and the two blocks after it) and of the head, as detection backbones do (the paper's
    /// section 6.3); `dilated` runs that stage at stride 1 with dilation 2. `normMomentum` is the
    /// batch norms' (0.01 for classification, 0.03 in torchvision's SSDLite).
    public init(
        _ configuration: ModelConfiguration, reducedTail: Bool = false, dilated: Bool = false,
        normMomentum: Float = MobileNetV3.defaultNormMomentum
    ) {
        precondition(configuration.architecture == .v3Large || configuration.architecture == .v3Small)
        self.configuration = configuration
        self.reducedTail = reducedTail
        self.dilated = dilated
        let width = configuration.widthMultiplier
        let isLarge = configuration.architecture == .v3Large
        let table = Self.tail(of: isLarge ? Self.large : Self.small, reduced: reducedTail, dilated: dilated)
        let rows = table.map { $0.scaled(by: width) }
        let hiddenChannels = makeDivisible(Double((isLarge ? 1280 : 1024) / (reducedTail ? 2 : 1)) * width)

        var stack = FeatureStack()
        stack.append(
            ConvNormActivation(
                inputChannels: 3, outputChannels: rows[0].inputChannels, stride: 2, activation: .hardSwish,
                normEpsilon: Self.normEpsilon, normMomentum: normMomentum),
            stride: 2, outputChannels: rows[0].inputChannels)
        for row in rows {
            stack.append(
                MobileNetV3Block(row, normMomentum: normMomentum), stride: row.effectiveStride, outputChannels: row.outputChannels)
        }
        let lastChannels = 6 * stack.outputChannels
        stack.append(
            ConvNormActivation(
                inputChannels: stack.outputChannels, outputChannels: lastChannels, kernelSize: 1, activation: .hardSwish,
                normEpsilon: Self.normEpsilon, normMomentum: normMomentum),
            stride: 1, outputChannels: lastChannels)
        features = Sequential(stack.layers)
        featureStrides = stack.strides
        featureChannels = stack.channels
        classifier = Sequential([
            Linear(inputFeatures: lastChannels, outputFeatures: hiddenChannels),
            ActivationLayer(.hardSwish),
            Dropout(probability: configuration.dropout),
            Linear(inputFeatures: hiddenChannels, outputFeatures: configuration.classCount),
        ])
    }
}

extension MobileNetV3 {
    /// `table` with its last stage (the last strided row and the rows after it) reduced and
    /// dilated as asked, as torchvision's `_mobilenet_v3_conf` writes it: the stage's output,
    /// and the expansion of the rows after the strided one, divided by 2 (`160 // 2`, `960 // 2`).
    static func tail(of table: [BottleneckSetting], reduced: Bool, dilated: Bool) -> [BottleneckSetting] {
        guard reduced || dilated, let stageStart = table.lastIndex(where: { $0.stride > 1 }) else { return table }
        let divider = reduced ? 2 : 1
        var rows = table
        for index in stageStart..<rows.count {
            if index > stageStart {
                rows[index].inputChannels /= divider
                rows[index].expandedChannels /= divider
            }
            rows[index].outputChannels /= divider
            rows[index].dilation = dilated ? 2 : 1
        }
        return rows
    }
}
