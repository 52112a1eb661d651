import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// SSDLite (Sandler et al., MobileNetV2, 2018; the MobileNetV3 paper's detector) as torchvision's
/// `ssdlite320_mobilenet_v3_large` builds it: a MobileNetV3 feature extractor giving six maps
/// (``SSDLiteBackbone``), a depthwise-separable prediction head on each (``SSDLiteHead``), six
/// default boxes per cell (``DefaultBoxGenerator/ssdLite``), and SSD's post-processing
/// (``SSDPostprocessor``). State keys are torchvision's, so its `.pth` loads strictly.
///
/// ```swift
/// let detector = try SSDLite(SSDLiteConfiguration(classCount: 11))
/// let found = try detector.detect([picture])[0]        // [Detection], boxes in the picture's pixels
/// ```
public final class SSDLite: Module {
    public let configuration: SSDLiteConfiguration
    public let backbone: SSDLiteBackbone
    public let head: SSDLiteHead
    public let anchorGenerator: DefaultBoxGenerator
    public var transform: DetectionTransform
    public var postprocessor: SSDPostprocessor

    /// Builds the detector. With a `seed`, weights start as torchvision's from-scratch SSDLite
    /// does (every convolution normal with σ = 0.03 and zero bias, batch norm at unit scale);
    /// with `nil` they stay zero, for weights about to be loaded.
    public init(_ configuration: SSDLiteConfiguration, seed: UInt64? = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        anchorGenerator = .ssdLite
        backbone = SSDLiteBackbone(configuration)
        head = SSDLiteHead(
            inputChannels: backbone.outputChannels, anchorsPerLocation: anchorGenerator.anchorsPerLocation,
            classCount: configuration.classCount)
        transform = DetectionTransform(resolution: configuration.resolution)
        postprocessor = SSDPostprocessor()
        if let seed { initializeParameters(seed: seed) }
    }

    public var children: [(name: String, module: any Module)] { [("backbone", backbone), ("head", head)] }

    /// torchvision's `_normal_init` over the whole model, after the batch norms' reset.
    func initializeParameters(seed: UInt64) {
        resetParameters(seed: seed)
        var generator = SplitMix64(seed: seed)
        for (_, module) in namedModules() {
            guard let convolution = module as? Conv2D else { continue }
            convolution.weight.value = .normal(convolution.weight.shape, standardDeviation: 0.03, using: &generator)
            convolution.bias?.value = .zeros([convolution.outputChannels])
        }
    }

    /// The six feature maps' sides (height, width) for a square input of `resolution`, as the
    /// backbone's convolutions compute them (``SSDLiteBackbone/mapSides(resolution:)``).
    public func gridSizes(resolution: Int) -> [(height: Int, width: Int)] {
        backbone.mapSides(resolution: resolution).map { ($0, $0) }
    }

    /// The default boxes for the network's input, in its pixels, in the head's order.
    public var anchors: [BoundingBox] {
        let side = configuration.resolution
        return anchorGenerator.anchors(gridSizes: gridSizes(resolution: side), imageWidth: side, imageHeight: side)
    }

    /// The head's raw outputs for a normalized NHWC batch `[N, resolution, resolution, 3]`.
    public func callAsFunction(_ images: Tensor) throws -> SSDHeadOutputs {
        try images.expectRank(4, layout: "NHWC images", for: "SSDLite input")
        let side = configuration.resolution
        guard images.shape[1] == side, images.shape[2] == side, images.shape[3] == 3 else {
            throw TensorError.shapeMismatch(
                operation: "SSDLite input", expected: "[N, \(side), \(side), 3] (transform the pictures first)", actual: images.shape)
        }
        return try head(backbone(images))
    }

    /// The objects in each picture, boxes in the picture's own pixels.
    public func detect(_ images: [RGBImage]) throws -> [[Detection]] {
        guard !images.isEmpty else { return [] }
        let outputs = try self(transform.batch(images))
        let side = configuration.resolution
        return try postprocessor.detections(
            outputs, anchors: anchors, inputSize: (side, side), originalSizes: images.map { ($0.width, $0.height) })
    }
}
