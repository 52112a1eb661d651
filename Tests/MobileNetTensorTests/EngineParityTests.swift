import XCTest
@testable import MobileNetTensor

/// The oneDNN engine against the reference engine on awkward shapes: odd channel counts,
/// stride 2, padding, dilation, batch > 1, 7x7 and 1x1 maps.
///
/// Error measure: max over elements of |fast - reference| / max(|reference|, 1), required ≤ 1e-4.
final class EngineParityTests: XCTestCase {
    private let tolerance: Float = 1e-4
    private var generator = SplitMix64(seed: 2024)

    /// Runs `operation` on both engines and compares.
    private func assertEnginesAgree(
        _ label: String, file: StaticString = #filePath, line: UInt = #line, _ operation: () throws -> Tensor
    ) throws {
        let fast = try Engine.$current.withValue(CPUEngine.shared) { try operation() }
        let reference = try Engine.$current.withValue(ReferenceEngine()) { try operation() }
        let error = relativeError(fast, reference)
        XCTAssertLessThanOrEqual(error, tolerance, "\(label): relative error \(error)", file: file, line: line)
    }

    struct ConvolutionCase {
        var batch = 1, height: Int, width: Int, channels: Int, outputs: Int
        var kernel: Int, stride = 1, padding = 0, dilation = 1, groups = 1, bias = false
    }

