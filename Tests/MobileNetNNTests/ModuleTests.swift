import XCTest
import MobileNetNN
import MobileNetTensor

final class ModuleTests: XCTestCase {
    func testConvNormActivationKeysAndCounts() {
        let unit = ConvNormActivation(inputChannels: 3, outputChannels: 8, stride: 2, activation: .relu6)
        XCTAssertEqual(unit.namedState().map(\.key),
                       ["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"])
        XCTAssertEqual(unit.parameterCount, 8 * 3 * 9 + 8 + 8, "running statistics are not parameters")
        XCTAssertEqual(unit.convolution.geometry, ConvolutionGeometry(stride: 2, padding: 1))
    }

    func testStrictLoadingNamesTheKey() throws {
        let layer = Sequential([Conv2D(inputChannels: 2, outputChannels: 4, kernelSize: 1), BatchNorm2D(channels: 4)])
        var state = layer.stateDictionary()
        XCTAssertEqual(state.count, 6)

        state["1.running_var"] = nil
        XCTAssertThrowsError(try layer.load(state)) { error in
            XCTAssertEqual(error as? StateError, .missingKeys(["1.running_var"]))
        }
        state = layer.stateDictionary()
        state["2.weight"] = .zeros([1])
        state["1.num_batches_tracked"] = .zeros([])
        XCTAssertThrowsError(try layer.load(state)) { error in
            XCTAssertEqual(error as? StateError, .unexpectedKeys(["2.weight"]))
        }
        state["2.weight"] = nil
        state["0.weight"] = .zeros([4, 3, 1, 1])
        XCTAssertThrowsError(try layer.load(state)) { error in
            XCTAssertEqual(error as? StateError, .shapeMismatch(key: "0.weight", expected: [4, 2, 1, 1], actual: [4, 3, 1, 1]))
            XCTAssertTrue("\(error)".contains("0.weight"))
        }
        state["0.weight"] = Tensor(repeating: 2, shape: [4, 2, 1, 1])
        try layer.load(state)
        XCTAssertEqual((layer[0] as! Conv2D).weight.value.scalars, Array(repeating: 2, count: 8))
    }

    /// A new head on a loaded backbone: the excluded keys are neither required nor loaded, and a
    /// checkpoint's head of another shape is no error; everything else stays strict.
    func testLoadingExcludingAPrefixKeepsThoseTensors() throws {
        let model = Sequential([
            Conv2D(inputChannels: 2, outputChannels: 4, kernelSize: 1),
            Sequential([Linear(inputFeatures: 4, outputFeatures: 3)]),
        ])
        var state = model.stateDictionary()
        state["0.weight"] = Tensor(repeating: 5, shape: [4, 2, 1, 1])
        state["1.0.weight"] = Tensor(repeating: 7, shape: [10, 4])   // another head's shape
        state["1.0.bias"] = nil
        let head = try XCTUnwrap((model[1] as? Sequential)?[0] as? Linear)
        let headBefore = head.weight.value.scalars

        try model.load(state, excluding: ["1."])
        XCTAssertEqual((model[0] as! Conv2D).weight.value.scalars, Array(repeating: 5, count: 8))
        XCTAssertEqual(head.weight.value.scalars, headBefore, "the excluded head keeps its own values")

        state["0.bias"] = nil
        XCTAssertThrowsError(try model.load(state, excluding: ["1."])) { error in
            XCTAssertEqual(error as? StateError, .missingKeys(["0.bias"]), "keys outside the prefix stay required")
        }
        state = model.stateDictionary()
        state["2.weight"] = .zeros([1])
        XCTAssertThrowsError(try model.load(state, excluding: ["1."])) { error in
            XCTAssertEqual(error as? StateError, .unexpectedKeys(["2.weight"]))
        }
    }

    func testBatchNormTrainingUpdatesRunningStatistics() throws {
        let norm = BatchNorm2D(channels: 2, momentum: 0.1)
        norm.setTraining(true)
        // Channel 0 holds 1, 3 (mean 2, unbiased variance 2); channel 1 holds 0, 0.
        let input = try Tensor(shape: [1, 1, 2, 2], values: [1, 0, 3, 0])
        let output = try norm(input)
        XCTAssertEqual(output[0, 0, 0, 0], -1, accuracy: 1e-4)
        XCTAssertEqual(output[0, 0, 1, 0], 1, accuracy: 1e-4)
        XCTAssertEqual(norm.runningMean.value.scalars, [0.2, 0], accuracy: 1e-6)
        XCTAssertEqual(norm.runningVariance.value.scalars, [0.9 + 0.2, 0.9], accuracy: 1e-6)
        norm.setTraining(false)
        let evaluated = try norm(input)
        XCTAssertEqual(evaluated[0, 0, 0, 0], (1 - 0.2) / (1.1 + 1e-5).squareRoot(), accuracy: 1e-5)
    }

    func testDropoutIsIdentityInEvaluationAndScalesInTraining() throws {
        let layer = Dropout(probability: 0.5, seed: 1)
        let input = Tensor(repeating: 1, shape: [1000])
        XCTAssertEqual(try layer(input).scalars, input.scalars)
        layer.setTraining(true)
        let dropped = try layer(input).scalars
        XCTAssertTrue(dropped.allSatisfy { $0 == 0 || $0 == 2 })
        let kept = dropped.filter { $0 == 2 }.count
        XCTAssertTrue((400...600).contains(kept), "kept \(kept) of 1000 at p = 0.5")
    }

    func testSqueezeExcitationScalesEachChannel() throws {
        let se = SqueezeExcitation(inputChannels: 2, squeezeChannels: 8)
        // fc2's bias alone decides the gate: hard-sigmoid(3) = 1 and hard-sigmoid(-3) = 0.
        se.fc2.bias!.value = try Tensor(shape: [2], values: [3, -3])
        let input = try Tensor(shape: [1, 1, 2, 2], values: [5, 7, 6, 8])
        XCTAssertEqual(try se(input).scalars, [5, 0, 6, 0])
    }

    func testInitializationIsSeeded() {
        let a = Conv2D(inputChannels: 4, outputChannels: 4, kernelSize: 3), b = Conv2D(inputChannels: 4, outputChannels: 4, kernelSize: 3)
        a.resetParameters(seed: 9)
        b.resetParameters(seed: 9)
        XCTAssertEqual(a.weight.value.scalars, b.weight.value.scalars)
        let values = a.weight.value.scalars
        let variance = values.reduce(0) { $0 + $1 * $1 } / Float(values.count)
        XCTAssertEqual(variance, 2.0 / 36, accuracy: 0.03, "Kaiming normal, fan-out 4·3·3")
    }
}

private func XCTAssertEqual(_ lhs: [Float], _ rhs: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(lhs.count, rhs.count, file: file, line: line)
    for (a, b) in zip(lhs, rhs) {
        XCTAssertEqual(a, b, accuracy: accuracy, file: file, line: line)
    }
}
