import CDNNL

// Compiling each kind of graph step into the plan: the primitive with the layouts it prefers,
// reorders where a producer's layout does not suit it, its output's buffer and its arguments.

extension InferencePlan {
    /// A graph step's post-operations as oneDNN post-ops: a residual add becomes `sum` (the
    /// output buffer starts as the shortcut, see ``compileConvolution``), an activation its eltwise steps.
    static func postOperations(_ post: [InferenceGraph.PostOperation]) -> [DNNL.PostOperation] {
        post.flatMap { operation -> [DNNL.PostOperation] in
            switch operation {
            case .add: [.sum(scale: 1)]
            case let .activation(kind): DNNL.PostOperation.activation(kind)
            }
        }
    }

    /// Attributes of one of the plan's primitives: `post` fused at its end, and scratch space
    /// passed by the plan rather than taken from oneDNN's shared buffer.
    static func attributes(_ post: [InferenceGraph.PostOperation] = []) throws -> DNNL.Attributes {
        try DNNL.Attributes(post: postOperations(post), userScratchpad: true)
    }

    /// The attributes of convolution step `step` reading step `sourceStep`. In fp32, its
    /// post-ops. In int8, oneDNN 2.x's form of ``GraphQuantization``'s arithmetic: the source's
    /// zero point as a source zero point (oneDNN subtracts it exactly, in the int32 sums). In the
    /// destination's units (``GraphQuantization/Requantization/destination``), output scales
    /// `(s_src · s_w[c]) / s_dst`, ReLU or a clip at `6 / s_dst`, and a `linear` post-op adding
    /// `z_dst`. Otherwise output scales `s_src · s_w[c]` bring the int32 sum (bias included) to real units, a residual's
    /// `sum` takes the shortcut's scale and zero point, the activation runs on real values, and a
    /// last `linear` post-op computes `fma(v, 1 / s_dst, z_dst)` before the conversion to an
    /// integer destination (round to nearest even, saturate).
    func attributes(step: Int, sourceStep: Int, post: [InferenceGraph.PostOperation]) throws -> DNNL.Attributes {
        guard let quantized, let layer = quantized.layers[step] else { return try Self.attributes(post) }
        let destination = quantized.value(step)
        var operations: [DNNL.PostOperation] = []
        if GraphQuantization.requantization(post: post, destination: destination) == .destination {
            // The output scales already divide by s_dst: the activation in its units, then the zero point.
            for case let .activation(kind) in post {
                operations += (DNNL.eltwiseSteps(kind, unitsOf: destination.scale) ?? []).map { .eltwise($0.0, alpha: $0.1, beta: $0.2) }
            }
            // A zero point is added after rounding, by the reorder that follows an int32 output
            // (``roundsBeforeZeroPoint(step:post:)``).
        } else {
            for operation in post {
                switch operation {
                case let .add(value):
                    let shortcut = quantized.value(value.index)
                    operations.append(.sum(scale: shortcut.scale, zeroPoint: shortcut.zeroPoint))
                case let .activation(kind): operations += DNNL.PostOperation.activation(kind)
                }
            }
            if destination.type != .float32 {
                operations.append(.eltwise(dnnl_eltwise_linear, alpha: 1 / destination.scale, beta: Float(destination.zeroPoint)))
            }
        }
        var scales = DNNL.Scales(output: layer.outputScales, outputMask: 1 << 1)
        let sourceZeroPoint = quantized.value(sourceStep).zeroPoint
        if sourceZeroPoint != 0 { scales.zeroPoints = [(DNNL_ARG_SRC, sourceZeroPoint)] }
        return try DNNL.Attributes(post: operations, userScratchpad: true, scales: scales)
    }

    /// Whether int8 step `step` rounds in the destination's units and then adds a zero point that
    /// is not 0, as ONNX Runtime and XNNPACK do (`roundEven(v) + z`): oneDNN 2.6 adds a
    /// destination zero point in float before it rounds, which differs where `v` lies within a
    /// rounding of a half, so the convolution writes int32 and a reorder adds the zero point.
    func roundsBeforeZeroPoint(step: Int, post: [InferenceGraph.PostOperation]) -> Bool {
        guard let quantized, quantized.layers[step] != nil else { return false }
        let destination = quantized.value(step)
        return destination.zeroPoint != 0 && GraphQuantization.requantization(post: post, destination: destination) == .destination
    }

