import Foundation

/// The JSON fixtures of `Scripts/generate_detection_fixtures.py` (torchvision's
/// `ssdlite320_mobilenet_v3_large`), as the tests read them.
enum DetectionFixtures {
    struct Structure: Decodable {
        struct Model: Decodable {
            var classes: Int
            var parameters: Int
            var macs: Int
            var state: [[StateValue]]
        }
        var models: [Model]
        var feature_shapes: [[Int]]
        var anchor_count: Int
        var anchor_sample_every: Int
        var anchors: [[Float]]
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

    struct Detections: Decodable {
        var boxes: [[Float]]
        var labels: [Int]
        var scores: [Float]
    }

    struct Parity: Decodable {
        var classes: Int
        var weight_checksum: Double
        var score_threshold: Float
        var input_sum: Double
        var row_sample_every: Int
        var regression_rows: [[Float]]
        var logit_rows: [[Float]]
        var regression_sum: Double
        var regression_abs_sum: Double
        var logit_sum: Double
        var logit_abs_sum: Double
        var detections: Detections
    }

    struct Postprocess: Decodable {
        var classes: Int
        var width: Int
        var height: Int
        var anchor_count: Int
        var detections: Detections
    }

    struct Dilated: Decodable {
        var classes: Int
        var resolution: Int
        var weight_checksum: Double
        var feature_shape: [Int]
        var logits: [Float]
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
