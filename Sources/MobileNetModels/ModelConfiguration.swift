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

    /// Checks the numbers before any layer is built.
    public func validate() throws {
        guard widthMultiplier > 0, widthMultiplier.isFinite else {
            throw ModelError.invalidConfiguration("width multiplier must be a positive number, got \(widthMultiplier)")
        }
        guard classCount >= 1 else {
            throw ModelError.invalidConfiguration("class count must be at least 1, got \(classCount)")
        }
        guard (0..<1).contains(dropout) else {
            throw ModelError.invalidConfiguration("dropout must be in [0, 1), got \(dropout)")
        }
    }
}

/// A model could not be built or run as asked.
public enum ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case inputTooSmall(resolution: Int, minimum: Int)
    case featureIndexOutOfRange(index: Int, count: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(reason):
            "invalid model configuration: \(reason)"
        case let .inputTooSmall(resolution, minimum):
            "input resolution \(resolution) is below the minimum of \(minimum)"
        case let .featureIndexOutOfRange(index, count):
            "feature layer \(index) does not exist; the backbone has layers 0...\(count - 1)"
        }
    }
}
