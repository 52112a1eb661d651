/// The integer reference of int8 inference: the graph run step by step in plain loops with exact
/// int32 sums and the float requantization ``GraphQuantization`` specifies, rounding where and
/// as oneDNN 2.6 rounds (``QuantizedArithmetic``), so that the fused int8 session is tested
/// against it bit for bit. Slow; use it on small shapes and single images.
///
/// Deviations from the letter of ``GraphQuantization``'s summary, each measured against oneDNN:
/// hard-swish divides by 6 before it multiplies by `v`; the average pool multiplies its sum by
/// `1 / n` instead of dividing by `n`; the linear eltwise step (hard-sigmoid's `v / 6 + 0.5`) is
/// one fused multiply-add.
extension InferenceGraph {
    /// The graph's output, in float: the logits as computed, or `scale · q` for an integer output.
    public func evaluateQuantized(_ input: Tensor, _ quantization: GraphQuantization) throws -> Tensor {
        try quantizedValues(input, quantization)[output.index].realTensor()
    }

    /// Every step's value, by step index (the input's included), for comparing a fast path
    /// layer by layer.
    public func quantizedValues(_ input: Tensor, _ quantization: GraphQuantization) throws -> [QuantizedValue] {
        guard quantization.values.count == steps.count else {
            throw QuantizationError.valueCount(expected: steps.count, actual: quantization.values.count)
        }
        for (index, storage) in quantization.values.enumerated() {
            try Self.checkStorage(storage, step: index, role: "value")
        }
        var values: [QuantizedValue] = []
        values.reserveCapacity(steps.count)
        for (index, step) in steps.enumerated() {
            let evaluator = QuantizedStep(index: index, storage: quantization.values[index], quantization: quantization, values: values)
            values.append(try evaluator.evaluate(step, input: input))
        }
        return values
    }

    /// A storage is an 8-bit integer type at a finite positive scale, or float at scale 1.
    private static func checkStorage(_ storage: GraphQuantization.Value, step: Int, role: String) throws {
        switch storage.type {
        case .int8, .uint8:
            guard storage.scale.isFinite, storage.scale > 0 else {
                throw QuantizationError.invalidScale(step: step, role: role, scale: storage.scale)
            }
        case .float32:
            guard storage.scale == 1 else { throw QuantizationError.invalidScale(step: step, role: role, scale: storage.scale) }
        case .int32:
            throw QuantizationError.unsupportedType(step: step, role: role, type: storage.type, expected: "int8, uint8 or float32")
        }
    }
}

/// One step of the integer reference: its index, the storage of its result, and the values
/// computed before it. Weights and bias come from the step's ``GraphQuantization/Layer``; the
/// graph's float tensors give only their shapes.
private struct QuantizedStep {
    let index: Int
    let storage: GraphQuantization.Value
    let quantization: GraphQuantization
    let values: [QuantizedValue]

    func evaluate(_ step: InferenceGraph.Step, input: Tensor) throws -> QuantizedValue {
        switch step {
        case let .input(channels):
            return try quantizeInput(input, channels: channels)
        case let .convolution(x, weight, _, geometry, post):
            return try convolution(values[x.index], weight: weight.shape, geometry: geometry, post: post)
        case let .globalAveragePool(x):
            return try globalAveragePool(values[x.index], storage: quantization.values[x.index])
        case let .multiplyChannels(x, scale):
            return try multiplyChannels(values[x.index], by: values[scale.index])
        case let .linear(x, weight, _, post):
            return try linear(values[x.index], weight: weight.shape, post: post)
        }
    }

    // MARK: Steps

