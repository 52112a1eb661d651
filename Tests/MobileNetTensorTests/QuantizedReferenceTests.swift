import XCTest
@testable import MobileNetTensor

/// The integer reference of int8 inference (``InferenceGraph/quantizedValues(_:_:)``): tiny graphs
/// whose every integer is computed by hand in the comments, one rule of ``GraphQuantization`` at a
/// time, then a random float graph quantized with fine scales that must stay close to
/// ``InferenceGraph/evaluate(_:)``.
///
/// Scales are powers of two wherever a case pins a rounding, so that `1 / s` and every product is
/// exact and the tie is a true tie.
final class QuantizedReferenceTests: XCTestCase {
    // MARK: Helpers

    private func quantization(
        _ values: [GraphQuantization.Value], layers: [Int: GraphQuantization.Layer] = [:], range: GraphQuantization.WeightRange = .eightBit
    ) -> GraphQuantization {
        GraphQuantization(values: values, layers: layers, weightRange: range)
    }

    private func image(_ values: [Float], _ shape: Shape) throws -> Tensor {
        try Tensor(shape: shape, values: values)
    }

    /// An image whose int8 codes at scale 1/2 are `codes` (`x = q / 2`, exact).
    private func halves(_ codes: [Int], _ shape: Shape) throws -> Tensor {
        try image(codes.map { Float($0) / 2 }, shape)
    }

    /// Graph: input `[1, 1, 1, C]` (int8, scale 1/2) then one 1x1 convolution `C → O`.
    private func pointwise(
        _ channels: Int, _ outputs: Int, post: [InferenceGraph.PostOperation] = []
    ) -> InferenceGraph {
        var graph = InferenceGraph()
        let x = graph.input(channels: channels)
        _ = graph.convolution(
            x, weight: .zeros([outputs, channels, 1, 1]), bias: .zeros([outputs]), geometry: .init(), post: post)
        return graph
    }

    private let half = GraphQuantization.Value(.int8, scale: 0.5)

    // MARK: Input

    /// `q = saturate(roundEven(x · 2))`: ties to even both signs, saturation at both int8 ends.
    func testInputRoundsHalfToEvenAndSaturatesInt8() throws {
        var graph = InferenceGraph()
        _ = graph.input(channels: 8)
        // x · 2 = 2.5, 3.5, -2.5, -3.5, 0.6, 200, -200, -128
        let x = try image([1.25, 1.75, -1.25, -1.75, 0.3, 100, -100, -64], [1, 1, 1, 8])
        let values = try graph.quantizedValues(x, quantization([half]))
        XCTAssertEqual(values[0].integers, [2, 4, -2, -4, 1, 127, -128, -128])
        XCTAssertEqual(try graph.evaluateQuantized(x, quantization([half])).scalars, [1, 2, -1, -2, 0.5, 63.5, -64, -64])
    }

    func testInputSaturatesUInt8AtZeroAnd255() throws {
        var graph = InferenceGraph()
        _ = graph.input(channels: 5)
        let x = try image([-3, -0.5, 0.5, 254.5, 300], [1, 1, 1, 5])
        let values = try graph.quantizedValues(x, quantization([.init(.uint8, scale: 1)]))
        XCTAssertEqual(values[0].integers, [0, 0, 0, 254, 255], "-0.5 and 0.5 tie to 0, 254.5 to 254")
    }

    /// `1 / s` is formed once in float and multiplied, not divided by: at s = 14, 91 · fl(1/14) is
    /// 6.5000005 → 7, where 91 / 14 = 6.5 would tie to 6. A float input keeps the image.
    func testInputMultipliesByTheFloatReciprocal() throws {
        var graph = InferenceGraph()
        _ = graph.input(channels: 2)
        let x = try image([91, -91], [1, 1, 1, 2])
        XCTAssertEqual(try graph.quantizedValues(x, quantization([.init(.int8, scale: 14)]))[0].integers, [7, -7])
        XCTAssertEqual(try graph.quantizedValues(x, quantization([.float]))[0].floats, [91, -91])
    }

    // MARK: Convolution and linear

