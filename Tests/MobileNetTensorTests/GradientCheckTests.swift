import XCTest
@testable import MobileNetTensor

/// Every differentiable operation's recorded gradient against central finite differences, on the
/// reference engine (whose forward pass sums in Double, so the differences are clean).
///
/// Each check differentiates the scalar `Σ R ⊙ f(x)` for a fixed random `R` (the seed of backward),
/// so every output element takes part. A perturbed element's central difference is divided by the
/// step actually taken in Float, and must agree with the tape to `|fd - g| ≤ 2e-3 · max(|g|, 1)`.
final class GradientCheckTests: XCTestCase {
    private var generator = SplitMix64(seed: 77)
    private let step: Float = 1e-3
    private let tolerance = 2e-3

    private func random(_ shape: Shape, _ range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor.uniform(shape, in: range, using: &generator)
    }

    /// Values in `range` at least `margin` away from each kink, so that a finite step never crosses one.
    private func random(_ shape: Shape, _ range: ClosedRange<Float>, avoiding kinks: [Float], margin: Float = 0.01) -> Tensor {
        Tensor(shape: shape) { _ in
            var value: Float
            repeat { value = Float.random(in: range, using: &generator) } while kinks.contains { abs(value - $0) < margin }
            return value
        }
    }

    /// Compares the tape's gradients of `Σ R ⊙ operation(inputs)` with central differences at up
    /// to `samples` elements of each input.
    private func checkGradients(
        _ label: String, _ inputs: [Tensor], samples: Int = 24, file: StaticString = #filePath, line: UInt = #line,
        _ operation: ([Tensor]) throws -> Tensor
    ) throws {
        try Engine.$current.withValue(ReferenceEngine()) {
            let tape = GradientTape()
            let watched = inputs.map { tape.watch($0) }
            let output = try tape.record { try operation(watched) }
            XCTAssertTrue(output.isTracked, "\(label): the output is not on the tape", file: file, line: line)
            let seed = random(output.shape)
            try tape.backward(from: output, seed: seed)

            func objective(_ values: [Tensor]) throws -> Double {
                let result = try operation(values)
                return zip(result.scalars, seed.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            for (position, input) in inputs.enumerated() {
                let gradient = try XCTUnwrap(tape.gradient(for: watched[position]), "\(label) input \(position)", file: file, line: line)
                XCTAssertEqual(gradient.shape, input.shape, "\(label) input \(position)", file: file, line: line)
                let stride = max(1, input.elementCount / samples)
                for index in Swift.stride(from: 0, to: input.elementCount, by: stride) {
                    var plus = inputs, minus = inputs
                    plus[position].withUnsafeMutableBufferPointer { $0[index] += step }
                    minus[position].withUnsafeMutableBufferPointer { $0[index] -= step }
                    let taken = Double(plus[position].storage.pointer[index]) - Double(minus[position].storage.pointer[index])
                    let difference = (try objective(plus) - objective(minus)) / taken
                    let analytic = Double(gradient.storage.pointer[index])
                    let error = abs(difference - analytic) / max(abs(analytic), 1)
                    XCTAssertLessThanOrEqual(
                        error, tolerance, "\(label) input \(position)[\(index)]: tape \(analytic), finite difference \(difference)",
                        file: file, line: line)
                }
            }
        }
    }

    func testConvolution() throws {
        let cases: [(Shape, Shape, ConvolutionGeometry, Bool)] = [
            ([2, 7, 6, 3], [5, 3, 3, 3], .init(stride: 2, padding: 1), true),               // stem-like, bias
            ([2, 5, 5, 7], [7, 1, 3, 3], .init(stride: 2, padding: 1, groups: 7), false),   // depthwise, stride 2
            ([1, 7, 7, 4], [4, 1, 3, 3], .init(padding: 2, dilation: 2, groups: 4), false), // dilated depthwise
            ([2, 4, 3, 6], [4, 3, 1, 1], .init(groups: 2), true),                           // grouped 1x1
            ([2, 1, 1, 5], [3, 5, 1, 1], .init(), true),                                    // 1x1 map (SE)
        ]
        for (input, weight, geometry, hasBias) in cases {
            let operands = [random(input), random(weight)] + (hasBias ? [random([weight[0]])] : [])
            try checkGradients("conv2d \(input) \(weight) \(geometry)", operands) { x in
                try conv2d(x[0], weight: x[1], bias: hasBias ? x[2] : nil, geometry: geometry)
            }
        }
    }

    func testBatchNorm() throws {
        for shape: Shape in [[2, 3, 3, 5], [4, 1, 1, 3]] {
            let channels = shape[3]
            let operands = [random(shape, -2...2), random([channels], 0.5...1.5), random([channels])]
            try checkGradients("batchNorm training \(shape)", operands) { x in
                try batchNormTraining(x[0], scale: x[1], shift: x[2], epsilon: 1e-3).output
            }
            let mean = random([channels]), variance = random([channels], 0.5...2)
            try checkGradients("batchNorm fixed statistics \(shape)", operands) { x in
                try batchNorm(x[0], mean: mean, variance: variance, scale: x[1], shift: x[2], epsilon: 1e-3)
            }
        }
    }

    func testActivations() throws {
        for kind in Activation.allCases {
            let input = random([2, 3, 3, 7], -8...8, avoiding: [-3, 0, 3, 6])
            try checkGradients("activation \(kind)", [input], samples: 126) { x in try activation(x[0], kind) }
        }
    }

    func testAddMultiplyAndPool() throws {
        try checkGradients("add", [random([2, 3, 2, 5]), random([2, 3, 2, 5])]) { x in try add(x[0], x[1]) }
        // Using one operand twice sums both paths' gradients.
        try checkGradients("add to itself", [random([2, 3, 2, 5])]) { x in try add(x[0], x[0]) }
        try checkGradients("multiplyChannels", [random([2, 3, 4, 5]), random([2, 1, 1, 5])]) { x in
            try multiplyChannels(x[0], by: x[1])
        }
        try checkGradients("multiplyChannels on a 1x1 map", [random([3, 1, 1, 4]), random([3, 1, 1, 4])]) { x in
            try multiplyChannels(x[0], by: x[1])
        }
        try checkGradients("globalAveragePool", [random([2, 3, 5, 4])]) { x in try globalAveragePool(x[0]) }
    }

    /// Bilinear resizing (align_corners=False) up, down, to odd sizes and from a single row: the
    /// backward pass spreads each output's gradient over its four taps.
    func testResizeBilinear() throws {
        for (shape, height, width) in [([2, 3, 4, 3], 7, 9), ([1, 7, 5, 2], 3, 2), ([1, 1, 6, 4], 4, 5), ([2, 4, 4, 1], 4, 4)] {
            try checkGradients("resizeBilinear \(shape) to \(height)x\(width)", [random(Shape(shape))]) { x in
                try resizeBilinear(x[0], height: height, width: width)
            }
        }
    }

    func testLinearReshapeAndLayout() throws {
        try checkGradients("linear", [random([3, 7]), random([4, 7]), random([4])]) { x in
            try linear(x[0], weight: x[1], bias: x[2])
        }
        try checkGradients("reshape", [random([2, 1, 1, 6])]) { x in
            try activation(x[0].reshaped([2, 6]), .hardSwish)
        }
        try checkGradients("nhwcToNCHW", [random([2, 3, 2, 4])]) { x in try nhwcToNCHW(x[0]) }
        try checkGradients("nchwToNHWC", [random([2, 4, 3, 2])]) { x in try nchwToNHWC(x[0]) }
        try checkGradients("concatenate", [random([2, 3, 4]), random([2, 1, 4]), random([2, 2, 4])]) { x in
            try concatenate(x, axis: 1)
        }
    }

    func testDropoutUsesItsMask() throws {
        // The same seed draws the same mask in every evaluation, so the operation is linear in x.
        try checkGradients("dropout", [random([4, 10])]) { x in
            var dropoutGenerator = SplitMix64(seed: 9)
            return try dropout(x[0], probability: 0.3, using: &dropoutGenerator)
        }
        let tape = GradientTape()
        let input = tape.watch(Tensor(repeating: 1, shape: [1000]))
        var dropoutGenerator = SplitMix64(seed: 3)
        let output = try tape.record { try dropout(input, probability: 0.5, using: &dropoutGenerator) }
        try tape.backward(from: output)
        let gradient = try XCTUnwrap(tape.gradient(for: input))
        XCTAssertEqual(gradient.scalars, output.scalars, "the gradient of x · mask is the mask")
        let kept = output.scalars.filter { $0 != 0 }.count
        XCTAssertTrue((400...600).contains(kept), "\(kept) of 1000 kept at p = 0.5")
    }

    func testSoftmaxAndCrossEntropy() throws {
        try checkGradients("softmax", [random([3, 6], -3...3)]) { x in try softmax(x[0]) }
        for smoothing: Float in [0, 0.1] {
            try checkGradients("crossEntropy smoothing \(smoothing)", [random([4, 5], -3...3)]) { x in
                try crossEntropy(logits: x[0], labels: [0, 4, 2, 2], labelSmoothing: smoothing)
            }
        }
    }

    func testCrossEntropyValuesEqualPyTorch() throws {
        // torch.nn.functional.cross_entropy(torch.tensor([[1., 2., 3.], [1., 0., -1.]]), torch.tensor([2, 1]),
        // label_smoothing=s) gives 0.9076059 for s = 0 and 1.0076059 for s = 0.2.
        // oneDNN's vectorized exp and log are good to a few ulps; the reference sums in Double.
        let logits = try Tensor(shape: [2, 3], values: [1, 2, 3, 1, 0, -1])
        for (engine, accuracy): (any ComputeEngine, Float) in [(ReferenceEngine(), 1e-6), (CPUEngine.shared, 1e-5)] {
            try Engine.$current.withValue(engine) {
                XCTAssertEqual(try crossEntropy(logits: logits, labels: [2, 1]).scalars[0], 0.9076059, accuracy: accuracy)
                XCTAssertEqual(
                    try crossEntropy(logits: logits, labels: [2, 1], labelSmoothing: 0.2).scalars[0], 1.0076059, accuracy: accuracy)
                // A hopeless logit gap stays finite (log-softmax, never log 0).
                let extreme = try Tensor(shape: [1, 2], values: [0, 200])
                XCTAssertEqual(try crossEntropy(logits: extreme, labels: [0]).scalars[0], 200, accuracy: 1e-3)
            }
        }
    }

    func testCrossEntropyRejectsBadLabels() {
        let logits = random([2, 3])
        XCTAssertThrowsError(try crossEntropy(logits: logits, labels: [0])) { error in
            XCTAssertTrue("\(error)".contains("labels"), "\(error)")
        }
        XCTAssertThrowsError(try crossEntropy(logits: logits, labels: [0, 3])) { error in
            XCTAssertTrue("\(error)".contains("label 3"), "\(error)")
        }
        XCTAssertThrowsError(try crossEntropy(logits: logits, labels: [0, 1], labelSmoothing: 1))
    }
}
