import Foundation

/// The JSON fixtures of `Scripts/generate_segmentation_fixtures.py` (torchvision's
/// `lraspp_mobilenet_v3_large`), as the tests read them.
enum SegmentationFixtures {
    struct Structure: Decodable {
        struct Model: Decodable {
            var classes: Int
            var parameters: Int
            var macs: Int
            var state: [[StateValue]]
        }
        var models: [Model]
        var low_shape: [Int]
        var high_shape: [Int]
    }

    /// A state entry `[key, shape]`, decoded from a mixed JSON array.
    enum StateValue: Decodable {
        case key(String)
        case shape([Int])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let key = try? container.decode(String.self) { self = .key(key) } else { self = .shape(try container.decode([Int].self)) }
        }
    }

    struct Parity: Decodable {
        var classes: Int
        var height: Int
        var width: Int
        var mean: [Float]
        var std: [Float]
        var weight_checksum: Double
        var input_sum: Double
        var sample_every: Int
        var sample: [Float]
        var class_sums: [Double]
        var class_abs_sums: [Double]
        var pixel_sample_every: Int
        var argmax_sample: [Int]
    }

    struct CrossEntropy: Decodable {
        var logits_nhwc: [Float]
        var target: [Int]
        var shape_nhwc: [Int]
        var loss: Float
        var gradient_nhwc: [Float]
    }

    static func load<Value: Decodable>(_ name: String, as type: Value.Type) throws -> Value {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name).json"])
        }
        return try JSONDecoder().decode(Value.self, from: Data(contentsOf: url))
    }

    /// The repository's root, for the photos in `Examples/`.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
