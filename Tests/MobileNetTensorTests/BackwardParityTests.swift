import XCTest
@testable import MobileNetTensor

/// The oneDNN backward kernels against the reference engine's loops on awkward shapes: odd
/// channel counts, stride 2, padding, dilation, groups, batch > 1, 7x7 and 1x1 maps.
///
/// Error measure, as in EngineParityTests: max over elements of |fast - reference| / max(|reference|, 1) ≤ 1e-4.
final class BackwardParityTests: XCTestCase {
    private let tolerance: Float = 1e-4
    private var generator = SplitMix64(seed: 4242)

    /// Runs `operation` on both engines and compares each returned tensor.
    private func assertEnginesAgree(
        _ label: String, file: StaticString = #filePath, line: UInt = #line, _ operation: (any ComputeEngine) throws -> [Tensor]
    ) throws {
        let fast = try operation(CPUEngine.shared)
        let reference = try operation(ReferenceEngine())
        XCTAssertEqual(fast.count, reference.count, label, file: file, line: line)
        for (index, (f, r)) in zip(fast, reference).enumerated() {
            let error = relativeError(f, r)
            XCTAssertLessThanOrEqual(error, tolerance, "\(label) result \(index): relative error \(error)", file: file, line: line)
        }
    }

    struct ConvolutionCase {
        var batch = 1, height: Int, width: Int, channels: Int, outputs: Int
        var kernel: Int, stride = 1, padding = 0, dilation = 1, groups = 1, bias = false
    }

    static let convolutionCases: [ConvolutionCase] = [
        // Full 3x3 stem, stride 2, odd size.
        .init(batch: 2, height: 15, width: 13, channels: 3, outputs: 17, kernel: 3, stride: 2, padding: 1),
        // Pointwise on a 7x7 map with odd channels, with bias.
        .init(batch: 3, height: 7, width: 7, channels: 19, outputs: 23, kernel: 1, bias: true),
        // Pointwise on a 1x1 map (squeeze-and-excitation), with bias.
        .init(batch: 2, height: 1, width: 1, channels: 40, outputs: 9, kernel: 1, bias: true),
        // Depthwise 3x3, stride 1 and 2, odd channels.
        .init(batch: 2, height: 9, width: 11, channels: 21, outputs: 21, kernel: 3, padding: 1, groups: 21),
        .init(batch: 2, height: 14, width: 14, channels: 33, outputs: 33, kernel: 3, stride: 2, padding: 1, groups: 33),
        // Depthwise 5x5 (MobileNetV3), stride 2, on 7x7.
        .init(batch: 2, height: 7, width: 7, channels: 24, outputs: 24, kernel: 5, stride: 2, padding: 2, groups: 24),
        // Dilated depthwise and dilated full convolution.
        .init(batch: 2, height: 10, width: 10, channels: 16, outputs: 16, kernel: 3, padding: 2, dilation: 2, groups: 16),
        .init(batch: 1, height: 9, width: 8, channels: 5, outputs: 7, kernel: 3, stride: 2, padding: 2, dilation: 2),
        // Grouped, not depthwise, with channel multiplier 2, with bias.
        .init(batch: 2, height: 6, width: 5, channels: 12, outputs: 24, kernel: 3, padding: 1, groups: 4, bias: true),
        // No padding, kernel covering the whole map.
        .init(batch: 1, height: 5, width: 5, channels: 8, outputs: 3, kernel: 5),
    ]

