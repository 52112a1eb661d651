import MobileNetModels

/// Everything that determines an LR-ASPP segmenter's structure (torchvision's
/// `lraspp_mobilenet_v3_large` arguments, and V3-Small on the same terms).
public struct LRASPPConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// The backbone: MobileNetV3-Large (or -Small), dilated: its last stage at stride 1 with
    /// dilation 2, so the "high" features come at stride 16.
    public var backbone: Architecture
    /// The backbone's width multiplier α (the head keeps its 128 channels, as torchvision's does).
    public var widthMultiplier: Double
    /// The classes scored per pixel, background included: 21 for Pascal VOC, 11 for Fashion-MNIST
    /// scenes.
    public var classCount: Int
    /// The channels of the head's inner branch: 128.
    public var innerChannels: Int
    /// The backbone's batch-norm momentum: torchvision's MobileNetV3 0.01. Not part of the
    /// structure (the weights load either way); a short run evaluates better with a larger one,
    /// whose running statistics catch up with the weights sooner.
    public var normMomentum: Float

    public init(
        backbone: Architecture = .v3Large, widthMultiplier: Double = 1, classCount: Int = 21, innerChannels: Int = 128,
        normMomentum: Float = MobileNetV3.defaultNormMomentum
    ) {
        self.backbone = backbone
        self.widthMultiplier = widthMultiplier
        self.classCount = classCount
        self.innerChannels = innerChannels
        self.normMomentum = normMomentum
    }

    public var description: String {
        "LR-ASPP on MobileNet\(backbone.rawValue.uppercased()) α=\(widthMultiplier) (dilated), \(classCount) classes"
    }

    /// The smallest input side: the stride-16 map keeps at least one cell.
    public static let minimumResolution = 16

    /// Checks the numbers before any layer is built.
    ///
    /// - Throws: ``ModelError/invalidConfiguration(_:)`` for a backbone that is not MobileNetV3,
    ///   fewer than 2 classes or more than 255 (255 marks pixels to ignore), or an inner width
    ///   below 1; what ``ModelConfiguration/validate()`` throws for the width.
    public func validate() throws {
        guard backbone == .v3Large || backbone == .v3Small else {
            throw ModelError.invalidConfiguration("LR-ASPP takes a MobileNetV3 backbone (v3-large, v3-small), got \(backbone)")
        }
        guard (2...255).contains(classCount) else {
            throw ModelError.invalidConfiguration("a segmenter needs 2...255 classes (background and the others; 255 marks ignored pixels), got \(classCount)")
        }
        guard normMomentum > 0, normMomentum <= 1 else {
            throw ModelError.invalidConfiguration("the batch-norm momentum must be in (0, 1], got \(normMomentum)")
        }
        guard innerChannels >= 1 else {
            throw ModelError.invalidConfiguration("the head's inner channels must be at least 1, got \(innerChannels)")
        }
        try ModelConfiguration(backbone, widthMultiplier: widthMultiplier).validate()
    }
}