    /// acc = Σ q·w + bias at scale s_src · s_w[c], per-channel weight scales, 3 input channels.
    ///
    /// q_src = [2, -3, 5]; row 0 = [1, 2, 3]: 2 - 6 + 15 + 4 = 15, v = 15 · (0.5 · 0.25) = 1.875;
    /// row 1 = [-1, 0, 4]: -2 + 20 - 3 = 15, v = 15 · (0.5 · 0.125) = 0.9375.
    /// int8 at scale 1/4: 7.5 → 8 (tie to even), 3.75 → 4.
    func testConvolutionAddsBiasAtTheProductScalePerChannel() throws {
        let graph = pointwise(3, 2)
        let layer = GraphQuantization.Layer(weights: [1, 2, 3, -1, 0, 4], weightScales: [0.25, 0.125], bias: [4, -3])
        let x = try halves([2, -3, 5], [1, 1, 1, 3])
        let float = try graph.quantizedValues(x, quantization([half, .float], layers: [1: layer]))
        XCTAssertEqual(float[1].floats, [1.875, 0.9375])
        XCTAssertEqual(float[1].shape, [1, 1, 1, 2])
        let integer = try graph.quantizedValues(x, quantization([half, .init(.int8, scale: 0.25)], layers: [1: layer]))
        XCTAssertEqual(integer[1].integers, [8, 4])
    }

    /// A depthwise 3x3, stride 2, padding 1 on a 4x4 image of 5 channels: q[y, x, c] = 4y + x + 1,
    /// every tap of channel c weighs c - 2. The windows (zero padded) sum to 14 (rows 0-1, columns
    /// 0-1), 30 (rows 0-1, columns 1-3), 57 (rows 1-3, columns 0-1) and 99 (rows 1-3, columns 1-3).
    func testDepthwiseStrideTwoWithZeroPadding() throws {
        let channels = 5
        var graph = InferenceGraph()
        let x = graph.input(channels: channels)
        _ = graph.convolution(
            x, weight: .zeros([channels, 1, 3, 3]), bias: .zeros([channels]),
            geometry: .init(stride: 2, padding: 1, groups: channels))
        let codes = (0..<16).flatMap { pixel in Array(repeating: pixel + 1, count: channels) }
        let weights = (0..<channels).flatMap { c in Array(repeating: Int8(c - 2), count: 9) }
        let layer = GraphQuantization.Layer(weights: weights, weightScales: Array(repeating: 2, count: channels), bias: Array(repeating: 0, count: channels))
        let values = try graph.quantizedValues(try halves(codes, [1, 4, 4, channels]), quantization([half, .float], layers: [1: layer]))
        XCTAssertEqual(values[1].shape, [1, 2, 2, channels])
        let expected = [14, 30, 57, 99].flatMap { sum in (0..<channels).map { c in Float((c - 2) * sum) } }
        XCTAssertEqual(values[1].floats, expected, "s_src · s_w = 1, so v is the sum itself")
    }

