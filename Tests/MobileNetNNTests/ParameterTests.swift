import XCTest
import MobileNetNN
import MobileNetTensor

/// How parameters meet the gradient tape: registration on read, one leaf per parameter however
/// often it is used, accumulation across backward passes, freezing, and no effect without a tape.
final class ParameterTests: XCTestCase {
    private var generator = SplitMix64(seed: 8)

    private func makeLinear() -> Linear {
        let layer = Linear(inputFeatures: 3, outputFeatures: 3, bias: true)
        layer.resetParameters(using: &generator)
        layer.weight.value = Tensor.uniform([3, 3], in: -1...1, using: &generator)
        return layer
    }

    func testWithoutATapeNothingIsTrackedAndResultsAreUnchanged() throws {
        let layer = makeLinear()
        let input = Tensor.uniform([2, 3], in: -1...1, using: &generator)
        XCTAssertFalse(layer.weight.tracked.isTracked)
        let plain = try layer(input)
        XCTAssertFalse(plain.isTracked)
        // Under a tape the forward values are the same, only marked.
        let tape = GradientTape()
        let recorded = try tape.record { try layer(input) }
        XCTAssertTrue(recorded.isTracked)
        XCTAssertEqual(recorded.scalars, plain.scalars)
        XCTAssertEqual(tape.operationCount, 1)
    }

    func testAParameterUsedTwiceGetsTheSumOfBothGradients() throws {
        let layer = makeLinear()
        let input = Tensor.uniform([2, 3], in: -1...1, using: &generator)
        let seed = Tensor.uniform([2, 3], in: -1...1, using: &generator)

        let once = GradientTape()
        let single = try once.record { try layer(input) }
        try once.backward(from: single, seed: seed)
        let singleGradient = try XCTUnwrap(layer.weight.gradient)
        layer.clearGradients()
        XCTAssertNil(layer.weight.gradient)

        let twice = GradientTape()
        let double = try twice.record { try add(layer(input), layer(input)) }
        try twice.backward(from: double, seed: seed)
        let doubleGradient = try XCTUnwrap(layer.weight.gradient)
        for (a, b) in zip(doubleGradient.scalars, singleGradient.scalars) {
            XCTAssertEqual(a, 2 * b, accuracy: 1e-6)
        }
        // dL/dW for y = x Wᵀ + b with seed R is Rᵀ x.
        for o in 0..<3 {
            for i in 0..<3 {
                let expected = (0..<2).reduce(Float(0)) { $0 + seed[$1, o] * input[$1, i] }
                XCTAssertEqual(singleGradient[o, i], expected, accuracy: 1e-5)
            }
        }
    }

    func testGradientsAccumulateAcrossBackwardPassesUntilCleared() throws {
        let layer = makeLinear()
        let input = Tensor.uniform([4, 3], in: -1...1, using: &generator)
        for _ in 0..<2 {
            let tape = GradientTape()
            let loss = try tape.record { try crossEntropy(logits: layer(input), labels: [0, 1, 2, 0]) }
            try tape.backward(from: loss)
        }
        let accumulated = try XCTUnwrap(layer.bias?.gradient)
        layer.clearGradients()
        let tape = GradientTape()
        let loss = try tape.record { try crossEntropy(logits: layer(input), labels: [0, 1, 2, 0]) }
        try tape.backward(from: loss)
        let single = try XCTUnwrap(layer.bias?.gradient)
        for (a, b) in zip(accumulated.scalars, single.scalars) {
            XCTAssertEqual(a, 2 * b, accuracy: 1e-6)
        }
        // The cross-entropy gradient of the logits sums to zero per sample, so the bias's does too
        // (up to oneDNN's vectorized exp, good to a few ulps).
        XCTAssertEqual(single.scalars.reduce(0, +), 0, accuracy: 1e-5)
    }

    func testFrozenParametersGetNoGradientAndRecordNothing() throws {
        let first = makeLinear(), second = makeLinear()
        for parameter in [first.weight, first.bias!] { parameter.requiresGradient = false }
        let input = Tensor.uniform([2, 3], in: -1...1, using: &generator)
        let tape = GradientTape()
        let loss = try tape.record { try crossEntropy(logits: second(relu(first(input))), labels: [1, 2]) }
        // Only the trainable layer and what follows it are recorded: linear, cross-entropy.
        XCTAssertEqual(tape.operationCount, 2)
        try tape.backward(from: loss)
        XCTAssertNil(first.weight.gradient)
        XCTAssertNotNil(second.weight.gradient)
        // Buffers never take part.
        let norm = BatchNorm2D(channels: 2)
        XCTAssertFalse(norm.runningMean.requiresGradient)
    }

    func testBackwardRunsOnceAndNeedsALossFromTheTape() throws {
        let layer = makeLinear()
        let input = Tensor.uniform([2, 3], in: -1...1, using: &generator)
        let tape = GradientTape()
        let output = try tape.record { try layer(input) }
        XCTAssertThrowsError(try tape.backward(from: input)) { error in
            XCTAssertTrue("\(error)".contains("backward"), "\(error)")
        }
        XCTAssertThrowsError(try tape.backward(from: output, seed: .zeros([3])))
        try tape.backward(from: output)
        XCTAssertThrowsError(try tape.backward(from: output)) { error in
            XCTAssertTrue("\(error)".contains("already ran"), "\(error)")
        }
    }

    func testWritingIntoATrackedTensorDetachesIt() throws {
        let tape = GradientTape()
        var watched = tape.watch(Tensor.zeros([4]))
        XCTAssertTrue(watched.isTracked)
        let copy = watched
        watched[0] = 1
        XCTAssertFalse(watched.isTracked, "a written tensor is no longer the recorded value")
        XCTAssertTrue(copy.isTracked)
        XCTAssertEqual(copy.scalars, [0, 0, 0, 0], "copy-on-write still protects the recorded value")
    }

    func testBatchNormTrainingUnderATapeUpdatesRunningStatisticsOnce() throws {
        let norm = BatchNorm2D(channels: 2, momentum: 0.1)
        norm.setTraining(true)
        let input = try Tensor(shape: [1, 1, 2, 2], values: [1, 0, 3, 0])
        let tape = GradientTape()
        let output = try tape.record { try norm(input) }
        assertClose(norm.runningMean.value.scalars, [0.2, 0], accuracy: 1e-6)
        try tape.backward(from: output, seed: try Tensor(shape: [1, 1, 2, 2], values: [1, 0, 0, 0]))
        // y = γ x̂ + β: dβ sums the seed, dγ = Σ seed · x̂ (x̂ = -1 for the first element).
        assertClose(try XCTUnwrap(norm.bias.gradient).scalars, [1, 0], accuracy: 1e-6)
        assertClose(try XCTUnwrap(norm.weight.gradient).scalars, [-1, 0], accuracy: 1e-3)
    }
}

private func assertClose(_ actual: [Float], _ expected: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (a, e) in zip(actual, expected) {
        XCTAssertEqual(a, e, accuracy: accuracy, "\(actual) vs \(expected)", file: file, line: line)
    }
}
