import Foundation
import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// Reads the JSON fixtures written by `Scripts/generate_model_fixtures.py` (PyTorch: torchvision
/// for V2/V3, timm for V1).
enum Fixtures {
    struct Counts: Decodable {
        struct Model: Decodable {
            var variant: String
            var width: Double
            var parameters: Int
            var macs: [String: Int]
            var stages: [[Int]]
            /// Every state-dict key and its shape, at width 1.0.
            var state: [StateEntry]?
        }
        var models: [Model]
    }

    struct StateEntry: Decodable {
        var key: String
        var shape: [Int]

        init(from decoder: Decoder) throws {
            var container = try decoder.unkeyedContainer()
            key = try container.decode(String.self)
            shape = try container.decode([Int].self)
        }
    }

    struct Parity: Decodable {
        var generator: String
        var variant: String
        var width: Double
        var resolution: Int
        var classes: Int
        var batch: Int
        var input_checksum: Double
        var weight_checksum: Double
        var logits: [[Float]]
    }

    static func load<Value: Decodable>(_ name: String, as type: Value.Type) throws -> Value {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).json"])
        }
        return try JSONDecoder().decode(Value.self, from: Data(contentsOf: url))
    }

    static func architecture(_ variant: String) throws -> Architecture {
        guard let architecture = Architecture(rawValue: variant) else {
            throw ModelError.invalidConfiguration("unknown variant \(variant) in a fixture")
        }
        return architecture
    }
}