    /// A dense 3x3 convolution, stride 2, padding 1, 3 → 7 channels, on a 3x3 image holding one
    /// nonzero code: which output sees it through which tap pins the tap walk.
    func testDenseStrideTwoReadsTheRightTaps() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 3)
        _ = graph.convolution(x, weight: .zeros([7, 3, 3, 3]), bias: .zeros([7]), geometry: .init(stride: 2, padding: 1))
        // One nonzero input, q = 2 at (y 1, x 2, channel 1) of a 3x3 image; output 2x2.
        var codes = Array(repeating: 0, count: 27)
        codes[(1 * 3 + 2) * 3 + 1] = 2
        // Weight [o, 1, ky, kx] = 3ky + kx + 10 (o % 3); 0 for input channels 0 and 2.
        var weights = [Int8](repeating: 0, count: 7 * 27)
        for o in 0..<7 { for k in 0..<9 { weights[(o * 3 + 1) * 9 + k] = Int8(k + 10 * (o % 3)) } }
        let layer = GraphQuantization.Layer(weights: weights, weightScales: Array(repeating: 1, count: 7), bias: Array(repeating: 0, count: 7))
        let values = try graph.quantizedValues(try halves(codes, [1, 3, 3, 3]), quantization([half, .float], layers: [1: layer]))
        // Output (oy, ox) reads input (2oy - 1 + ky, 2ox - 1 + kx); input (1, 2) is tap (2, 1) of
        // output (0, 1) and tap (0, 1) of output (1, 1); outputs (·, 0) never reach column 2.
        // v = 2 · 0.5 · w = w: output (0, 1) gets 7 + 10 (o % 3), output (1, 1) gets 1 + 10 (o % 3).
        let expected: [Float] = (0..<4).flatMap { position in
            (0..<7).map { o -> Float in
                let base = Float(10 * (o % 3))
                switch position {
                case 1: return base + 7
                case 3: return base + 1
                default: return 0
                }
            }
        }
        XCTAssertEqual(values[1].floats, expected)
    }

    /// `v = v + s_shortcut · Float(q_shortcut)`: a shortcut of scale 1/2 into a sum of scale 1/8.
    ///
    /// q_x = [3, -4]; w = 2I at scale 1/4, bias [1, 0]: acc = [7, -8], v = [0.875, -1];
    /// plus 0.5 · [3, -4] = [2.375, -3]; int8 at scale 1/4: 9.5 → 10 (tie to even), -12.
    func testResidualAddUsesTheShortcutsOwnScale() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 2)
        _ = graph.convolution(x, weight: .zeros([2, 2, 1, 1]), bias: .zeros([2]), geometry: .init(), post: [.add(x)])
        let layer = GraphQuantization.Layer(weights: [2, 0, 0, 2], weightScales: [0.25, 0.25], bias: [1, 0])
        let values = try graph.quantizedValues(
            try halves([3, -4], [1, 1, 1, 2]), quantization([half, .init(.int8, scale: 0.25)], layers: [1: layer]))
        XCTAssertEqual(values[1].integers, [10, -12])
    }

    /// Hard-swish on v = q / 2 (identity weights at scale 1): -4 → 0, -3 → 0, -1.5 → -0.375,
    /// 1 → 4 / 6, 3 → 3, 6 → 6, into a float destination.
    func testHardSwishInAFloatDestination() throws {
        let codes = [-8, -6, -3, 2, 6, 12]
        let graph = pointwise(codes.count, codes.count, post: [.activation(.hardSwish)])
        let identity = (0..<36).map { $0 % 7 == 0 ? Int8(1) : 0 }
        let layer = GraphQuantization.Layer(weights: identity, weightScales: Array(repeating: 1, count: 6), bias: Array(repeating: 0, count: 6))
        let values = try graph.quantizedValues(try halves(codes, [1, 1, 1, 6]), quantization([half, .float], layers: [1: layer]))
        XCTAssertEqual(values[1].floats, [0, 0, -0.375, Float(4) / 6, 3, 6])
    }

    /// oneDNN 2.6 computes hard-swish as `v · (relu6(v + 3) / 6)`; `(v · relu6(v + 3)) / 6` rounds
    /// differently. Golden bits from `Scripts/probe_onednn_int8_arithmetic.c`'s kernel, run on
    /// x = -4 + i · 2^-9 + 0.000123 (oneDNN's output, then the other order's).
    func testHardSwishMatchesOneDNNsOrderOfRounding() {
        let cases: [(x: UInt32, oneDNN: UInt32, otherOrder: UInt32)] = [
            (0xC03E_BDFC, 0xBC1F_F3F6, 0xBC1F_F3F7), (0xC03E_9DFC, 0xBC2F_BBA1, 0xBC2F_BBA0),
            (0xC03E_5DFC, 0xBC4F_3AF5, 0xBC4F_3AF4), (0xC03E_3DFC, 0xBC5E_F29E, 0xBC5E_F29F),
        ]
        for (x, oneDNN, otherOrder) in cases {
            let result = QuantizedArithmetic.EltwiseStep.hardSwish.apply(Float(bitPattern: x))
            XCTAssertEqual(result.bitPattern, oneDNN, "x = \(Float(bitPattern: x))")
            XCTAssertEqual(Activation.hardSwish.apply(Float(bitPattern: x)).bitPattern, otherOrder, "the fp32 reference's order differs here")
        }
    }

    /// Hard-sigmoid is `linear(1/6, 1/2)` as one fused multiply-add, then `clip(0, 1)`.
    func testHardSigmoidStepsFuseTheLinearStep() throws {
        let steps = try XCTUnwrap(QuantizedArithmetic.EltwiseStep.steps(of: .hardSigmoid))
        XCTAssertEqual(steps, [.linear(alpha: 1.0 / 6.0, beta: 0.5), .clip(low: 0, high: 1)])
        let v: Float = 1.3
        XCTAssertEqual(steps[0].apply(v), Float(0.5).addingProduct(1.0 / 6.0, v))
        XCTAssertEqual(steps.reduce(-4) { $1.apply($0) }, 0)
        XCTAssertEqual(steps.reduce(4) { $1.apply($0) }, 1)
    }

    /// ReLU6 into uint8 at scale 1/32 (`1 / s` = 32 exactly): v = q / 2 = -1 → 0, 2.5 → 80,
    /// 7 → 6 → 192; channel 3 has s_w = 1/32, so q = 97 gives v = 97 / 64 and 48.5 → 48 (tie to even).
    func testReLU6IntoUInt8() throws {
        let graph = pointwise(4, 4, post: [.activation(.relu6)])
        let identity = (0..<16).map { $0 % 5 == 0 ? Int8(1) : 0 }
        let layer = GraphQuantization.Layer(weights: identity, weightScales: [1, 1, 1, 0.03125], bias: [0, 0, 0, 0])
        let values = try graph.quantizedValues(
            try halves([-2, 5, 14, 97], [1, 1, 1, 4]), quantization([half, .init(.uint8, scale: 0.03125)], layers: [1: layer]))
        XCTAssertEqual(values[1].integers, [0, 80, 192, 48])
        XCTAssertEqual(values[1].type, .uint8)
    }

    /// uint8 saturates: ReLU alone lets v = 10 through (320 at scale 1/32 → 255); with no
    /// activation a negative v saturates to 0.
    func testUInt8DestinationSaturates() throws {
        let identity: [Int8] = [1, 0, 0, 1]
        let layer = GraphQuantization.Layer(weights: identity, weightScales: [1, 1], bias: [0, 0])
        let x = try halves([20, -6], [1, 1, 1, 2])
        let destination = GraphQuantization.Value(.uint8, scale: 0.03125)
        let relu = try pointwise(2, 2, post: [.activation(.relu)]).quantizedValues(x, quantization([half, destination], layers: [1: layer]))
        XCTAssertEqual(relu[1].integers, [255, 0])
        let linear = try pointwise(2, 2).quantizedValues(x, quantization([half, destination], layers: [1: layer]))
        XCTAssertEqual(linear[1].integers, [255, 0])
    }

    /// Linear `[1, 1, 1, 3]` → 7 logits in float: row o = [o, -1, 1], q = [2, -3, 5], bias o:
    /// acc = 2o + 3 + 5 + o = 3o + 8, v = acc · (0.5 · 0.25).
    func testLinearToFloatLogits() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 3)
        _ = graph.linear(x, weight: .zeros([7, 3]), bias: .zeros([7]))
        let weights = (0..<7).flatMap { o -> [Int8] in [Int8(o), -1, 1] }
        let layer = GraphQuantization.Layer(weights: weights, weightScales: Array(repeating: 0.25, count: 7), bias: (0..<7).map { Int32($0) })
        let logits = try graph.evaluateQuantized(try halves([2, -3, 5], [1, 1, 1, 3]), quantization([half, .float], layers: [1: layer]))
        XCTAssertEqual(logits.shape, [1, 7])
        XCTAssertEqual(logits.scalars, (0..<7).map { Float(3 * $0 + 8) * 0.125 })
    }

    // MARK: Pooling and channel multiply

    /// `roundEven(Float(Σ q) · (1 / n))`: over 2x2, sums 10 and 14 are 2.5 → 2 and 3.5 → 4, -10 → -2;
    /// over 2x7, the sum 91 gives 91 · fl(1/14) = 6.5000005 → 7, where 91 / 14 = 6.5 would give 6.
    func testPoolingRoundsTheProductWithTheReciprocal() throws {
        var graph = InferenceGraph()
        _ = graph.globalAveragePool(graph.input(channels: 3))
        let storage = GraphQuantization.Value(.int8, scale: 0.5)
        // NHWC [1, 2, 2, 3]: channel 0 = 1, 2, 3, 4; channel 1 = 2, 3, 4, 5; channel 2 = -1, -2, -3, -4.
        let codes = [1, 2, -1, 2, 3, -2, 3, 4, -3, 4, 5, -4]
        let small = try graph.quantizedValues(try halves(codes, [1, 2, 2, 3]), quantization([storage, storage]))
        XCTAssertEqual(small[1].integers, [2, 4, -2])
        XCTAssertEqual(small[1].shape, [1, 1, 1, 3])

        var wide = InferenceGraph()
        _ = wide.globalAveragePool(wide.input(channels: 1))
        let fourteen = [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0] // sum 91
        let pooled = try wide.quantizedValues(try halves(fourteen, [1, 2, 7, 1]), quantization([storage, storage]))
        XCTAssertEqual(pooled[1].integers, [7])
    }

    /// `q = roundEven(Float(q_x) · (s_x / s_dst) · gate)`, the gate a float value from a
    /// convolution: q_x = [3, -5, 100], s_x / s_dst = 0.5 / 0.25 = 2, gates [0.75, 0.25, 1]:
    /// 4.5 → 4 (tie to even), -2.5 → -2, 200 → 127 (saturated).
    func testChannelMultiplyByAFloatGate() throws {
        var graph = InferenceGraph()
        let x = graph.input(channels: 3)
        let gate = graph.convolution(x, weight: .zeros([3, 3, 1, 1]), bias: .zeros([3]), geometry: .init())
        _ = graph.multiplyChannels(x, by: gate)
        // The gate is its bias alone: zero weights, v = bias · (0.5 · 0.25) = [6, 2, 8] / 8.
        let layer = GraphQuantization.Layer(weights: Array(repeating: 0, count: 9), weightScales: [0.25, 0.25, 0.25], bias: [6, 2, 8])
        let values = try graph.quantizedValues(
            try halves([3, -5, 100], [1, 1, 1, 3]), quantization([half, .float, .init(.int8, scale: 0.25)], layers: [1: layer]))
        XCTAssertEqual(values[1].floats, [0.75, 0.25, 1])
        XCTAssertEqual(values[2].integers, [4, -2, 127])
    }

    // MARK: Refusals

    func testRefusesInconsistentQuantization() throws {
        let graph = pointwise(2, 2)
        let x = try halves([1, 2], [1, 1, 1, 2])
        let layer = GraphQuantization.Layer(weights: [1, 0, 0, 1], weightScales: [1, 1], bias: [0, 0])
        func error(_ q: GraphQuantization, input: Tensor? = nil) -> QuantizationError? {
            do {
                _ = try graph.quantizedValues(input ?? x, q)
                return nil
            } catch {
                return error as? QuantizationError
            }
        }
        XCTAssertEqual(error(quantization([half])), .valueCount(expected: 2, actual: 1))
        XCTAssertEqual(error(quantization([half, .float])), .missingLayer(step: 1))
        XCTAssertEqual(
            error(quantization([half, .float], layers: [1: .init(weights: [1, 0, 0, 1], weightScales: [1, 1], bias: [0])])),
            .layerSize(step: 1, parameter: "bias", expected: 2, actual: 1))
        XCTAssertEqual(
            error(quantization([half, .float], layers: [1: .init(weights: [1, 0, 0], weightScales: [1, 1], bias: [0, 0])])),
            .layerSize(step: 1, parameter: "weights", expected: 4, actual: 3))
        XCTAssertEqual(
            error(quantization([half, .float], layers: [1: .init(weights: [64, 0, 0, 1], weightScales: [1, 1], bias: [0, 0])], range: .sevenBit)),
            .weightOutOfRange(step: 1, index: 0, weight: 64, limit: 63))
        XCTAssertEqual(
            error(quantization([half, .float], layers: [1: .init(weights: [1, 0, 0, 1], weightScales: [1, 1], bias: [Int32.max, 0])])),
            .accumulatorOverflow(step: 1, element: 0, sum: Int64(Int32.max) + 1))
        XCTAssertEqual(error(quantization([.float, .float], layers: [1: layer])),
                       .unsupportedType(step: 1, role: "source", type: .float32, expected: "int8 or uint8"))
        XCTAssertEqual(error(quantization([half, .init(.int32, scale: 1)], layers: [1: layer])),
                       .unsupportedType(step: 1, role: "value", type: .int32, expected: "int8, uint8 or float32"))
        XCTAssertEqual(error(quantization([.init(.int8, scale: 0), .float], layers: [1: layer])),
                       .invalidScale(step: 0, role: "value", scale: 0))
        XCTAssertEqual(error(quantization([half, .float], layers: [1: layer]), input: try image([.nan, 1], [1, 1, 1, 2])),
                       .notANumber(step: 0, element: 0))
        XCTAssertEqual(error(quantization([half, .float], layers: [1: layer]), input: try image([1, 2, 3], [1, 1, 1, 3])),
                       .shapeMismatch(step: 0, operand: "input", expected: "NHWC with 2 channels last", actual: [1, 1, 1, 3]))

        var pooled = InferenceGraph()
        _ = pooled.globalAveragePool(pooled.input(channels: 2))
        XCTAssertThrowsError(try pooled.quantizedValues(x, quantization([half, .init(.int8, scale: 0.25)]))) {
            XCTAssertEqual($0 as? QuantizationError, .poolStorageMismatch(step: 1, input: half, output: .init(.int8, scale: 0.25)))
        }
    }

    func testQuantizedValueChecksItsParts() {
        XCTAssertThrowsError(try QuantizedValue(.init(.uint8, scale: 1), shape: [2], elements: .integers([1, 256])))
        XCTAssertThrowsError(try QuantizedValue(.init(.int8, scale: 1), shape: [3], elements: .integers([1, 2])))
        XCTAssertThrowsError(try QuantizedValue(.init(.int8, scale: 1), shape: [1], elements: .floats([1])))
        XCTAssertEqual(try QuantizedValue(.init(.int8, scale: 0.5), shape: [2], elements: .integers([3, -128])).real, [1.5, -64])
    }

    // MARK: Against the float graph

    /// conv 3x3 s2 (ReLU6) → depthwise 3x3 (ReLU6) → 1x1 projection adding the stem (the
    /// residual) → pool → linear, random weights, quantized with scales max|v| / 127 (max / 255
    /// for the ReLU6 outputs, uint8) measured on the float values of the same image, weights per
    /// output channel at max|w| / 127.
    ///
    /// Bound: every logit within 3% of max|logit| of ``InferenceGraph/evaluate(_:)``. Each
    /// rounding (input, weight, requantized value) errs by at most half a step, 1/254 of the
    /// value's range; five quantized values and four weight tensors in a chain of four layers
    /// give a worst case near (5 + 4) / 254 ≈ 3.5% of range when every error lines up, and
    /// independent errors cancel to well under that (measured ≈ 0.5%). The input, rounded once,
    /// must be within half a step exactly.
    func testCloseToTheFloatGraphWithFineScales() throws {
        var generator = SplitMix64(seed: 0x1_2026)
        var graph = InferenceGraph()
        var floats: [Tensor] = []
        let input = generator.uniform([1, 9, 9, 3])
        func record(_ value: InferenceGraph.Value) throws -> InferenceGraph.Value {
            floats.append(try Engine.$current.withValue(ReferenceEngine()) { try graph.evaluate(input) })
            return value
        }
        let (channels, classes) = (8, 5)
        let x = try record(graph.input(channels: 3))
        let stem = try record(graph.convolution(
            x, weight: generator.uniform([channels, 3, 3, 3], -0.5...0.5), bias: generator.uniform([channels], -0.2...0.2),
            geometry: .init(stride: 2, padding: 1), post: [.activation(.relu6)]))
        let depthwise = try record(graph.convolution(
            stem, weight: generator.uniform([channels, 1, 3, 3], -0.5...0.5), bias: generator.uniform([channels], -0.2...0.2),
            geometry: .init(padding: 1, groups: channels), post: [.activation(.relu6)]))
        let projection = try record(graph.convolution(
            depthwise, weight: generator.uniform([channels, channels, 1, 1], -0.5...0.5), bias: generator.uniform([channels], -0.2...0.2),
            geometry: .init(), post: [.add(stem)]))
        let pooled = try record(graph.globalAveragePool(projection))
        _ = try record(graph.linear(pooled, weight: generator.uniform([classes, channels]), bias: generator.uniform([classes])))

        let quantization = try Self.calibrate(graph, floats)
        let values = try graph.quantizedValues(input, quantization)
        XCTAssertEqual(values.map(\.type), [.int8, .uint8, .uint8, .int8, .int8, .float32])

        let inputError = zip(values[0].real, floats[0].scalars).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(inputError, values[0].scale / 2)

        let logits = try graph.evaluateQuantized(input, quantization)
        let reference = try XCTUnwrap(floats.last)
        let largest = reference.scalars.map(abs).max() ?? 0
        let error = zip(logits.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(error, 0.03 * largest, "logits \(logits.scalars) against \(reference.scalars)")
    }

    /// Fine scales from the float values: uint8 after ReLU/ReLU6, int8 elsewhere, float for the
    /// last step; the pool keeps its input's storage; weights per output channel, bias at s_src · s_w.
    private static func calibrate(_ graph: InferenceGraph, _ floats: [Tensor]) throws -> GraphQuantization {
        var values: [GraphQuantization.Value] = []
        var layers: [Int: GraphQuantization.Layer] = [:]
        func storage(_ value: Tensor, unsigned: Bool) -> GraphQuantization.Value {
            let largest = value.scalars.map(abs).max() ?? 1
            return GraphQuantization.Value(unsigned ? .uint8 : .int8, scale: max(largest, 1e-6) / (unsigned ? 255 : 127))
        }
        func isRectified(_ post: [InferenceGraph.PostOperation]) -> Bool {
            if case .activation(.relu6) = post.last { return true }
            if case .activation(.relu) = post.last { return true }
            return false
        }
        for (index, step) in graph.steps.enumerated() {
            let isLast = index == graph.steps.count - 1
            switch step {
            case .input, .multiplyChannels, .add, .resizeBilinear:
                values.append(storage(floats[index], unsigned: false))
            case let .globalAveragePool(x):
                values.append(values[x.index])
            case let .convolution(x, weight, bias, _, post), let .linear(x, weight, bias, post):
                values.append(isLast ? .float : storage(floats[index], unsigned: isRectified(post)))
                layers[index] = quantize(weight: weight, bias: bias, sourceScale: values[x.index].scale)
            }
        }
        return GraphQuantization(values: values, layers: layers, weightRange: .eightBit)
    }

    private static func quantize(weight: Tensor, bias: Tensor, sourceScale: Float) -> GraphQuantization.Layer {
        let outputs = weight.shape[0]
        let perOutput = weight.elementCount / outputs
        let w = weight.scalars, b = bias.scalars
        var weights: [Int8] = [], scales: [Float] = [], biases: [Int32] = []
        for o in 0..<outputs {
            let row = w[(o * perOutput)..<((o + 1) * perOutput)]
            let scale = max(row.map(abs).max() ?? 0, 1e-6) / 127
            weights += row.map { Int8(($0 / scale).rounded(.toNearestOrEven)) }
            scales.append(scale)
            biases.append(Int32((b[o] / (sourceScale * scale)).rounded(.toNearestOrEven)))
        }
        return GraphQuantization.Layer(weights: weights, weightScales: scales, bias: biases)
    }
}
