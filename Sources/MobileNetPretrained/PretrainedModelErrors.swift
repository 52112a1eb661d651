import MobileNetModels
import MobileNetNN

/// A checkpoint holds values that are not finite, in `key` first (in key order).
public struct NonFiniteWeightsError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var key: String

    public init(file: String, key: String) {
        self.file = file
        self.key = key
    }

    public var description: String {
        "\(file): \(key) holds values that are not finite (NaN or infinity); a model with them predicts nothing"
    }
}

/// A checkpoint did not fit the model it was loaded into.
public struct ModelLoadingError: Error, CustomStringConvertible {
    public var file: String
    public var configuration: ModelConfiguration
    public var reason: StateError

    public init(file: String, configuration: ModelConfiguration, reason: StateError) {
        self.file = file
        self.configuration = configuration
        self.reason = reason
    }

    public var description: String {
        "\(file) does not fit \(configuration): \(reason)"
    }
}
