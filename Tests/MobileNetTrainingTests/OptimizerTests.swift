import MobileNetNN
import MobileNetTensor
import XCTest

@testable import MobileNetTraining

/// SGD, RMSProp (TensorFlow form) and AdamW against five steps of PyTorch / timm.
final class OptimizerTests: XCTestCase {
    /// PyTorch runs the same float32 formulas; what remains is where it fuses a multiply-add and
    /// rounds once. Five steps stay well inside a few float32 ulps.
    static let tolerance = 2e-7

    private func makeOptimizer(_ fixture: TrainingFixtures.OptimizerCase, _ parameters: [(key: String, parameter: Parameter)]) throws -> any Optimizer {
        let rate = fixture.learning_rates[0]
        switch fixture.kind {
        case "sgd":
            return try SGD(
                parameters: parameters, learningRate: rate, momentum: fixture.momentum!, dampening: fixture.dampening!,
                nesterov: fixture.nesterov!, weightDecay: fixture.weight_decay)
        case "rmsprop":
            return try RMSProp(
                parameters: parameters, learningRate: rate, decay: fixture.decay!, momentum: fixture.momentum!,
                epsilon: fixture.epsilon!, weightDecay: fixture.weight_decay)
        case "adamw":
            return try AdamW(
                parameters: parameters, learningRate: rate, beta1: fixture.beta1!, beta2: fixture.beta2!,
                epsilon: fixture.epsilon!, weightDecay: fixture.weight_decay)
        default:
            throw XCTSkip("unknown optimizer \(fixture.kind)")
        }
    }

    func testEveryOptimizerMatchesPyTorchForFiveSteps() throws {
        let fixtures = try TrainingFixtures.load()
        XCTAssertEqual(fixtures.optimizers.map(\.name), [
            "sgd", "sgd-momentum-dampening", "sgd-nesterov", "rmsprop-tf", "rmsprop-tf-no-momentum", "adamw", "adamw-large-lr",
        ])
        var report: [String] = []
        for fixture in fixtures.optimizers {
            let parameters = try fixtures.makeParameters()
            let optimizer = try makeOptimizer(fixture, parameters)
            var worst = 0.0
            var (identical, compared) = (0, 0)
            for step in 0..<fixture.after_step.count {
                optimizer.learningRate = fixture.learning_rates[step]
                try fixtures.setGradients(step: step, on: parameters)
                try optimizer.step()
                for (key, parameter) in parameters {
                    let error = largestRelativeError(parameter.value.scalars, fixture.after_step[step][key]!)
                    worst = max(worst, error)
                    XCTAssertLessThanOrEqual(error, Self.tolerance, "\(fixture.name), step \(step + 1), \(key)")
                    let expected = fixture.after_step[step][key]!
                    identical += zip(parameter.value.scalars, expected).filter { Double($0) == $1 }.count
                    compared += expected.count
                }
            }
            // The state PyTorch ends with: buffers and per-parameter step counts.
            let state = optimizer.state
            for (key, slots) in fixture.state {
                for (slot, value) in slots {
                    switch value {
                    case let .values(expected):
                        let actual = try XCTUnwrap(state.tensors[slot + "/" + key], "\(fixture.name): \(slot) of \(key)")
                        let error = largestRelativeError(actual.scalars, expected)
                        worst = max(worst, error)
                        XCTAssertLessThanOrEqual(error, Self.tolerance, "\(fixture.name): \(slot) of \(key)")
                    case let .count(expected):
                        XCTAssertEqual(state.steps[key], expected, "\(fixture.name): step count of \(key)")
                    }
                }
            }
            report.append("\(fixture.name): \(identical)/\(compared) identical, worst \(worst)")
        }
        print("optimizer fixture errors (relative):", report.joined(separator: ", "))
    }