    /// The element type of step `step`'s value: the quantization's, or the fp32 graph's `fallback`.
    func valueType(_ step: Int, fallback: DType) -> DType {
        quantized?.value(step).type ?? fallback
    }

    /// The int8 input: the caller's float NHWC images times `1 / s` plus the zero point,
    /// rounded and saturated into the input value's type, by a reorder; the fp32 input as it is.
    func compileInput(_ caller: Placement, step: Int) throws -> Placement {
        guard let quantized, quantized.value(step).type != .float32 else { return caller }
        let value = quantized.value(step)
        let layout = try DNNL.activationDescriptor(caller.nhwcShape, value.type)
        let target = allocate(layout, dimensions: caller.dimensions, type: value.type)
        var scales = DNNL.Scales(output: [1 / value.scale])
        if value.zeroPoint != 0 { scales.zeroPoints = [(DNNL_ARG_DST, value.zeroPoint)] }
        try appendReorder(from: caller, to: target, scales: scales)
        return target
    }

    /// Copies `source` into a fresh buffer laid out as `layout` (or returns it if already so).
    func converted(_ source: Placement, to layout: dnnl_memory_desc_t) throws -> Placement {
        if DNNL.equal(source.descriptor, layout) { return source }
        let target = allocate(layout, dimensions: source.dimensions, type: source.type)
        try appendReorder(from: source, to: target)
        return target
    }

    func appendReorder(from source: Placement, to target: Placement, scales: DNNL.Scales = DNNL.Scales()) throws {
        let reorder = try DNNLPrimitive(
            reorderFrom: source.descriptor, to: target.descriptor, attributes: DNNL.Attributes(userScratchpad: true, scales: scales))
        append(reorder, [
            (DNNL_ARG_FROM, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_TO, try memory(target.descriptor, buffer: target.buffer)),
        ])
    }

