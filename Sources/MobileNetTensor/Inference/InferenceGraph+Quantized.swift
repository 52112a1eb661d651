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
    /// The graph's output, in float: the logits as computed, or `scale · (q - z)` for an integer
    /// output. `accumulation`: the sums of a CPU's kernels (this machine's unless given).
    public func evaluateQuantized(
        _ input: Tensor, _ quantization: GraphQuantization, accumulation: GraphQuantization.Accumulation = .native
    ) throws -> Tensor {
        try quantizedValues(input, quantization, accumulation: accumulation)[output.index].realTensor()
    }

    /// Every step's value, by step index (the input's included), for comparing a fast path
    /// layer by layer.
    public func quantizedValues(
        _ input: Tensor, _ quantization: GraphQuantization, accumulation: GraphQuantization.Accumulation = .native
    ) throws -> [QuantizedValue] {
        guard quantization.values.count == steps.count else {
            throw QuantizationError.valueCount(expected: steps.count, actual: quantization.values.count)
        }
        for (index, storage) in quantization.values.enumerated() {
            try Self.checkStorage(storage, step: index, role: "value")
        }
        var values: [QuantizedValue] = []
        values.reserveCapacity(steps.count)
        for (index, step) in steps.enumerated() {
            let evaluator = QuantizedStep(
                index: index, storage: quantization.values[index], quantization: quantization, accumulation: accumulation, values: values)
            values.append(try evaluator.evaluate(step, input: input))
        }
        return values
    }

    /// A storage is an 8-bit integer type at a finite positive scale with a zero point inside
    /// the type, or float at scale 1 and zero point 0.
    private static func checkStorage(_ storage: GraphQuantization.Value, step: Int, role: String) throws {
        switch storage.type {
        case .int8, .uint8:
            guard storage.scale.isFinite, storage.scale > 0 else {
                throw QuantizationError.invalidScale(step: step, role: role, scale: storage.scale)
            }
            guard storage.zeroPointFits else {
                throw QuantizationError.invalidZeroPoint(step: step, type: storage.type, zeroPoint: storage.zeroPoint)
            }
        case .float32:
            guard storage.scale == 1 else { throw QuantizationError.invalidScale(step: step, role: role, scale: storage.scale) }
            guard storage.zeroPointFits else {
                throw QuantizationError.invalidZeroPoint(step: step, type: storage.type, zeroPoint: storage.zeroPoint)
            }
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
    let accumulation: GraphQuantization.Accumulation
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
        case let .add(x, shortcut, post):
            return try add(values[x.index], values[shortcut.index], sources: (x.index, shortcut.index), post: post)
        case .resizeBilinear:
            throw QuantizationError.unsupportedStep(step: index, operation: "a bilinear resize")
        }
    }

    // MARK: Steps

    /// `q = saturate(roundEven(fma(x, 1 / s, z)))`, or the image itself for a float input.
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
        let integers = image.map { QuantizedArithmetic.quantize($0, inverseScale: inverse, zeroPoint: storage.zeroPoint, range: range) }
        return QuantizedValue(unchecked: storage, shape: input.shape, elements: .integers(integers))
    }

    /// Exact sums over the convolution's taps (``ReferenceEngine``'s tap walk, zero padding),
    /// then the shared requantization.
    private func convolution(
        _ source: QuantizedValue, weight weightShape: Shape, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation]
    ) throws -> QuantizedValue {
        let outputShape = try convolutionOutputShape(source.shape, weightShape, geometry)
        let layer = try self.layer(weightShape: weightShape, source: source)
        let sums = try accumulate(source, layer.weights, weightShape: weightShape, outputShape: outputShape, geometry: geometry)
        return try requantize(sums, shape: outputShape, sourceScale: source.scale, layer: layer, post: post)
    }

    /// `Σ (q_src - z_src) · q_w` over each output's taps (``ReferenceEngine``'s tap walk, zero
    /// padding in real terms), as ``accumulation`` adds: exactly, or, where a group has more
    /// than one input channel, with the products of channels `2k` and `2k + 1` of raw `q_src`
    /// added in 16 bits and saturated first, then `z_src · Σ q_w` subtracted.
    private func accumulate(
        _ source: QuantizedValue, _ weights: [Int8], weightShape: Shape, outputShape: Shape, geometry: ConvolutionGeometry
    ) throws -> [Int64] {
        let raw = try integers(of: source, role: "source")
        let zeroPoint = Int64(source.zeroPoint)
        var sums = [Int64](repeating: 0, count: outputShape.elementCount)
        let groupChannels = weightShape[1]
        let taps = weightShape.dimensions.dropFirst(2).reduce(1, *)
        let walker = ReferenceEngine()
        // Each product is at most 2^15 in magnitude, so no Int64 sum of a real image's taps overflows.
        guard accumulation == .pairwiseSaturating, groupChannels > 1 else {
            walker.forEachConvolutionTap(outputShape, weightShape, source.shape, geometry) { input, weight, output in
                sums[output] += (Int64(raw[input]) - zeroPoint) * Int64(weights[weight])
            }
            return sums
        }
        walker.forEachConvolutionTap(outputShape, weightShape, source.shape, geometry) { input, weight, output in
            let channel = weight / taps % groupChannels
            sums[output] -= zeroPoint * Int64(weights[weight])
            guard channel % 2 == 0 else { return }
            var pair = Int64(raw[input]) * Int64(weights[weight])
            if channel + 1 < groupChannels { pair += Int64(raw[input + 1]) * Int64(weights[weight + taps]) }
            sums[output] += min(max(pair, -32768), 32767)
        }
        return sums
    }

    /// `[N, 1, 1, C]` or `[N, C]` times `[O, C]`: the same sums and requantization as a 1x1 convolution.
    private func linear(_ source: QuantizedValue, weight weightShape: Shape, post: [InferenceGraph.PostOperation]) throws -> QuantizedValue {
        let batch = source.shape.first ?? 0
        let features = batch > 0 ? source.shape.elementCount / batch : 0
        guard source.shape.rank == 2 || (source.shape.rank == 4 && source.shape[1] == 1 && source.shape[2] == 1) else {
            throw QuantizationError.shapeMismatch(step: index, operand: "source", expected: "[N, 1, 1, C] or [N, C]", actual: source.shape)
        }
        guard weightShape.rank == 2, weightShape[1] == features else {
            throw QuantizationError.shapeMismatch(step: index, operand: "weight", expected: "[O, \(features)]", actual: weightShape)
        }
        let outputs = weightShape[0]
        let layer = try self.layer(weightShape: [outputs, features], source: source)
        // The int8 plan runs it as a 1x1 convolution over `[N, 1, 1, C]`: the same sums.
        let pixels = try QuantizedValue(source.storage, shape: [batch, 1, 1, features], elements: source.elements)
        let sums = try accumulate(
            pixels, layer.weights, weightShape: [outputs, features, 1, 1], outputShape: [batch, 1, 1, outputs], geometry: ConvolutionGeometry())
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

    /// `r = s_x / s_dst`, `q = saturate(roundEven(Float(q_x) · r · gate + fma(-z_x · r, gate, z_dst)))`,
    /// the gate a float value `[N, 1, 1, C]` (oneDNN's binary multiply, whose zero-point term is a
    /// binary add post-op the plan computes from the gate); a float destination keeps `Float(q_x - z_x) · r · gate`.
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
        let gateOf = { (element: Int) in gates[element / perImage * channels + element % channels] }
        guard let range = storage.type.integerRange else {
            let centered = source.centered
            return store(centered.indices.map { centered[$0] * ratio * gateOf($0) }, shape: source.shape, inverseScale: 1)
        }
        let offset = -Float(source.zeroPoint) * ratio
        let integers = sourceIntegers.indices.map { element -> Int32 in
            let gate = gateOf(element)
            let product = Float(sourceIntegers[element]) * ratio * gate
            let shift = Float(storage.zeroPoint).addingProduct(offset, gate)
            return QuantizedArithmetic.saturate((product + shift).rounded(.toNearestOrEven), range)
        }
        return QuantizedValue(unchecked: storage, shape: source.shape, elements: .integers(integers))
    }

    /// `q_c` element by element in the model's add arithmetic (``GraphQuantization/AddTerms``).
    private func add(_ a: QuantizedValue, _ b: QuantizedValue, sources: (Int, Int), post: [InferenceGraph.PostOperation]) throws -> QuantizedValue {
        let (first, second) = (try integers(of: a, role: "addend"), try integers(of: b, role: "shortcut"))
        guard a.shape == b.shape else {
            throw QuantizationError.shapeMismatch(step: index, operand: "shortcut", expected: "\(a.shape)", actual: b.shape)
        }
        for case let .activation(kind) in post where kind != .identity {
            throw QuantizationError.unsupportedActivation(step: index, activation: kind)
        }
        let terms = try quantization.addTerms(step: index, a: sources.0, b: sources.1)
        let sums = first.indices.map { terms(first[$0], second[$0]) }
        return QuantizedValue(unchecked: storage, shape: a.shape, elements: .integers(sums))
    }

    // MARK: Requantization

    /// The end every convolution and linear step shares: `acc` checked to fit int32,
    /// `v = Float(acc) · (s_src · s_w[c])`, each post-operation on `v` in order, then the
    /// destination's rounding.
    private func requantize(
        _ sums: [Int64], shape: Shape, sourceScale: Float, layer: GraphQuantization.Layer, post: [InferenceGraph.PostOperation]
    ) throws -> QuantizedValue {
        let channels = layer.bias.count
        let inDestinationUnits = GraphQuantization.requantization(post: post, destination: storage) == .destination
        let channelScales = layer.weightScales.map { inDestinationUnits ? (sourceScale * $0) / storage.scale : sourceScale * $0 }
        var results = [Float](repeating: 0, count: sums.count)
        for element in sums.indices {
            let c = element % channels
            let accumulator = try int32(sums[element] + Int64(layer.bias[c]), element: element)
            results[element] = QuantizedArithmetic.widen(accumulator) * channelScales[c]
        }
        if inDestinationUnits {
            for case let .activation(kind) in post {
                for (algorithm, alpha, beta) in DNNL.eltwiseSteps(kind, unitsOf: storage.scale) ?? [] {
                    guard let step = QuantizedArithmetic.EltwiseStep(algorithm, alpha: alpha, beta: beta) else {
                        throw QuantizationError.unsupportedActivation(step: index, activation: kind)
                    }
                    for element in results.indices { results[element] = step.apply(results[element]) }
                }
            }
            // Rounded, then the zero point added (an int32 output, then a reorder).
            guard let range = storage.type.integerRange else { return store(results, shape: shape, inverseScale: 1) }
            let zeroPoint = Float(storage.zeroPoint)
            let integers = results.map { QuantizedArithmetic.saturate($0.rounded(.toNearestOrEven) + zeroPoint, range) }
            return QuantizedValue(unchecked: storage, shape: shape, elements: .integers(integers))
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

    /// `v = v + s_shortcut · Float(q_shortcut - z_shortcut)`: the product rounded, then the sum.
    private func addShortcut(_ shortcut: QuantizedValue, to results: inout [Float], shape: Shape) throws {
        guard shortcut.shape == shape else {
            throw QuantizationError.shapeMismatch(step: index, operand: "shortcut", expected: "\(shape)", actual: shortcut.shape)
        }
        let stored = shortcut.centered
        for element in results.indices {
            let term = shortcut.scale * stored[element]
            results[element] = results[element] + term
        }
    }

    /// An integer destination rounds `fma(v, inverseScale, z_dst)` (for ``requantize``,
    /// `1 / s_dst` formed once); a float one keeps `v`.
    private func store(_ results: [Float], shape: Shape, inverseScale: Float) -> QuantizedValue {
        guard let range = storage.type.integerRange else {
            return QuantizedValue(unchecked: storage, shape: shape, elements: .floats(results))
        }
        let integers = results.map {
            QuantizedArithmetic.quantize($0, inverseScale: inverseScale, zeroPoint: storage.zeroPoint, range: range)
        }
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

    /// The step's integer layer, checked against the weight's shape and the weight limit of its `source`.
    private func layer(weightShape: Shape, source: QuantizedValue) throws -> GraphQuantization.Layer {
        let (outputs, weightCount) = (weightShape[0], weightShape.elementCount)
        guard let layer = quantization.layers[index] else { throw QuantizationError.missingLayer(step: index) }
        let counts = [
            ("weights", layer.weights.count, weightCount), ("weightScales", layer.weightScales.count, outputs),
            ("bias", layer.bias.count, outputs),
        ]
        for (parameter, actual, expected) in counts where actual != expected {
            throw QuantizationError.layerSize(step: index, parameter: parameter, expected: expected, actual: actual)
        }
        let limit = quantization.weightLimit(source: source.storage)
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
