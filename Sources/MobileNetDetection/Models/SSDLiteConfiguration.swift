import MobileNetModels

/// Everything that determines an SSDLite detector's structure (torchvision's
/// `ssdlite320_mobilenet_v3_large` arguments).
public struct SSDLiteConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// The backbone: MobileNetV3-Large as torchvision builds it, or V3-Small on the same terms.
    public var backbone: Architecture
    /// The backbone's width multiplier α (the extra blocks and heads keep their widths, as
    /// torchvision's extractor does).
    public var widthMultiplier: Double
    /// The classes the classification head scores, background (label 0) included: 91 for COCO's
    /// category ids, 11 for Fashion-MNIST scenes.
    public var classCount: Int
    /// The backbone's last stage at half width (the paper's Table 6). torchvision turns it on
    /// when the backbone is not ImageNet-pretrained, so its from-scratch model has it.
    public var reducedTail: Bool
    /// The side of the square the pictures are resized to: 320.
    public var resolution: Int

    public init(
        backbone: Architecture = .v3Large, widthMultiplier: Double = 1, classCount: Int = 91, reducedTail: Bool = true,
        resolution: Int = 320
    ) {
        self.backbone = backbone
        self.widthMultiplier = widthMultiplier
        self.classCount = classCount
        self.reducedTail = reducedTail
        self.resolution = resolution
    }

    public var description: String {
        "SSDLite\(resolution) on MobileNet\(backbone.rawValue.uppercased()) α=\(widthMultiplier), \(classCount) classes"
            + (reducedTail ? " (reduced tail)" : "")
    }

    /// The smallest input side: the six feature maps (strides 16 to 512 after the extra blocks'
    /// stride-2 steps) each keep at least one cell from 64 up.
    public static let minimumResolution = 64

    /// Checks the numbers before any layer is built.
    ///
    /// - Throws: ``ModelError/invalidConfiguration(_:)`` for a backbone that is not MobileNetV3,
    ///   fewer than 2 classes (background and one object), or a resolution out of range; what
    ///   ``ModelConfiguration/validate()`` throws for the width.
    public func validate() throws {
        guard backbone == .v3Large || backbone == .v3Small else {
            throw ModelError.invalidConfiguration("SSDLite takes a MobileNetV3 backbone (v3-large, v3-small), got \(backbone)")
        }
        guard (2...ModelConfiguration.maximumClassCount).contains(classCount) else {
            throw ModelError.invalidConfiguration(
                "a detector needs 2...\(ModelConfiguration.maximumClassCount) classes (background and the objects), got \(classCount)")
        }
        guard (Self.minimumResolution...ModelConfiguration.maximumResolution).contains(resolution) else {
            throw ModelError.invalidConfiguration(
                "SSDLite resolution must be in \(Self.minimumResolution)...\(ModelConfiguration.maximumResolution), got \(resolution)")
        }
        try ModelConfiguration(backbone, widthMultiplier: widthMultiplier).validate()
    }
}
