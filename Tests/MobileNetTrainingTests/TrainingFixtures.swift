import Foundation
import MobileNetNN
import MobileNetTensor
import XCTest

/// `Fixtures/training.json`, written by `Scripts/generate_training_fixtures.py` with PyTorch
/// 2.13 and timm 1.0.
struct TrainingFixtures: Decodable {
    struct NamedTensor: Decodable {
        var shape: [Int]
        var values: [Double]
    }

    struct OptimizerCase: Decodable {
        var name: String
        var kind: String
        var learning_rates: [Double]
        var weight_decay: Double
        var after_step: [[String: [Double]]]
        var state: [String: [String: StateValue]]
        var momentum: Double?
        var dampening: Double?
        var nesterov: Bool?
        var decay: Double?
        var epsilon: Double?
        var beta1: Double?
        var beta2: Double?
    }

    /// A state slot (a list of values) or the step count (a number).
    enum StateValue: Decodable {
        case values([Double])
        case count(Int)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                self = .count(count)
            } else {
                self = .values(try container.decode([Double].self))
            }
        }
    }

    struct ClippingCase: Decodable {
        var max_norm: Double
        var total_norm: Double
        var clipped: [String: [Double]]
    }

    struct ScheduleCase: Decodable {
        var decay: String
        var base: Double
        var epochs: Int
        var warmup_epochs: Int
        var warmup_start: Double
        var steps_per_epoch: Int
        var per_step: Bool
        var step_size: Int?
        var gamma: Double?
        var minimum: Double?
        var rates: [Double]
    }

    var generator: String
    var parameters: [String: NamedTensor]
    var gradients: [[String: [Double]?]]
    var optimizers: [OptimizerCase]
    var clipping: [ClippingCase]
    var schedules: [ScheduleCase]

    static func load() throws -> TrainingFixtures {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/training", withExtension: "json"))
        return try JSONDecoder().decode(TrainingFixtures.self, from: Data(contentsOf: url))
    }

    /// Fresh parameters holding the fixture's initial values, in the generator's key order.
    func makeParameters() throws -> [(key: String, parameter: Parameter)] {
        try ["a.weight", "a.bias", "c.weight"].map { key in
            let entry = try XCTUnwrap(parameters[key])
            return (key, Parameter(try Tensor(shape: Shape(entry.shape), values: entry.values.map(Float.init))))
        }
    }

    /// Sets every parameter's gradient to step `step`'s (nil where the fixture has none).
    func setGradients(step: Int, on parameters: [(key: String, parameter: Parameter)]) throws {
        for (key, parameter) in parameters {
            parameter.gradient = try gradients[step][key]!.map { try Tensor(shape: parameter.shape, values: $0.map(Float.init)) }
        }
    }
}

/// The largest difference between `actual` and `expected`, relative to `max(1, |expected|)`.
func largestRelativeError(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count, "\(actual.count) values compared with \(expected.count)")
    return zip(actual, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}
