/// The MobileNet families.
public enum Architecture: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case v1
    case v2
    case v3Large = "v3-large"
    case v3Small = "v3-small"

    public var description: String { rawValue }

    /// The classifier dropout of the reference implementations: timm's V1 uses none,
    /// torchvision's V2 and V3 use 0.2.
    public var defaultDropout: Double {
        self == .v1 ? 0 : 0.2
    }
}

/// Everything that determines a model's structure.
///
/// The width multiplier α scales every layer's channel count (rounded by ``makeDivisible(_:divisor:minimum:)``);
/// the input resolution ρ is a property of the input, not of the model, since every MobileNet
/// ends in global average pooling.
public struct ModelConfiguration: Hashable, Sendable, CustomStringConvertible {
    public var architecture: Architecture
    public var widthMultiplier: Double
    public var classCount: Int
    public var dropout: Double

    public init(_ architecture: Architecture, widthMultiplier: Double = 1, classCount: Int = 1000, dropout: Double? = nil) {
        self.architecture = architecture
        self.widthMultiplier = widthMultiplier
        self.classCount = classCount
        self.dropout = dropout ?? architecture.defaultDropout
    }

    public var description: String {
        "MobileNet\(architecture.rawValue.uppercased()) α=\(widthMultiplier), \(classCount) classes"
    }

    // MARK: Limits
    //
    // Upper bounds on what a configuration and its input may ask for. They are far above every
    // published MobileNet (α ≤ 1.4, 1000 or 21 843 classes, 224² to 512² inputs), and low enough
    // that no size computed from them overflows and no single model or image needs more memory
    // than a workstation has. The CLI names these constants in its messages.

    /// The largest width multiplier α: 4, nearly three times the widest published model (1.4).
    /// At α = 4 MobileNetV2 has 39.5 M parameters (158 MB) and 4.4 G multiply-adds an image at
    /// 224², V3-Large, the largest, 70.9 M (283 MB). Parameters grow as α²: `--width 100` asked
    /// MobileNetV2 for some 22 G parameters (88 GB).
    public static let maximumWidthMultiplier = 4.0

    /// The most classes: 100 000, four and a half times ImageNet-21k's 21 843. The classifier holds
    /// one weight per class and feature: at α = 4 (5 120 features) 512 M weights, 2 GB.
    public static let maximumClassCount = 100_000

    /// The smallest input side: it survives the five stride-2 steps.
    public static let minimumResolution = MobileNetModels.minimumResolution

    /// The largest input side: 2048, a 4-megapixel square, four times the largest input the
    /// detection and segmentation uses of MobileNets take (512²). Activations grow with ρ²: at
    /// ρ = 2048 one image's largest MobileNetV2 activation (96 · α channels at ρ/2) is 400 MB
    /// at α = 1, and `mobilenet info`, which traces one image, peaks at 1.6 GB.
    public static let maximumResolution = 2048

    /// The most pixels in one batch, images × ρ²: 2²⁵, that is 668 images of 224², 32 768 of 32²
    /// or 8 of 2048². Every activation of a batch is that many pixels times its channels per
    /// pixel (up to 96 · α at half resolution for MobileNetV2), so at the limit and α = 1 the
    /// largest activation of an inference is 3.2 GB, and training, which keeps every activation
    /// for the backward pass, needs tens of GB: more than a workstation has, but still bounded.
    public static let maximumPixelsPerBatch = 1 << 25

    /// Checks the numbers before any layer is built.
    ///
    /// - Throws: ``ModelError/invalidConfiguration(_:)`` for a width outside (0, ``maximumWidthMultiplier``],
    ///   a class count outside 1...``maximumClassCount`` or a dropout outside [0, 1).
    public func validate() throws {
        guard widthMultiplier > 0, widthMultiplier <= Self.maximumWidthMultiplier else {
            throw ModelError.invalidConfiguration(
                "width multiplier must be in (0, \(Self.maximumWidthMultiplier)], got \(widthMultiplier)")
        }
        guard (1...Self.maximumClassCount).contains(classCount) else {
            throw ModelError.invalidConfiguration("class count must be in 1...\(Self.maximumClassCount), got \(classCount)")
        }
        guard (0..<1).contains(dropout) else {
            throw ModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// Checks an input side against ``minimumResolution`` and ``maximumResolution``.
    ///
    /// - Throws: ``ModelError/inputTooSmall(resolution:minimum:)`` or ``ModelError/inputTooLarge(resolution:maximum:)``.
    public static func validate(resolution: Int) throws {
        guard resolution >= minimumResolution else {
            throw ModelError.inputTooSmall(resolution: resolution, minimum: minimumResolution)
        }
        guard resolution <= maximumResolution else {
            throw ModelError.inputTooLarge(resolution: resolution, maximum: maximumResolution)
        }
    }

    /// Checks a batch of `batch` images of `resolution`² against ``maximumPixelsPerBatch``
    /// (after the resolution itself, so that the product cannot overflow).
    ///
    /// - Throws: what ``validate(resolution:)`` throws, ``ModelError/invalidConfiguration(_:)`` for a
    ///   batch below 1, ``ModelError/batchTooLarge(batch:resolution:maximumPixels:)`` above the limit.
    public static func validate(batch: Int, resolution: Int) throws {
        try validate(resolution: resolution)
        guard batch >= 1 else { throw ModelError.invalidConfiguration("a batch needs at least 1 image, got \(batch)") }
        guard batch <= maximumBatch(resolution: resolution) else {
            throw ModelError.batchTooLarge(batch: batch, resolution: resolution, maximumPixels: maximumPixelsPerBatch)
        }
    }

    /// The most images of `resolution`² (at least ``minimumResolution``) a batch may hold.
    public static func maximumBatch(resolution: Int) -> Int {
        maximumPixelsPerBatch / (max(resolution, minimumResolution) * max(resolution, minimumResolution))
    }
}

/// A model could not be built or run as asked.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case inputTooSmall(resolution: Int, minimum: Int)
    case inputTooLarge(resolution: Int, maximum: Int)
    case batchTooLarge(batch: Int, resolution: Int, maximumPixels: Int)
    case featureIndexOutOfRange(index: Int, count: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(reason):
            "invalid model configuration: \(reason)"
        case let .inputTooSmall(resolution, minimum):
            "input resolution \(resolution) is below the minimum of \(minimum)"
        case let .inputTooLarge(resolution, maximum):
            "input resolution \(resolution) is above the maximum of \(maximum)"
        case let .batchTooLarge(batch, resolution, maximumPixels):
            "a batch of \(batch) images of \(resolution)x\(resolution) is above the maximum of \(maximumPixels) pixels "
                + "(\(ModelConfiguration.maximumBatch(resolution: resolution)) images)"
        case let .featureIndexOutOfRange(index, count):
            "feature layer \(index) does not exist; the backbone has layers 0...\(count - 1)"
        }
    }
}
