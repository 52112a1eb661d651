import MobileNetNN
import MobileNetTensor

/// The Lite Reduced Atrous Spatial Pyramid Pooling head (the MobileNetV3 paper, section 6.4;
/// torchvision's `LRASPPHead`).
///
/// From the backbone's stride-16 "high" features: a 1x1 convolution to 128 channels with batch
/// norm and ReLU (`cbr`), gated channel by channel by a squeeze-and-excitation-like branch of
/// global average pooling, a 1x1 convolution and a sigmoid (`scale`); the gated map is resized
/// bilinearly to the stride-8 "low" features' size and classified by a 1x1 convolution
/// (`high_classifier`), the low features by another (`low_classifier`), and the two summed.
///
/// State keys are torchvision's: `cbr.0.weight`, `cbr.1.*` (its batch norm), `scale.1.weight`,
/// `low_classifier.weight`/`.bias`, `high_classifier.weight`/`.bias`.
public final class LRASPPHead: Module {
    public let cbr: Sequential
    public let scale: Sequential
    public let lowClassifier: Conv2D
    public let highClassifier: Conv2D

    public init(lowChannels: Int, highChannels: Int, classes: Int, innerChannels: Int) {
        // torchvision's head uses nn.BatchNorm2d's defaults (ε 1e-5, momentum 0.1).
        cbr = Sequential([
            Conv2D(inputChannels: highChannels, outputChannels: innerChannels, kernelSize: 1, bias: false),
            BatchNorm2D(channels: innerChannels),
            ActivationLayer(.relu),
        ])
        scale = Sequential([
            GlobalAveragePool2D(flattening: false),
            Conv2D(inputChannels: highChannels, outputChannels: innerChannels, kernelSize: 1, bias: false),
            ActivationLayer(.sigmoid),
        ])
        lowClassifier = Conv2D(inputChannels: lowChannels, outputChannels: classes, kernelSize: 1)
        highClassifier = Conv2D(inputChannels: innerChannels, outputChannels: classes, kernelSize: 1)
    }

    public var children: [(name: String, module: any Module)] {
        [("cbr", cbr), ("scale", scale), ("low_classifier", lowClassifier), ("high_classifier", highClassifier)]
    }

    /// Per-pixel class logits at the low features' size, NHWC `[N, h, w, classes]`.
    public func callAsFunction(low: Tensor, high: Tensor) throws -> Tensor {
        let gated = try multiplyChannels(cbr(high), by: scale(high))
        let resized = try resizeBilinear(gated, height: low.shape[1], width: low.shape[2])
        return try add(lowClassifier(low), highClassifier(resized))
    }
}