    func testDefaultGroupsSpareNormsAndBiases() throws {
        let parameters: [(key: String, parameter: Parameter)] = [
            ("conv.weight", Parameter(Tensor.zeros([4, 3, 3, 3]))), ("bn.weight", Parameter(Tensor.zeros([4]))),
            ("bn.running_mean", Parameter(Tensor.zeros([4]), trainable: false)), ("fc.weight", Parameter(Tensor.zeros([2, 4]))),
            ("fc.bias", Parameter(Tensor.zeros([2]))),
        ]
        let groups = ParameterGroup.decayingWeights(parameters, weightDecay: 4e-5)
        XCTAssertEqual(groups.map { $0.parameters.map(\.key) }, [["conv.weight", "fc.weight"], ["bn.weight", "fc.bias"]])
        XCTAssertEqual(groups.map(\.weightDecay), [4e-5, 0])
        XCTAssertEqual(ParameterGroup.decayingWeights(Array(parameters[1...2]), weightDecay: 1).count, 1)
    }

    func testLearningRateScaleAndMissingGradients() throws {
        let fast = Parameter(try Tensor(shape: [2], values: [1, 1]))
        let slow = Parameter(try Tensor(shape: [2], values: [1, 1]))
        let frozen = Parameter(try Tensor(shape: [2], values: [1, 1]))
        let optimizer = try SGD(groups: [
            ParameterGroup(parameters: [("fast", fast), ("frozen", frozen)], weightDecay: 0),
            ParameterGroup(parameters: [("slow", slow)], weightDecay: 0, learningRateScale: 0.1),
        ], learningRate: 0.5)
        fast.gradient = try Tensor(shape: [2], values: [1, 2])
        slow.gradient = try Tensor(shape: [2], values: [1, 2])
        try optimizer.step()
        XCTAssertEqual(fast.value.scalars, [0.5, 0])
        XCTAssertEqual(slow.value.scalars, [0.95, 0.9])
        XCTAssertEqual(frozen.value.scalars, [1, 1])
    }

    func testBadGradientChangesNothing() throws {
        let first = Parameter(try Tensor(shape: [2], values: [1, 1]))
        let second = Parameter(try Tensor(shape: [2], values: [1, 1]))
        let optimizer = try AdamW(groups: [ParameterGroup(parameters: [("first", first), ("second", second)], weightDecay: 0)])
        first.gradient = try Tensor(shape: [2], values: [1, 2])
        second.gradient = Tensor.zeros([3])
        XCTAssertThrowsError(try optimizer.step()) { error in
            XCTAssertEqual(error as? OptimizerError, .gradientShape(key: "second", expected: [2], actual: [3]))
            XCTAssertEqual(String(describing: error), "optimizer: the gradient of second has shape [3], expected [2] like the parameter")
        }
        XCTAssertEqual(first.value.scalars, [1, 1])
        XCTAssertTrue(optimizer.state.tensors.isEmpty)
    }

    func testInvalidSettings() throws {
        let parameters: [(key: String, parameter: Parameter)] = [("w", Parameter(Tensor.zeros([2, 2])))]
        XCTAssertThrowsError(try SGD(parameters: parameters, momentum: 0, nesterov: true)) { error in
            XCTAssertEqual(error as? OptimizerError, .invalidHyperparameter(name: "momentum", value: 0, expected: "above 0 with Nesterov momentum"))
        }
        XCTAssertThrowsError(try SGD(parameters: parameters, learningRate: -1))
        XCTAssertThrowsError(try AdamW(parameters: parameters, beta1: 1))
        XCTAssertThrowsError(try RMSProp(parameters: parameters, decay: 1.5))
        XCTAssertThrowsError(try SGD(groups: [
            ParameterGroup(parameters: parameters, weightDecay: 0), ParameterGroup(parameters: parameters, weightDecay: 1),
        ])) { error in
            XCTAssertEqual(error as? OptimizerError, .duplicateParameter(key: "w"))
        }
    }
}