    /// `q = saturate(roundEven(x · (1 / s)))`, or the image itself for a float input.
    private func quantizeInput(_ input: Tensor, channels: Int) throws -> QuantizedValue {
        guard input.rank == 4, input.shape[3] == channels else {
            throw QuantizationError.shapeMismatch(
                step: index, operand: "input", expected: "NHWC with \(channels) channels last", actual: input.shape)
        }
        let image = input.scalars
        if let element = image.firstIndex(where: \.isNaN) {
            throw QuantizationError.notANumber(step: index, element: element)
        }
        guard let range = storage.type.integerRange else {
            return QuantizedValue(unchecked: storage, shape: input.shape, elements: .floats(image))
        }
        let inverse: Float = 1 / storage.scale
        let integers = image.map { QuantizedArithmetic.quantize($0, inverseScale: inverse, range: range) }
        return QuantizedValue(unchecked: storage, shape: input.shape, elements: .integers(integers))
    }

    /// Exact sums over the convolution's taps (``ReferenceEngine``'s tap walk, zero padding),
    /// then the shared requantization.
    private func convolution(
        _ source: QuantizedValue, weight weightShape: Shape, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation]
    ) throws -> QuantizedValue {
        let sourceIntegers = try integers(of: source, role: "source")
        let outputShape = try convolutionOutputShape(source.shape, weightShape, geometry)
        let layer = try self.layer(outputs: weightShape[0], weightCount: weightShape.elementCount)
        var sums = [Int64](repeating: 0, count: outputShape.elementCount)
        let weights = layer.weights
        // Each product is at most 2^15 in magnitude, so no Int64 sum of a real image's taps overflows.
        ReferenceEngine().forEachConvolutionTap(outputShape, weightShape, source.shape, geometry) { input, weight, output in
            sums[output] += Int64(sourceIntegers[input]) * Int64(weights[weight])
        }
        return try requantize(sums, shape: outputShape, sourceScale: source.scale, layer: layer, post: post)
    }

    /// `[N, 1, 1, C]` or `[N, C]` times `[O, C]`: the same sums and requantization as a 1x1 convolution.
    private func linear(_ source: QuantizedValue, weight weightShape: Shape, post: [InferenceGraph.PostOperation]) throws -> QuantizedValue {
        let sourceIntegers = try integers(of: source, role: "source")
        let batch = source.shape.first ?? 0
        let features = batch > 0 ? sourceIntegers.count / batch : 0
        guard source.shape.rank == 2 || (source.shape.rank == 4 && source.shape[1] == 1 && source.shape[2] == 1) else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "[N, 1, 1, C] or [N, C]", actual: source.shape)
        }
        guard weightShape.rank == 2, weightShape[1] == features else {
            throw QuantizationError.shapeMismatch(step: index, operand: "weight", expected: "[O, \(features)]", actual: weightShape)
        }
        let outputs = weightShape[0]
        let layer = try self.layer(outputs: outputs, weightCount: outputs * features)
        var sums = [Int64](repeating: 0, count: batch * outputs)
        for n in 0..<batch {
            for o in 0..<outputs {
                for i in 0..<features {
                    sums[n * outputs + o] += Int64(sourceIntegers[n * features + i]) * Int64(layer.weights[o * features + i])
                }
            }
        }
        return try requantize(sums, shape: [batch, outputs], sourceScale: source.scale, layer: layer, post: post)
    }

    /// The input's storage kept: `q = saturate(roundEven(Float(Σ q) · (1 / Float(n))))` per channel.
    private func globalAveragePool(_ source: QuantizedValue, storage sourceStorage: GraphQuantization.Value) throws -> QuantizedValue {
        let sourceIntegers = try integers(of: source, role: "source")
        guard source.shape.rank == 4, source.shape[1] * source.shape[2] > 0 else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "NHWC with at least one pixel", actual: source.shape)
        }
        guard storage == sourceStorage, let range = storage.type.integerRange else {
            throw QuantizationError.poolStorageMismatch(step: index, input: sourceStorage, output: storage)
        }
        let (batch, pixels, channels) = (source.shape[0], source.shape[1] * source.shape[2], source.shape[3])
        let reciprocal: Float = 1 / Float(pixels)
        var averages = [Int32](repeating: 0, count: batch * channels)
        for n in 0..<batch {
            for c in 0..<channels {
                var sum: Int64 = 0
                for pixel in 0..<pixels { sum += Int64(sourceIntegers[(n * pixels + pixel) * channels + c]) }
                averages[n * channels + c] = QuantizedArithmetic.average(sum: sum, reciprocalCount: reciprocal, range: range)
            }
        }
        return QuantizedValue(unchecked: storage, shape: [batch, 1, 1, channels], elements: .integers(averages))
    }

    /// `q = saturate(roundEven(Float(q_x) · (s_x / s_dst) · gate))`, the gate a float value
    /// `[N, 1, 1, C]`; a float destination (scale 1) keeps the product.
    private func multiplyChannels(_ source: QuantizedValue, by gate: QuantizedValue) throws -> QuantizedValue {
        let sourceIntegers = try integers(of: source, role: "source")
        guard let gates = gate.floats else {
            throw QuantizationError.unsupportedType(step: index, role: "gate", type: gate.type, expected: "float32")
        }
        guard source.shape.rank == 4 else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "NHWC", actual: source.shape)
        }
        let (batch, channels) = (source.shape[0], source.shape[3])
        guard gate.shape == [batch, 1, 1, channels] else {
            throw QuantizationError.shapeMismatch(step: index, operand: "gate", expected: "[\(batch), 1, 1, \(channels)]", actual: gate.shape)
        }
        let ratio: Float = source.scale / storage.scale
        let perImage = batch > 0 ? sourceIntegers.count / batch : 0
        let products = sourceIntegers.indices.map { element in
            Float(sourceIntegers[element]) * ratio * gates[element / perImage * channels + element % channels]
        }
        return store(products, shape: source.shape, inverseScale: 1)
    }

    // MARK: Requantization

    /// The end every convolution and linear step shares: `acc` checked to fit int32,
    /// `v = Float(acc) · (s_src · s_w[c])`, each post-operation on `v` in order, then the
    /// destination's rounding.
    private func requantize(
        _ sums: [Int64], shape: Shape, sourceScale: Float, layer: GraphQuantization.Layer, post: [InferenceGraph.PostOperation]
    ) throws -> QuantizedValue {
        let channels = layer.bias.count
        let channelScales = layer.weightScales.map { sourceScale * $0 }
        var results = [Float](repeating: 0, count: sums.count)
        for element in sums.indices {
            let c = element % channels
            let accumulator = try int32(sums[element] + Int64(layer.bias[c]), element: element)
            results[element] = QuantizedArithmetic.widen(accumulator) * channelScales[c]
        }
        for operation in post {
            switch operation {
            case let .add(shortcut):
                try addShortcut(values[shortcut.index], to: &results, shape: shape)
            case let .activation(activation):
                guard let eltwise = QuantizedArithmetic.EltwiseStep.steps(of: activation) else {
                    throw QuantizationError.unsupportedActivation(step: index, activation: activation)
                }
                for step in eltwise {
                    for element in results.indices { results[element] = step.apply(results[element]) }
                }
            }
        }
        return store(results, shape: shape, inverseScale: 1 / storage.scale)
    }

    /// `v = v + s_shortcut · Float(q_shortcut)`: the product rounded, then the sum.
    private func addShortcut(_ shortcut: QuantizedValue, to results: inout [Float], shape: Shape) throws {
        guard shortcut.shape == shape else {
            throw QuantizationError.shapeMismatch(step: index, operand: "shortcut", expected: "\(shape)", actual: shortcut.shape)
        }
        let stored = shortcut.storedAsFloats
        for element in results.indices {
            let term = shortcut.scale * stored[element]
            results[element] = results[element] + term
        }
    }

    /// An integer destination rounds `v · inverseScale` (for ``requantize``, `1 / s_dst` formed
    /// once); a float one keeps `v`.
    private func store(_ results: [Float], shape: Shape, inverseScale: Float) -> QuantizedValue {
        guard let range = storage.type.integerRange else {
            return QuantizedValue(unchecked: storage, shape: shape, elements: .floats(results))
        }
        let integers = results.map { QuantizedArithmetic.quantize($0, inverseScale: inverseScale, range: range) }
        return QuantizedValue(unchecked: storage, shape: shape, elements: .integers(integers))
    }

    // MARK: Checks

    private func integers(of value: QuantizedValue, role: String) throws -> [Int32] {
        guard let integers = value.integers else {
            throw QuantizationError.unsupportedType(step: index, role: role, type: value.type, expected: "int8 or uint8")
        }
        return integers
    }

    private func int32(_ sum: Int64, element: Int) throws -> Int32 {
        // Only the final sum must fit: oneDNN's int32 accumulator wraps, so a partial sum that
        // leaves the range and comes back still ends right.
        guard let accumulator = Int32(exactly: sum) else {
            throw QuantizationError.accumulatorOverflow(step: index, element: element, sum: sum)
        }
        return accumulator
    }

    /// The step's integer layer, checked against its `outputs` and `weightCount`.
    private func layer(outputs: Int, weightCount: Int) throws -> GraphQuantization.Layer {
        guard let layer = quantization.layers[index] else { throw QuantizationError.missingLayer(step: index) }
        let counts = [
            ("weights", layer.weights.count, weightCount), ("weightScales", layer.weightScales.count, outputs),
            ("bias", layer.bias.count, outputs),
        ]
        for (parameter, actual, expected) in counts where actual != expected {
            throw QuantizationError.layerSize(step: index, parameter: parameter, expected: expected, actual: actual)
        }
        let limit = quantization.weightRange.limit
        if let outside = layer.weights.firstIndex(where: { abs(Int($0)) > limit }) {
            throw QuantizationError.weightOutOfRange(step: index, index: outside, weight: layer.weights[outside], limit: limit)
        }
        if let scale = layer.weightScales.first(where: { !$0.isFinite || $0 < 0 }) {
            throw QuantizationError.invalidScale(step: index, role: "weight", scale: scale)
        }
        return layer
    }

    /// NHWC `[N, OH, OW, O]`, after the checks ``conv2d(_:weight:bias:geometry:)`` makes.
    private func convolutionOutputShape(_ source: Shape, _ weight: Shape, _ geometry: ConvolutionGeometry) throws -> Shape {
        guard source.rank == 4 else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "NHWC", actual: source)
        }
        guard weight.rank == 4 else {
            throw QuantizationError.shapeMismatch(step: index, operand: "weight", expected: "OIHW", actual: weight)
        }
        let (channels, outputs) = (source[3], weight[0])
        guard geometry.stride >= 1, geometry.dilation >= 1, geometry.padding >= 0, geometry.groups >= 1 else {
            throw QuantizationError.invalidGeometry(
                step: index, geometry: geometry, reason: "needs stride ≥ 1, dilation ≥ 1, padding ≥ 0, groups ≥ 1")
        }
        guard channels % geometry.groups == 0, outputs % geometry.groups == 0 else {
            throw QuantizationError.invalidGeometry(
                step: index, geometry: geometry, reason: "groups must divide input channels \(channels) and output channels \(outputs)")
        }
        guard weight[1] == channels / geometry.groups else {
            throw QuantizationError.shapeMismatch(
                step: index, operand: "weight", expected: "[\(outputs), \(channels / geometry.groups), kH, kW]", actual: weight)
        }
        let shape: Shape = [
            source[0],
            geometry.outputExtent(input: source[1], kernel: weight[2]),
            geometry.outputExtent(input: source[2], kernel: weight[3]),
            outputs,
        ]
        guard shape[1] >= 1, shape[2] >= 1 else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "an image the kernel fits", actual: source)
        }
        return shape
    }
}
