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

/// The deterministic weights and inputs of the parity fixtures, reproduced bit for bit (the
/// scheme is documented in `Scripts/generate_model_fixtures.py`).
enum DeterministicFill {
    /// Must equal `WEIGHT_GAIN` in the generator script.
    static let weightGain = 5.0

    /// Fills every tensor of `model` and returns the sum of all values (the fixture's checksum).
    @discardableResult
    static func fill(_ model: any Module) -> Double {
        var checksum = 0.0
        for (key, parameter) in model.namedState().sorted(by: { $0.key < $1.key }) {
            let shape = parameter.shape
            var generator = SplitMix64(seed: SplitMix64.seed(for: key))
            let fanIn = Double(shape.elementCount / max(shape[0], 1))
            let tensor = Tensor(shape: shape) { _ in
                let u = generator.nextUnitInterval()
                let value: Double
                if key.hasSuffix("running_var") || (shape.rank == 1 && key.hasSuffix("weight")) {
                    value = 0.5 + u
                } else if key.hasSuffix("running_mean") || key.hasSuffix("bias") {
                    value = (u * 2 - 1) * 0.1
                } else {
                    value = (u * 2 - 1) * (weightGain / fanIn).squareRoot()
                }
                return Float(value)
            }
            checksum += tensor.scalars.reduce(0.0) { $0 + Double($1) }
            parameter.value = tensor
        }
        return checksum
    }

    /// The input batch, drawn in NCHW order as PyTorch consumes it, returned NHWC.
    static func input(batch: Int, resolution: Int) throws -> (tensor: Tensor, checksum: Double) {
        var generator = SplitMix64(seed: SplitMix64.seed(for: "input"))
        let nchw = Tensor(shape: [batch, 3, resolution, resolution]) { _ in
            Float(generator.nextUnitInterval() * 2 - 1)
        }
        let checksum = nchw.scalars.reduce(0.0) { $0 + Double($1) }
        return (try nchwToNHWC(nchw), checksum)
    }
}