    func compileConvolution(
        source: Placement, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation],
        placements: [Placement?], lastUses: [Int], sourceStep: Int, step: Int
    ) throws -> Placement {
        let output = geometry.outputShape(input: source.nhwcShape, weight: weight.shape)
        let outputDimensions = [output[0], output[3], output[1], output[2]]
        let layer = quantized?.layers[step]
        let (weightType, biasType) = layer == nil ? (weight.dtype, bias.dtype) : (.int8, .int32)
        let storedType = valueType(step, fallback: source.type)
        let widened = roundsBeforeZeroPoint(step: step, post: post)
        let outputType: DType = widened ? .int32 : storedType
        let userWeights = try geometry.dnnlUserWeights(weight.shape, weightType)
        let biasLayout = try DNNL.memoryDescriptor([weight.shape[0]], dnnl_a, biasType)
        let attributes = try attributes(step: step, sourceStep: sourceStep, post: post)

        func make(sourceLayout: dnnl_memory_desc_t) throws -> DNNLPrimitive {
            try DNNL.convolutionForward(
                dnnl_forward_inference, source: sourceLayout, weights: geometry.dnnlAnyWeights(weight.shape, weightType),
                bias: biasLayout, destination: DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any, outputType),
                geometry: geometry, attributes: attributes)
        }
        // Keep the producer's layout when a JIT kernel takes it. For the caller's NHWC images
        // (the first layer, 3 channels) and wherever no JIT kernel takes the producer's layout,
        // let oneDNN choose and reorder.
        var primitive = source.buffer == .callerInput ? nil : try? make(sourceLayout: source.descriptor)
        if primitive == nil || primitive!.implementationName.hasPrefix("ref") {
            primitive = try make(sourceLayout: DNNL.memoryDescriptor(source.dimensions, dnnl_format_tag_any, source.type))
        }
        let convolution = primitive!
        let input = try converted(source, to: convolution.requiredMemoryDescriptor(dnnl_query_src_md, "inference conv"))
        let outputLayout = try convolution.requiredMemoryDescriptor(dnnl_query_dst_md, "inference conv")

        var result: Placement
        if let residual = post.compactMap({ if case let .add(value) = $0 { value } else { nil } }).first {
            // The sum post-op adds into whatever the output buffer holds: start it as the shortcut.
            let shortcut = placements[residual.index]!
            guard shortcut.type == outputType else {
                throw QuantizationError.unsupportedType(step: step, role: "shortcut", type: shortcut.type, expected: "the output's type \(outputType.rawValue)")
            }
            if DNNL.equal(shortcut.descriptor, outputLayout), lastUses[residual.index] == step, shortcut.buffer != .callerInput {
                pool.retain(shortcut.buffer)
                result = Placement(descriptor: outputLayout, buffer: shortcut.buffer, dimensions: outputDimensions, type: outputType)
            } else {
                result = allocate(outputLayout, dimensions: outputDimensions, type: outputType)
                try appendReorder(from: shortcut, to: result)
            }
        } else {
            result = allocate(outputLayout, dimensions: outputDimensions, type: outputType)
        }
        let weightsLayout = try convolution.requiredMemoryDescriptor(dnnl_query_weights_md, "inference conv")
        append(convolution, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(weightsLayout, from: layer?.weights ?? weight.storage, userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: layer?.bias ?? bias.storage, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(result.descriptor, buffer: result.buffer)),
        ])
        if input.buffer != source.buffer { pool.release(input.buffer) }
        guard widened, let quantized else { return result }
        let layout = DNNL.withType(outputLayout, storedType)
        let value = allocate(layout, dimensions: outputDimensions, type: storedType)
        var scales = DNNL.Scales(output: [1])
        scales.zeroPoints = [(DNNL_ARG_DST, quantized.value(step).zeroPoint)]
        try appendReorder(from: result, to: value, scales: scales)
        pool.release(result.buffer)
        return value
    }

    /// Average pooling keeps its input's type; in int8 its scale too (oneDNN 2.x pooling takes no scales).
    func compilePooling(source: Placement, sourceStep: Int, step: Int) throws -> Placement {
        if let quantized, quantized.value(step) != quantized.value(sourceStep) {
            throw QuantizationError.poolStorageMismatch(step: step, input: quantized.value(sourceStep), output: quantized.value(step))
        }
        let (batch, channels, height, width) = (source.dimensions[0], source.dimensions[1], source.dimensions[2], source.dimensions[3])
        let outputDimensions = [batch, channels, 1, 1]
        let pooling = try DNNL.averagePoolingForward(
            dnnl_forward_inference, source: source.descriptor,
            destination: DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any, source.type),
            kernel: (height, width), attributes: Self.attributes())
        let output = allocate(
            try pooling.requiredMemoryDescriptor(dnnl_query_dst_md, "inference pooling"), dimensions: outputDimensions,
            type: source.type)
        append(pooling, [
            (DNNL_ARG_SRC, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        return output
    }

    /// `source · scale` per channel. In int8, the float gate multiplies the integers scaled by
    /// `r = s_x / s_dst` (an argument scale), and the result keeps `source`'s type; where a zero
    /// point is not 0, a binary add post-op adds `fma(-z_x · r, gate, z_dst)`, computed from the
    /// gate by an eltwise step before it (``GraphQuantization``'s channel multiply).
    func compileMultiply(source: Placement, scale: Placement, inPlace: Bool, sourceStep: Int, step: Int) throws -> Placement {
        var scales = DNNL.Scales()
        var post: [DNNL.PostOperation] = []
        var shift: Placement?
        if let quantized, quantized.value(step).type != .float32 {
            let (input, output) = (quantized.value(sourceStep), quantized.value(step))
            guard output.type == source.type, scale.type == .float32 else {
                throw QuantizationError.unsupportedType(
                    step: step, role: "destination", type: output.type, expected: "\(source.type.rawValue), scaled by a float32 gate")
            }
            let ratio = input.scale / output.scale
            scales.arguments = [(DNNL_ARG_SRC_0, ratio)]
            if input.zeroPoint != 0 || output.zeroPoint != 0 {
                let offsets = allocate(scale.descriptor, dimensions: scale.dimensions, type: .float32)
                let eltwise = try DNNL.eltwiseForward(
                    dnnl_forward_inference, dnnl_eltwise_linear, data: scale.descriptor, alpha: -Float(input.zeroPoint) * ratio,
                    beta: Float(output.zeroPoint))
                append(eltwise, [
                    (DNNL_ARG_SRC, try memory(scale.descriptor, buffer: scale.buffer)),
                    (DNNL_ARG_DST, try memory(offsets.descriptor, buffer: offsets.buffer)),
                ])
                post = [.binary(dnnl_binary_add, offsets.descriptor)]
                shift = offsets
            }
        }
        let attributes = try DNNL.Attributes(post: post, userScratchpad: true, scales: scales)
        let multiply = try DNNL.binary(
            dnnl_binary_mul, lhs: source.descriptor, rhs: scale.descriptor, destination: source.descriptor, attributes: attributes)
        var output = source
        if inPlace, source.buffer != .callerInput {
            pool.retain(source.buffer)
        } else {
            output = allocate(source.descriptor, dimensions: source.dimensions, type: source.type)
        }
        var arguments = [
            (DNNL_ARG_SRC_0, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_SRC_1, try memory(scale.descriptor, buffer: scale.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ]
        if let shift {
            arguments.append((DNNL.postOperationArgument(0) | DNNL_ARG_SRC_1, try memory(shift.descriptor, buffer: shift.buffer)))
        }
        append(multiply, arguments)
        if let shift { pool.release(shift.buffer) }
        return output
    }

    /// `value + shortcut`, the shortcut reordered to the value's layout if it differs, in place
    /// over `value` where this is its last use. In fp32 a binary add with the activations as
    /// eltwise post-ops; in int8 the plan's own loop (``QuantizedAdd``) in the model's
    /// ``GraphQuantization/AddArithmetic``, with no activation after it.
    func compileAdd(
        value: Placement, shortcut: Placement, post: [InferenceGraph.PostOperation], inPlace: Bool, valueStep: Int, shortcutStep: Int, step: Int
    ) throws -> Placement {
        let other = try converted(shortcut, to: DNNL.withType(value.descriptor, shortcut.type))
        defer { if other.buffer != shortcut.buffer { pool.release(other.buffer) } }
        let output: Placement
        if inPlace, value.buffer != .callerInput {
            pool.retain(value.buffer)
            output = value
        } else {
            output = allocate(value.descriptor, dimensions: value.dimensions, type: value.type)
        }
        if let quantized {
            let terms = try quantized.quantization.addTerms(step: step, a: valueStep, b: shortcutStep)
            for case let .activation(kind) in post where kind != .identity {
                throw QuantizationError.unsupportedActivation(step: step, activation: kind)
            }
            guard let a = pointer(value.buffer), let b = pointer(other.buffer), let c = pointer(output.buffer) else {
                throw QuantizationError.unsupportedType(step: step, role: "addend", type: .float32, expected: "uint8")
            }
            append(QuantizedAdd(
                a: UnsafePointer(a.assumingMemoryBound(to: UInt8.self)), b: UnsafePointer(b.assumingMemoryBound(to: UInt8.self)),
                c: c.assumingMemoryBound(to: UInt8.self), count: DNNL.size(of: value.descriptor), terms: terms,
                descriptor: value.descriptor))
            return output
        }
        let add = try DNNL.binary(
            dnnl_binary_add, lhs: value.descriptor, rhs: other.descriptor, destination: value.descriptor,
            attributes: try Self.attributes(post))
        append(add, [
            (DNNL_ARG_SRC_0, try memory(value.descriptor, buffer: value.buffer)),
            (DNNL_ARG_SRC_1, try memory(other.descriptor, buffer: other.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        return output
    }

    /// A bilinear resize to `height` x `width`, in the source's layout (oneDNN's resampling
    /// keeps the blocked layout of the maps around it). fp32 only: an int8 graph refuses it.
    func compileResize(source: Placement, height: Int, width: Int, step: Int) throws -> Placement {
        if quantized != nil, source.type != .float32 {
            throw QuantizationError.unsupportedType(step: step, role: "resize source", type: source.type, expected: "float32")
        }
        let outputDimensions = [source.dimensions[0], source.dimensions[1], height, width]
        let resampling = try DNNL.bilinearResamplingForward(
            dnnl_forward_inference, source: source.descriptor,
            destination: DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any, source.type), attributes: Self.attributes())
        let input = try converted(source, to: resampling.requiredMemoryDescriptor(dnnl_query_src_md, "inference resize"))
        let output = allocate(
            try resampling.requiredMemoryDescriptor(dnnl_query_dst_md, "inference resize"), dimensions: outputDimensions,
            type: source.type)
        append(resampling, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        if input.buffer != source.buffer { pool.release(input.buffer) }
        return output
    }

    /// A linear step: in fp32 an inner product; in int8 a 1x1 convolution over `[N, C, 1, 1]`
    /// (oneDNN 2.6's int8 inner product takes no source zero point), whose output stays
    /// `[N, O, 1, 1]`.
    func compileLinear(
        source: Placement, weight: Tensor, bias: Tensor, post: [InferenceGraph.PostOperation], placements: [Placement?],
        lastUses: [Int], sourceStep: Int, step: Int
    ) throws -> Placement {
        let outputs = weight.shape[0]
        let batch = source.dimensions[0]
        if quantized?.layers[step] != nil {
            guard source.dimensions.count == 4, source.dimensions[2] == 1, source.dimensions[3] == 1 else {
                throw QuantizationError.shapeMismatch(
                    step: step, operand: "source", expected: "[N, 1, 1, C] (pooled)", actual: Shape(source.dimensions))
            }
            return try compileConvolution(
                source: source, weight: weight.reshaped([outputs, weight.shape[1], 1, 1]), bias: bias, geometry: ConvolutionGeometry(),
                post: post, placements: placements, lastUses: lastUses, sourceStep: sourceStep, step: step)
        }
        let outputType = valueType(step, fallback: source.type)
        // A pooled `[N, C, 1, 1]` value feeds the inner product directly, with 4-D weights.
        let spatial = Array(source.dimensions.dropFirst(2))
        let weightDimensions = [outputs, source.dimensions[1]] + spatial
        let userWeights = try DNNL.memoryDescriptor(weightDimensions, spatial.isEmpty ? dnnl_ab : dnnl_abcd, weight.dtype)
        let biasLayout = try DNNL.memoryDescriptor([outputs], dnnl_a, bias.dtype)
        let product = try DNNL.innerProductForward(
            dnnl_forward_inference, source: source.descriptor,
            weights: DNNL.memoryDescriptor(weightDimensions, dnnl_format_tag_any, weight.dtype), bias: biasLayout,
            destination: DNNL.memoryDescriptor([batch, outputs], dnnl_format_tag_any, outputType),
            attributes: Self.attributes(post))
        let input = try converted(source, to: product.requiredMemoryDescriptor(dnnl_query_src_md, "inference linear"))
        let output = allocate(
            try product.requiredMemoryDescriptor(dnnl_query_dst_md, "inference linear"), dimensions: [batch, outputs],
            type: outputType)
        append(product, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(
                product.requiredMemoryDescriptor(dnnl_query_weights_md, "inference linear"), from: weight.storage,
                userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: bias.storage, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        if input.buffer != source.buffer { pool.release(input.buffer) }
        return output
    }

    /// The final value, reordered into the caller's plain float tensor (`[N, O]` or NHWC; an
    /// integer value as `s · (q - z)`); returns its shape. `flat`: the graph ends in a linear
    /// step, whose int8 form is a `[N, O, 1, 1]` convolution: the caller gets `[N, O]`.
    func compileOutput(_ value: Placement, step: Int, flat: Bool) throws -> Shape {
        let plain: dnnl_memory_desc_t
        let shape: Shape
        if value.dimensions.count == 2 {
            plain = try DNNL.memoryDescriptor(value.dimensions, dnnl_ab, .float32)
            shape = Shape(value.dimensions)
        } else {
            plain = try DNNL.activationDescriptor(value.nhwcShape, .float32)
            shape = flat ? [value.dimensions[0], value.dimensions[1]] : value.nhwcShape
        }
        let outputMemory = try DNNLMemory(plain, nil)
        memories.append(outputMemory)
        outputMemories.append(outputMemory)
        var scales = DNNL.Scales()
        if let quantized, value.type != .float32 {
            scales.output = [quantized.value(step).scale]
            if quantized.value(step).zeroPoint != 0 { scales.zeroPoints = [(DNNL_ARG_SRC, quantized.value(step).zeroPoint)] }
        }
        let reorder = try DNNLPrimitive(
            reorderFrom: value.descriptor, to: plain, attributes: DNNL.Attributes(userScratchpad: true, scales: scales))
        append(reorder, [
            (DNNL_ARG_FROM, try memory(value.descriptor, buffer: value.buffer)),
            (DNNL_ARG_TO, outputMemory.memory),
        ])
        return shape
    }
}
