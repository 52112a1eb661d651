import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// LR-ASPP on a dilated MobileNetV3, as torchvision's `lraspp_mobilenet_v3_large` builds it:
/// per-pixel class logits at the input's size.
///
/// ```swift
/// let model = try LRASPP(LRASPPConfiguration(classCount: 21), seed: 0)   // 3,221,538 parameters
/// let logits = try model(images)            // [N, H, W, 21] for normalized NHWC [N, H, W, 3]
/// ```
///
/// The backbone is MobileNetV3's `features` with the last stage dilated (stride 1, dilation 2:
/// output stride 16), kept up to its last layer and tapped twice, as torchvision's
/// `_lraspp_mobilenetv3` does with an `IntermediateLayerGetter`: "low" after the block that
/// starts the stride-8 stage (40 channels in V3-Large: the fourth strided layer from the end,
/// counting the stem and the last layer as torchvision's `stage_indices` do) and "high" after the
/// last 1x1 convolution (960 channels). The head (``LRASPPHead``) scores the pixels at stride 8;
/// the scores are resized bilinearly (`align_corners=False`) to the input's size.
///
/// State keys are torchvision's: `backbone.0.0.weight` (the stem), `backbone.4.block.0.0.weight`,
/// … `backbone.16.0.weight`, then `classifier.cbr.0.weight`, `classifier.scale.1.weight`,
/// `classifier.low_classifier.weight`, `classifier.high_classifier.weight`.
public final class LRASPP: Module {
    public let configuration: LRASPPConfiguration
    public let backbone: Sequential
    public let classifier: LRASPPHead
    /// The backbone layers whose outputs are the low and high features.
    public let lowIndex: Int
    public let highIndex: Int

    /// torchvision's MobileNetV3 batch norms (ε 0.001, momentum ``LRASPPConfiguration/normMomentum``, 0.01 unless set).
    public init(_ configuration: LRASPPConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let network = MobileNetV3(
            ModelConfiguration(configuration.backbone, widthMultiplier: configuration.widthMultiplier, classCount: 1), dilated: true,
            normMomentum: configuration.normMomentum)
        let layers = network.features.layers
        // torchvision's stage_indices: the stem, every block whose table row strides (dilated or
        // not), the last layer.
        let stageIndices = [0] + layers.indices.filter { index in
            (layers[index] as? MobileNetV3Block).map { $0.setting.stride > 1 } ?? false
        } + [layers.count - 1]
        lowIndex = stageIndices[stageIndices.count - 4]
        highIndex = stageIndices[stageIndices.count - 1]
        backbone = network.features
        classifier = LRASPPHead(
            lowChannels: network.featureChannels[lowIndex], highChannels: network.featureChannels[highIndex],
            classes: configuration.classCount, innerChannels: configuration.innerChannels)
    }

    /// A model with its layers initialized from `seed` (``Module/resetParameters(seed:)``:
    /// Kaiming-normal fan-out convolutions with zero biases, batch norms at 1 and 0, as
    /// torchvision initializes MobileNetV3; torchvision leaves the head's five convolutions at
    /// PyTorch's default uniform draw, here they are drawn like the backbone's).
    public convenience init(_ configuration: LRASPPConfiguration, seed: UInt64?) throws {
        try self.init(configuration)
        if let seed { resetParameters(seed: seed) }
    }

    public var children: [(name: String, module: any Module)] { [("backbone", backbone), ("classifier", classifier)] }

    /// The low and high features of a normalized NHWC batch.
    public func features(_ images: Tensor) throws -> (low: Tensor, high: Tensor) {
        var x = images
        var low: Tensor?
        for (index, layer) in backbone.layers.enumerated() where index <= highIndex {
            x = try layer(x)
            if index == lowIndex { low = x }
        }
        return (low!, x)
    }

    /// Per-pixel class logits `[N, H, W, classes]` for a normalized NHWC batch `[N, H, W, 3]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try Self.validateInput(images)
        let (low, high) = try features(images)
        let scores = try classifier(low: low, high: high)
        return try resizeBilinear(scores, height: images.shape[1], width: images.shape[2])
    }

    /// Throws unless `images` is an NHWC batch of 3 channels at least
    /// ``LRASPPConfiguration/minimumResolution`` on a side.
    public static func validateInput(_ images: Tensor) throws {
        try images.expectRank(4, layout: "NHWC images", for: "LR-ASPP input")
        guard images.shape[3] == 3, images.shape[1] >= LRASPPConfiguration.minimumResolution,
              images.shape[2] >= LRASPPConfiguration.minimumResolution
        else {
            throw TensorError.shapeMismatch(
                operation: "LR-ASPP input", expected: "[N, H, W, 3] with H and W at least \(LRASPPConfiguration.minimumResolution)",
                actual: images.shape)
        }
    }
}