    func testConvolutionMatchesReference() throws {
        let cases: [ConvolutionCase] = [
            // Full 3x3 stem, stride 2, odd size.
            .init(batch: 2, height: 15, width: 13, channels: 3, outputs: 17, kernel: 3, stride: 2, padding: 1),
            // Pointwise on a 7x7 map with odd channels, with bias.
            .init(batch: 3, height: 7, width: 7, channels: 19, outputs: 23, kernel: 1, bias: true),
            // Pointwise on a 1x1 map (squeeze-and-excitation).
            .init(batch: 2, height: 1, width: 1, channels: 40, outputs: 9, kernel: 1, bias: true),
            // Depthwise 3x3, stride 1 and 2, odd channels.
            .init(batch: 2, height: 9, width: 11, channels: 21, outputs: 21, kernel: 3, padding: 1, groups: 21),
            .init(batch: 1, height: 14, width: 14, channels: 33, outputs: 33, kernel: 3, stride: 2, padding: 1, groups: 33),
            // Depthwise 5x5 (MobileNetV3), stride 2, on 7x7.
            .init(batch: 2, height: 7, width: 7, channels: 24, outputs: 24, kernel: 5, stride: 2, padding: 2, groups: 24),
            // Dilated depthwise (segmentation backbones).
            .init(batch: 1, height: 10, width: 10, channels: 16, outputs: 16, kernel: 3, padding: 2, dilation: 2, groups: 16),
            // Grouped, not depthwise, with channel multiplier 2.
            .init(batch: 2, height: 6, width: 5, channels: 12, outputs: 24, kernel: 3, padding: 1, groups: 4, bias: true),
            // No padding, kernel covering the whole map.
            .init(batch: 1, height: 5, width: 5, channels: 8, outputs: 3, kernel: 5),
        ]
        for c in cases {
            let input = generator.uniform([c.batch, c.height, c.width, c.channels])
            let weight = generator.uniform([c.outputs, c.channels / c.groups, c.kernel, c.kernel])
            let bias = c.bias ? generator.uniform([c.outputs]) : nil
            let geometry = ConvolutionGeometry(stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            try assertEnginesAgree("conv \(c)") { try conv2d(input, weight: weight, bias: bias, geometry: geometry) }
        }
    }

    func testConvolutionOutputShapeFollowsPyTorch() throws {
        let input = generator.uniform([2, 15, 13, 3])
        let output = try conv2d(input, weight: generator.uniform([8, 3, 3, 3]), geometry: .init(stride: 2, padding: 1))
        XCTAssertEqual(output.shape, [2, 8, 7, 8])  // (15 + 2 - 3) / 2 + 1 = 8, (13 + 2 - 3) / 2 + 1 = 7
    }

    func testBatchNormMatchesReference() throws {
        for shape: Shape in [[2, 7, 7, 19], [3, 1, 1, 40], [1, 5, 3, 16]] {
            let channels = shape[3]
            let input = generator.uniform(shape, -3...3)
            let mean = generator.uniform([channels]), variance = generator.uniform([channels], 0.1...2)
            let scale = generator.uniform([channels], 0.5...1.5), shift = generator.uniform([channels])
            try assertEnginesAgree("batchNorm \(shape)") {
                try batchNorm(input, mean: mean, variance: variance, scale: scale, shift: shift, epsilon: 1e-3)
            }
            try assertEnginesAgree("batchNorm training \(shape)") {
                try batchNormTraining(input, scale: scale, shift: shift, epsilon: 1e-5).output
            }
            try assertEnginesAgree("batchNorm training mean \(shape)") {
                try batchNormTraining(input, scale: scale, shift: shift, epsilon: 1e-5).mean
            }
            try assertEnginesAgree("batchNorm training variance \(shape)") {
                try batchNormTraining(input, scale: scale, shift: shift, epsilon: 1e-5).variance
            }
        }
    }

    func testActivationsMatchReference() throws {
        // The range crosses every kink: 0 and 6 for relu6, ±3 for the hard functions.
        let input = generator.uniform([2, 7, 7, 13], -8...8)
        for kind in Activation.allCases {
            try assertEnginesAgree("activation \(kind)") { try activation(input, kind) }
        }
    }

    func testActivationDefinitions() {
        XCTAssertEqual(Activation.relu6.apply(7), 6)
        XCTAssertEqual(Activation.relu6.apply(-1), 0)
        XCTAssertEqual(Activation.hardSwish.apply(1), 1 * 4 / 6)
        XCTAssertEqual(Activation.hardSwish.apply(-4), 0)
        XCTAssertEqual(Activation.hardSigmoid.apply(0), 0.5)
        XCTAssertEqual(Activation.hardSigmoid.apply(4), 1)
        XCTAssertEqual(Activation.sigmoid.apply(0), 0.5)
        XCTAssertEqual(Activation.sigmoid.apply(2), 0.880797, accuracy: 1e-6)  // 1 / (1 + e⁻²)
        XCTAssertEqual(Activation.sigmoid.derivative(0), 0.25)
    }

    func testConcatenateAndSplitMatchReference() throws {
        // SSD's join of per-map predictions [N, anchors_i, K] along axis 1, and the other axes.
        let parts = [generator.uniform([2, 5, 7]), generator.uniform([2, 1, 7]), generator.uniform([2, 9, 7])]
        try assertEnginesAgree("concatenate axis 1") { try concatenate(parts, axis: 1) }
        let maps = [generator.uniform([3, 2, 2, 5]), generator.uniform([1, 2, 2, 5])]
        try assertEnginesAgree("concatenate axis 0") { try concatenate(maps, axis: 0) }
        let channels = [generator.uniform([2, 3, 3, 4]), generator.uniform([2, 3, 3, 1])]
        try assertEnginesAgree("concatenate axis 3") { try concatenate(channels, axis: 3) }
        let joined = try concatenate(parts, axis: 1)
        XCTAssertEqual(joined.shape, [2, 15, 7])
        // The second sample's first row of the middle part sits after the first part's 5 rows.
        XCTAssertEqual(joined.scalars[(15 + 5) * 7 + 3], parts[1].scalars[7 + 3])
        for engine in [CPUEngine.shared as any ComputeEngine, ReferenceEngine()] {
            let pieces = try engine.split(joined, axis: 1, sizes: [5, 1, 9])
            XCTAssertEqual(pieces.map(\.scalars), parts.map(\.scalars), engine.name)
        }
        XCTAssertThrowsError(try concatenate([parts[0], generator.uniform([2, 5, 6])], axis: 1))
        XCTAssertThrowsError(try concatenate(parts, axis: 3))
        XCTAssertThrowsError(try concatenate([], axis: 0))
    }

    func testAddMultiplyAndPoolMatchReference() throws {
        let lhs = generator.uniform([3, 7, 5, 11]), rhs = generator.uniform([3, 7, 5, 11])
        try assertEnginesAgree("add") { try add(lhs, rhs) }
        let scale = generator.uniform([3, 1, 1, 11], 0...1)
        try assertEnginesAgree("multiplyChannels") { try multiplyChannels(lhs, by: scale) }
        try assertEnginesAgree("globalAveragePool") { try globalAveragePool(lhs) }
        let single = generator.uniform([2, 1, 1, 9])
        try assertEnginesAgree("globalAveragePool 1x1") { try globalAveragePool(single) }
    }

    func testLinearAndSoftmaxMatchReference() throws {
        let input = generator.uniform([3, 37]), weight = generator.uniform([13, 37]), bias = generator.uniform([13])
        try assertEnginesAgree("linear") { try linear(input, weight: weight, bias: bias) }
        try assertEnginesAgree("linear without bias") { try linear(input, weight: weight) }
        let logits = generator.uniform([4, 1000], -20...20)
        try assertEnginesAgree("softmax") { try softmax(logits) }
        let probabilities = try softmax(logits)
        for row in 0..<4 {
            let total = (0..<1000).reduce(Float(0)) { $0 + probabilities[row, $1] }
            XCTAssertEqual(total, 1, accuracy: 1e-5)
        }
    }

    func testRepeatedShapesReuseTheirPrimitives() throws {
        let input = generator.uniform([1, 9, 9, 29]), weight = generator.uniform([31, 29, 1, 1])
        let geometry = ConvolutionGeometry()
        _ = try conv2d(input, weight: weight, geometry: geometry)
        let before = CPUEngine.shared.cacheStatistics.created
        for _ in 0..<3 {
            _ = try conv2d(input, weight: generator.uniform([31, 29, 1, 1]), geometry: geometry)
        }
        XCTAssertEqual(CPUEngine.shared.cacheStatistics.created, before, "a repeated shape must not create a primitive")
        _ = try conv2d(generator.uniform([2, 9, 9, 29]), weight: weight, geometry: geometry)
        XCTAssertEqual(CPUEngine.shared.cacheStatistics.created, before + 1, "a new shape creates exactly one")
    }

    func testDepthwiseUsesAJITKernelNotTheReferenceOne() throws {
        let implementation = try CPUEngine.shared.convolutionImplementation(
            input: [1, 56, 56, 144], weight: [144, 1, 3, 3], hasBias: false,
            geometry: .init(stride: 1, padding: 1, groups: 144))
        XCTAssertFalse(implementation.hasPrefix("ref"), "oneDNN fell back to \(implementation)")
        // A depthwise kernel of the instruction set oneDNN dispatches to here: `brdgmm_dw:avx512_core`
        // on AVX-512, `jit_dw:avx2` on AVX2 (or under ONEDNN_MAX_CPU_ISA=AVX2). A kernel of a lower
        // level than the CPU offers would be several times slower and compute differently.
        XCTAssertTrue(implementation.contains("_dw:"), "\(implementation) is not a depthwise kernel")
        if let isa = CPUEngine.float32KernelInstructionSet {
            XCTAssertTrue(implementation.hasSuffix(":" + isa), "\(implementation) on \(CPUEngine.instructionSet)")
        }
    }

    func testInstructionSetIsTheCappedOne() {
        // CI's second leg runs with ONEDNN_MAX_CPU_ISA=AVX2 to compute as an AVX2-only CPU does; if
        // oneDNN ignored the variable, that leg would silently test the AVX-512 kernels again.
        let isa = CPUEngine.instructionSet
        XCTAssertFalse(isa.isEmpty)
        let cap = ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"]
            ?? ProcessInfo.processInfo.environment["DNNL_MAX_CPU_ISA"]
        if cap?.uppercased() == "AVX2" {
            XCTAssertFalse(isa.hasPrefix("avx512"), "ONEDNN_MAX_CPU_ISA=AVX2, but oneDNN dispatches to \(isa)")
            XCTAssertNotEqual(CPUEngine.float32KernelInstructionSet, "avx512_core")
        }
        if isa.hasPrefix("avx512_core") { XCTAssertEqual(CPUEngine.float32KernelInstructionSet, "avx512_core") }
        if isa.hasPrefix("avx2") { XCTAssertEqual(CPUEngine.float32KernelInstructionSet, "avx2") }
    }

    func testThreadCountIsSettable() {
        let original = CPUEngine.threadCount
        defer { CPUEngine.threadCount = original }
        CPUEngine.threadCount = 1
        XCTAssertEqual(CPUEngine.threadCount, 1)
        CPUEngine.threadCount = 2
        XCTAssertEqual(CPUEngine.threadCount, 2)
    }

    func testShapeErrorsNameTheOperation() {
        let input = generator.uniform([1, 8, 8, 6])
        XCTAssertThrowsError(try conv2d(input, weight: generator.uniform([4, 5, 3, 3]), geometry: .init(padding: 1))) { error in
            XCTAssertTrue("\(error)".contains("conv2d weight"), "\(error)")
        }
        XCTAssertThrowsError(try conv2d(input, weight: generator.uniform([4, 2, 3, 3]), geometry: .init(groups: 4))) { error in
            XCTAssertTrue("\(error)".contains("groups"), "\(error)")
        }
        XCTAssertThrowsError(try conv2d(generator.uniform([8, 8, 6]), weight: generator.uniform([4, 6, 1, 1]), geometry: .init()))
        XCTAssertThrowsError(try conv2d(generator.uniform([1, 2, 2, 6]), weight: generator.uniform([4, 6, 5, 5]), geometry: .init()))
        XCTAssertThrowsError(try add(input, generator.uniform([1, 8, 8, 5])))
        XCTAssertThrowsError(try linear(generator.uniform([2, 5]), weight: generator.uniform([3, 4])))
        XCTAssertThrowsError(try multiplyChannels(input, by: generator.uniform([1, 6])))
        XCTAssertThrowsError(try batchNorm(input, mean: generator.uniform([5]), variance: generator.uniform([6]), scale: generator.uniform([6]),
                                           shift: generator.uniform([6]), epsilon: 1e-5))
    }
}
