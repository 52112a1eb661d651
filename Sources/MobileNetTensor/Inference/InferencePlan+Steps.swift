import CDNNL

// Compiling each kind of graph step into the plan: the primitive with the layouts it prefers,
// reorders where a producer's layout does not suit it, its output's buffer and its arguments.

extension InferencePlan {
    /// A graph step's post-operations as oneDNN post-ops: a residual add becomes `sum` (the
    /// output buffer starts as the shortcut, see ``compileConvolution``), an activation its eltwise steps.
    static func postOperations(_ post: [InferenceGraph.PostOperation]) -> [DNNL.PostOperation] {
        post.flatMap { operation -> [DNNL.PostOperation] in
            switch operation {
            case .add: [.sum]
            case let .activation(kind): DNNL.PostOperation.activation(kind)
            }
        }
    }

    /// Attributes of one of the plan's primitives: `post` fused at its end, and scratch space
    /// passed by the plan rather than taken from oneDNN's shared buffer.
    static func attributes(_ post: [InferenceGraph.PostOperation] = []) throws -> DNNL.Attributes {
        try DNNL.Attributes(post: postOperations(post), userScratchpad: true)
    }

    /// Copies `source` into a fresh buffer laid out as `layout` (or returns it if already so).
    func converted(_ source: Placement, to layout: dnnl_memory_desc_t) throws -> Placement {
        if DNNL.equal(source.descriptor, layout) { return source }
        let target = allocate(layout, dimensions: source.dimensions, type: source.type)
        try appendReorder(from: source, to: target)
        return target
    }

    func appendReorder(from source: Placement, to target: Placement) throws {
        let reorder = try DNNLPrimitive(reorderFrom: source.descriptor, to: target.descriptor, attributes: Self.attributes())
        append(reorder, [
            (DNNL_ARG_FROM, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_TO, try memory(target.descriptor, buffer: target.buffer)),
        ])
    }

    func compileConvolution(
        source: Placement, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation],
        placements: [Placement?], lastUses: [Int], step: Int
    ) throws -> Placement {
        let output = geometry.outputShape(input: source.nhwcShape, weight: weight.shape)
        let outputDimensions = [output[0], output[3], output[1], output[2]]
        let userWeights = try geometry.dnnlUserWeights(weight.shape, weight.dtype)
        let biasLayout = try DNNL.memoryDescriptor([weight.shape[0]], dnnl_a, bias.dtype)
        let attributes = try Self.attributes(post)

        func make(sourceLayout: dnnl_memory_desc_t) throws -> DNNLPrimitive {
            try DNNL.convolutionForward(
                dnnl_forward_inference, source: sourceLayout, weights: geometry.dnnlAnyWeights(weight.shape, weight.dtype),
                bias: biasLayout, destination: DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any, source.type),
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
            if DNNL.equal(shortcut.descriptor, outputLayout), lastUses[residual.index] == step, shortcut.buffer != .callerInput {
                pool.retain(shortcut.buffer)
                result = Placement(descriptor: outputLayout, buffer: shortcut.buffer, dimensions: outputDimensions, type: source.type)
            } else {
                result = allocate(outputLayout, dimensions: outputDimensions, type: source.type)
                try appendReorder(from: shortcut, to: result)
            }
        } else {
            result = allocate(outputLayout, dimensions: outputDimensions, type: source.type)
        }
        let weightsLayout = try convolution.requiredMemoryDescriptor(dnnl_query_weights_md, "inference conv")
        append(convolution, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(weightsLayout, from: weight, userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: bias, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(result.descriptor, buffer: result.buffer)),
        ])
        if input.buffer != source.buffer { pool.release(input.buffer) }
        return result
    }

    func compilePooling(source: Placement) throws -> Placement {
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

    func compileMultiply(source: Placement, scale: Placement, inPlace: Bool) throws -> Placement {
        let multiply = try DNNL.binary(
            dnnl_binary_mul, lhs: source.descriptor, rhs: scale.descriptor, destination: source.descriptor,
            attributes: Self.attributes())
        var output = source
        if inPlace, source.buffer != .callerInput {
            pool.retain(source.buffer)
        } else {
            output = allocate(source.descriptor, dimensions: source.dimensions, type: source.type)
        }
        append(multiply, [
            (DNNL_ARG_SRC_0, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_SRC_1, try memory(scale.descriptor, buffer: scale.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        return output
    }

    func compileLinear(source: Placement, weight: Tensor, bias: Tensor, post: [InferenceGraph.PostOperation]) throws -> Placement {
        let outputs = weight.shape[0]
        let batch = source.dimensions[0]
        // A pooled `[N, C, 1, 1]` value feeds the inner product directly, with 4-D weights.
        let spatial = Array(source.dimensions.dropFirst(2))
        let weightDimensions = [outputs, source.dimensions[1]] + spatial
        let userWeights = try DNNL.memoryDescriptor(weightDimensions, spatial.isEmpty ? dnnl_ab : dnnl_abcd, weight.dtype)
        let biasLayout = try DNNL.memoryDescriptor([outputs], dnnl_a, bias.dtype)
        let product = try DNNL.innerProductForward(
            dnnl_forward_inference, source: source.descriptor,
            weights: DNNL.memoryDescriptor(weightDimensions, dnnl_format_tag_any, weight.dtype), bias: biasLayout,
            destination: DNNL.memoryDescriptor([batch, outputs], dnnl_format_tag_any, source.type),
            attributes: Self.attributes(post))
        let input = try converted(source, to: product.requiredMemoryDescriptor(dnnl_query_src_md, "inference linear"))
        let output = allocate(
            try product.requiredMemoryDescriptor(dnnl_query_dst_md, "inference linear"), dimensions: [batch, outputs],
            type: source.type)
        append(product, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(
                product.requiredMemoryDescriptor(dnnl_query_weights_md, "inference linear"), from: weight, userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: bias, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        if input.buffer != source.buffer { pool.release(input.buffer) }
        return output
    }

    /// The final value, reordered into the caller's plain tensor (`[N, O]` or NHWC); returns its shape.
    func compileOutput(_ value: Placement) throws -> Shape {
        let plain: dnnl_memory_desc_t
        let shape: Shape
        if value.dimensions.count == 2 {
            plain = try DNNL.memoryDescriptor(value.dimensions, dnnl_ab, value.type)
            shape = Shape(value.dimensions)
        } else {
            shape = value.nhwcShape
            plain = try DNNL.activationDescriptor(shape, value.type)
        }
        outputMemory = try DNNLMemory(plain, nil)
        memories.append(outputMemory)
        let reorder = try DNNLPrimitive(reorderFrom: value.descriptor, to: plain, attributes: Self.attributes())
        append(reorder, [
            (DNNL_ARG_FROM, try memory(value.descriptor, buffer: value.buffer)),
            (DNNL_ARG_TO, outputMemory.memory),
        ])
        return shape
    }
}
