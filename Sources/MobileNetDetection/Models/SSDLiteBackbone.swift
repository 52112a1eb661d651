import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// The SSDLite feature extractor on MobileNetV3 (torchvision's `SSDLiteFeatureExtractorMobileNet`
/// as `_mobilenet_extractor` builds it), producing six feature maps.
///
/// The backbone's layers are cut at the expansion of its last strided block (the MobileNetV3
/// paper, section 6.3): `features.0` runs from the stem through that 1x1 expansion (stride 16,
/// the widest map, 672 channels in V3-Large), `features.1` from its depthwise convolution to the
/// last 1x1 convolution (stride 32). Four extra blocks (1x1 to half width, depthwise 3x3 at
/// stride 2, 1x1 out; ReLU6) follow with 512, 256, 256 and 128 channels.
///
/// State keys are torchvision's: `features.0.0.0.weight` (the stem), `features.0.13.0.weight`
/// (the cut block's expansion), `features.1.0.1.0.weight` (its depthwise convolution, still at
/// index 1 of the block), `features.1.1.block.0.0.weight`, `extra.0.1.0.weight`.
public final class SSDLiteBackbone: Module {
    public let features: Sequential
    public let extra: Sequential
    /// The channels of the six maps, in order.
    public let outputChannels: [Int]

    static let normEpsilon: Float = 0.001
    static let normMomentum: Float = 0.03

    public init(_ configuration: SSDLiteConfiguration) {
        let classifier = MobileNetV3(
            ModelConfiguration(configuration.backbone, widthMultiplier: configuration.widthMultiplier, classCount: 1),
            reducedTail: configuration.reducedTail, normMomentum: Self.normMomentum)
        let layers = classifier.features.layers
        // The last block with a stride-2 row: torchvision's `stage_indices[-2]` (its `_is_cn`).
        let cut = layers.lastIndex { ($0 as? MobileNetV3Block).map { $0.setting.stride > 1 } ?? false }!
        let block = layers[cut] as! MobileNetV3Block
        features = Sequential([
            Sequential(Array(layers[..<cut]) + [block.expansion!]),
            Sequential([block.unitsAfterExpansion] + Array(layers[(cut + 1)...])),
        ])
        let lastChannels = classifier.featureChannels.last!
        let depths = [512, 256, 256, 128].map { max(16, $0) }
        var input = lastChannels
        var blocks: [any Layer] = []
        for depth in depths {
            blocks.append(Self.extraBlock(input, depth))
            input = depth
        }
        extra = Sequential(blocks)
        outputChannels = [block.setting.expandedChannels, lastChannels] + depths
    }

    /// torchvision's `_extra_block`: 1x1 to half of `output`, depthwise 3x3 at stride 2, 1x1 to
    /// `output`, each with batch norm and ReLU6.
    static func extraBlock(_ input: Int, _ output: Int) -> Sequential {
        let half = output / 2
        func unit(_ input: Int, _ output: Int, kernel: Int = 1, stride: Int = 1, groups: Int = 1) -> ConvNormActivation {
            ConvNormActivation(
                inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride, groups: groups,
                activation: .relu6, normEpsilon: normEpsilon, normMomentum: normMomentum)
        }
        return Sequential([unit(input, half), unit(half, half, kernel: 3, stride: 2, groups: half), unit(half, output)])
    }

    public var children: [(name: String, module: any Module)] { [("features", features), ("extra", extra)] }

    /// The side of each of the six maps for a square input of `resolution` pixels, from the
    /// geometry of every convolution on the way (in forward order; the 1x1 convolutions of
    /// squeeze-and-excitation, like every 1x1 at stride 1, keep the extent).
    public func mapSides(resolution: Int) -> [Int] {
        var side = resolution
        return (features.layers + extra.layers).map { stage in
            for case let convolution as Conv2D in stage.namedModules().map(\.module) {
                side = convolution.geometry.outputExtent(input: side, kernel: convolution.kernelSize)
            }
            return side
        }
    }

    /// The six feature maps of a normalized NHWC batch, largest first.
    public func callAsFunction(_ images: Tensor) throws -> [Tensor] {
        var maps: [Tensor] = []
        var x = images
        for stage in features.layers + extra.layers {
            x = try stage(x)
            maps.append(x)
        }
        return maps
    }
}