    func testConvolutionBackwardMatchesReference() throws {
        for c in Self.convolutionCases {
            let geometry = ConvolutionGeometry(stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            let input = generator.uniform([c.batch, c.height, c.width, c.channels])
            let weight = generator.uniform([c.outputs, c.channels / c.groups, c.kernel, c.kernel])
            let outputShape = geometry.outputShape(input: input.shape, weight: weight.shape)
            let gradient = generator.uniform(outputShape)
            try assertEnginesAgree("conv backward data \(c)") { engine in
                [try engine.convolution2DBackwardData(gradient, weight: weight, inputShape: input.shape, geometry: geometry)]
            }
            try assertEnginesAgree("conv backward weights \(c)") { engine in
                let result = try engine.convolution2DBackwardWeights(
                    gradient, input: input, weightShape: weight.shape, hasBias: c.bias, geometry: geometry)
                XCTAssertEqual(result.bias == nil, !c.bias)
                return [result.weight] + (result.bias.map { [$0] } ?? [])
            }
        }
    }

    func testConvolutionBackwardUsesJITKernels() throws {
        // MobileNet's three convolution kinds at CIFAR-sized maps, batch 8.
        let shapes: [(input: Shape, weight: Shape, geometry: ConvolutionGeometry)] = [
            ([8, 32, 32, 3], [32, 3, 3, 3], .init(stride: 2, padding: 1)),
            ([8, 16, 16, 96], [96, 1, 3, 3], .init(stride: 1, padding: 1, groups: 96)),
            ([8, 16, 16, 96], [96, 1, 3, 3], .init(stride: 2, padding: 1, groups: 96)),
            ([8, 8, 8, 144], [24, 144, 1, 1], .init()),
        ]
        for (input, weight, geometry) in shapes {
            let names = try CPUEngine.shared.convolutionBackwardImplementations(
                input: input, weight: weight, hasBias: false, geometry: geometry)
            XCTAssertFalse(names.data.hasPrefix("ref"), "backward data \(input) \(weight) fell back to \(names.data)")
            XCTAssertFalse(names.weights.hasPrefix("ref"), "backward weights \(input) \(weight) fell back to \(names.weights)")
            // The JIT kernels of the instruction set at hand (`jit_dw:avx512_core`, `jit_1x1:avx2`, ...).
            if let isa = CPUEngine.float32KernelInstructionSet {
                for name in [names.data, names.weights] {
                    XCTAssertTrue(name.hasPrefix("jit"), "\(input) \(weight): \(name) is not a JIT kernel")
                    XCTAssertTrue(name.hasSuffix(":" + isa), "\(input) \(weight): \(name) on \(CPUEngine.instructionSet)")
                }
            }
        }
    }

    func testBatchNormBackwardMatchesReference() throws {
        for shape: Shape in [[2, 7, 7, 19], [3, 1, 1, 40], [1, 5, 3, 16]] {
            let channels = shape[3]
            let input = generator.uniform(shape, -3...3), gradient = generator.uniform(shape)
            let scale = generator.uniform([channels], 0.5...1.5), shift = generator.uniform([channels])
            let batch = try ReferenceEngine().batchNormalizationTraining(input, scale: scale, shift: shift, epsilon: 1e-5)
            let mean = generator.uniform([channels]), variance = generator.uniform([channels], 0.1...2)
            try assertEnginesAgree("batchNorm backward, batch statistics \(shape)") { engine in
                let result = try engine.batchNormalizationBackward(
                    gradient, input: input, mean: batch.mean, variance: batch.variance, scale: scale, epsilon: 1e-5,
                    statistics: .batch)
                return [result.input, result.scale, result.shift]
            }
            try assertEnginesAgree("batchNorm backward, fixed statistics \(shape)") { engine in
                let result = try engine.batchNormalizationBackward(
                    gradient, input: input, mean: mean, variance: variance, scale: scale, epsilon: 1e-3, statistics: .fixed)
                return [result.input, result.scale, result.shift]
            }
        }
    }

    func testActivationBackwardMatchesReference() throws {
        // The range crosses every kink: 0 and 6 for relu6, ±3 for the hard functions.
        let input = generator.uniform([2, 7, 7, 13], -8...8), gradient = generator.uniform([2, 7, 7, 13])
        for kind in Activation.allCases {
            try assertEnginesAgree("activation \(kind) backward") { engine in
                [try engine.activationBackward(gradient, input: input, kind)]
            }
        }
    }

    func testPoolingAndChannelScalingBackwardMatchReference() throws {
        for shape: Shape in [[3, 7, 5, 11], [2, 1, 1, 9], [2, 4, 4, 35]] {
            let input = generator.uniform(shape), gradient = generator.uniform(shape)
            let pooledGradient = generator.uniform([shape[0], 1, 1, shape[3]])
            try assertEnginesAgree("globalAveragePool backward \(shape)") { engine in
                [try engine.globalAveragePoolBackward(pooledGradient, inputShape: shape)]
            }
            try assertEnginesAgree("multiplyChannels scale gradient \(shape)") { engine in
                [try engine.multiplyChannelsScaleGradient(gradient, input: input)]
            }
        }
    }

    func testLinearSoftmaxAndLossMatchReference() throws {
        let input = generator.uniform([3, 37]), weight = generator.uniform([13, 37]), gradient = generator.uniform([3, 13])
        try assertEnginesAgree("linear backward data") { engine in
            [try engine.linearBackwardData(gradient, weight: weight)]
        }
        for hasBias in [true, false] {
            try assertEnginesAgree("linear backward weights, bias \(hasBias)") { engine in
                let result = try engine.linearBackwardWeights(gradient, input: input, hasBias: hasBias)
                XCTAssertEqual(result.bias == nil, !hasBias)
                return [result.weight] + (result.bias.map { [$0] } ?? [])
            }
        }
        let logits = generator.uniform([4, 10], -20...20)
        let probabilities = try ReferenceEngine().softmax(logits)
        let softmaxGradient = generator.uniform([4, 10])
        try assertEnginesAgree("softmax backward") { engine in
            [try engine.softmaxBackward(softmaxGradient, output: probabilities)]
        }
        try assertEnginesAgree("logSoftmax") { engine in [try engine.logSoftmax(logits)] }
        // The fused loss and its gradient, through the tape on each engine.
        let labels = [3, 0, 9, 3]
        try assertEnginesAgree("crossEntropy and its gradient") { engine in
            try Engine.$current.withValue(engine) {
                let tape = GradientTape()
                let watched = tape.watch(logits)
                let loss = try tape.record { try crossEntropy(logits: watched, labels: labels, labelSmoothing: 0.1) }
                try tape.backward(from: loss)
                return [loss, try XCTUnwrap(tape.gradient(for: watched))]
            }
        }
    }

    func testTrainingForwardEqualsInferenceForward() throws {
        // Training primitives (dnnl_forward_training) are separate cache entries; same numbers.
        let engine = CPUEngine.shared
        let input = generator.uniform([2, 9, 9, 21]), weight = generator.uniform([21, 1, 3, 3])
        let geometry = ConvolutionGeometry(padding: 1, groups: 21)
        let inference = try engine.convolution2D(input, weight: weight, bias: nil, geometry: geometry, propagation: .inference)
        let before = engine.cacheStatistics.created
        let training = try engine.convolution2D(input, weight: weight, bias: nil, geometry: geometry, propagation: .training)
        XCTAssertEqual(engine.cacheStatistics.created, before + 1, "the training primitive is its own cache entry")
        XCTAssertEqual(inference.maxAbsoluteDifference(training), 0)
        for kind in Activation.allCases where kind != .identity {
            let a = try engine.activation(input, kind, propagation: .inference)
            let b = try engine.activation(input, kind, propagation: .training)
            XCTAssertEqual(a.maxAbsoluteDifference(b), 0, "\(kind)")
        }
    }

    /// Bilinear resizing's backward (the spread of each output gradient over its four taps) on
    /// both engines, upsampling to odd sizes and downsampling.
    func testResizeBilinearBackward() throws {
        for (shape, height, width) in [([2, 7, 5, 11], 28, 19), ([1, 28, 28, 3], 7, 9), ([1, 1, 1, 4], 5, 3)] {
            let gradient = Tensor.uniform([shape[0], height, width, shape[3]], in: -1...1, using: &generator)
            let input = Tensor.uniform(Shape(shape), in: -1...1, using: &generator)
            try assertEnginesAgree("resizeBilinear \(shape) to \(height)x\(width)") { engine in
                [try engine.resizeBilinear(input, height: height, width: width),
                 try engine.resizeBilinearBackward(gradient, inputShape: Shape(shape))]
            }
        }
    }
}
