import CDNNL

// The backward passes as oneDNN backward primitives. Each backward primitive is created with the
// matching forward *training* primitive as its hint (oneDNN's requirement, and how it picks a
// backward kernel consistent with the forward one); the hints come from the same cache the
// forward passes use, so a recorded forward pass has already made them.
//
// Activations and gradients stay NHWC in memory; weights and their gradients are OIHW at the API
// and in whatever layout the kernel chose (`format_tag_any`) inside, with reorders between.

extension CPUEngine {
    // MARK: Convolution

    /// Gradient with respect to the input: a transposed convolution of the output gradient.
    final class ConvolutionBackwardDataPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let inputGradient: dnnl_memory_desc_t
        let outputGradient: dnnl_memory_desc_t
        let userWeights: dnnl_memory_desc_t
        let weights: dnnl_memory_desc_t
        let weightReorder: DNNLPrimitive?

        init(input: Shape, weight: Shape, geometry: ConvolutionGeometry, hint: ConvolutionPlan) throws {
            inputGradient = try DNNL.activationDescriptor(input)
            outputGradient = try DNNL.activationDescriptor(geometry.outputShape(input: input, weight: weight))
            userWeights = try geometry.dnnlUserWeights(weight)
            primitive = try DNNL.convolutionBackwardData(
                inputGradient: inputGradient, weights: geometry.dnnlAnyWeights(weight), outputGradient: outputGradient,
                geometry: geometry, hint: hint.primitive)
            weights = try primitive.requiredMemoryDescriptor(dnnl_query_weights_md, "conv2d backward data")
            weightReorder = DNNL.equal(weights, userWeights) ? nil : try DNNLPrimitive(reorderFrom: userWeights, to: weights)
        }
    }

    /// Gradients with respect to the weights (and bias): correlations of input and output gradient.
    final class ConvolutionBackwardWeightsPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let input: dnnl_memory_desc_t
        let outputGradient: dnnl_memory_desc_t
        let biasGradient: dnnl_memory_desc_t
        let userWeights: dnnl_memory_desc_t
        let weightGradient: dnnl_memory_desc_t
        let weightReorder: DNNLPrimitive?

        init(input inputShape: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry, hint: ConvolutionPlan) throws {
            input = try DNNL.activationDescriptor(inputShape)
            outputGradient = try DNNL.activationDescriptor(geometry.outputShape(input: inputShape, weight: weight))
            biasGradient = try DNNL.memoryDescriptor([weight[0]], dnnl_a)
            userWeights = try geometry.dnnlUserWeights(weight)
            primitive = try DNNL.convolutionBackwardWeights(
                input: input, weightGradient: geometry.dnnlAnyWeights(weight), biasGradient: hasBias ? biasGradient : nil,
                outputGradient: outputGradient, geometry: geometry, hint: hint.primitive)
            weightGradient = try primitive.requiredMemoryDescriptor(dnnl_query_diff_weights_md, "conv2d backward weights")
            weightReorder = DNNL.equal(weightGradient, userWeights)
                ? nil : try DNNLPrimitive(reorderFrom: weightGradient, to: userWeights)
        }
    }

    func convolutionBackwardDataPlan(input: Shape, weight: Shape, geometry: ConvolutionGeometry) throws -> ConvolutionBackwardDataPlan {
        try cache.plan(for: .backward(.convolutionData(input: input, weight: weight, geometry: geometry))) {
            let hint = try convolutionPlan(input: input, weight: weight, hasBias: false, geometry: geometry, propagation: .training)
            return try ConvolutionBackwardDataPlan(input: input, weight: weight, geometry: geometry, hint: hint)
        }
    }

    func convolutionBackwardWeightsPlan(
        input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry
    ) throws -> ConvolutionBackwardWeightsPlan {
        try cache.plan(for: .backward(.convolutionWeights(input: input, weight: weight, hasBias: hasBias, geometry: geometry))) {
            let hint = try convolutionPlan(input: input, weight: weight, hasBias: hasBias, geometry: geometry, propagation: .training)
            return try ConvolutionBackwardWeightsPlan(input: input, weight: weight, hasBias: hasBias, geometry: geometry, hint: hint)
        }
    }

    /// The oneDNN kernels chosen for a convolution's two backward passes, e.g.
    /// `("jit_dw:avx512_core", "jit_dw:avx512_core")`; `ref:` means no fast kernel fits.
    public func convolutionBackwardImplementations(
        input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry
    ) throws -> (data: String, weights: String) {
        try cache.serialized {
            let data = try convolutionBackwardDataPlan(input: input, weight: weight, geometry: geometry)
            let weights = try convolutionBackwardWeightsPlan(input: input, weight: weight, hasBias: hasBias, geometry: geometry)
            return (data.primitive.implementationName, weights.primitive.implementationName)
        }
    }

    public func convolution2DBackwardData(
        _ outputGradient: Tensor, weight: Tensor, inputShape: Shape, geometry: ConvolutionGeometry
    ) throws -> Tensor {
        try cache.serialized {
            let plan = try convolutionBackwardDataPlan(input: inputShape, weight: weight.shape, geometry: geometry)
            let weights = try reordered(weight, plan.weightReorder, from: plan.userWeights, to: plan.weights)
            let inputGradient = Tensor(uninitializedShape: inputShape)
            try plan.primitive.execute("conv2d backward data", [
                .init(DNNL_ARG_DIFF_DST, plan.outputGradient, outputGradient.storage.pointer),
                .init(DNNL_ARG_WEIGHTS, plan.weights, weights.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.inputGradient, inputGradient.storage.pointer),
            ])
            withExtendedLifetime(weights) {}
            return inputGradient
        }
    }

    public func convolution2DBackwardWeights(
        _ outputGradient: Tensor, input: Tensor, weightShape: Shape, hasBias: Bool, geometry: ConvolutionGeometry
    ) throws -> (weight: Tensor, bias: Tensor?) {
        try cache.serialized {
            let plan = try convolutionBackwardWeightsPlan(input: input.shape, weight: weightShape, hasBias: hasBias, geometry: geometry)
            let weightGradient = Tensor(uninitializedShape: weightShape)
            // The kernel writes its own layout; reorder into OIHW afterwards when that differs.
            let chosen = plan.weightReorder == nil
                ? weightGradient.storage
                : TensorStorage(uninitializedCount: (DNNL.size(of: plan.weightGradient) + 3) / 4)
            let biasGradient = hasBias ? Tensor(uninitializedShape: [weightShape[0]]) : nil
            var arguments: [DNNL.Argument] = [
                .init(DNNL_ARG_SRC, plan.input, input.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, plan.outputGradient, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_WEIGHTS, plan.weightGradient, chosen.pointer),
            ]
            if let biasGradient {
                arguments.append(.init(DNNL_ARG_DIFF_BIAS, plan.biasGradient, biasGradient.storage.pointer))
            }
            try plan.primitive.execute("conv2d backward weights", arguments)
            if let reorder = plan.weightReorder {
                try reorder.execute("conv2d weight gradient reorder", [
                    .init(DNNL_ARG_FROM, plan.weightGradient, chosen.pointer),
                    .init(DNNL_ARG_TO, plan.userWeights, weightGradient.storage.pointer),
                ])
            }
            return (weightGradient, biasGradient)
        }
    }

    // MARK: Batch normalization

    public func batchNormalizationBackward(
        _ outputGradient: Tensor, input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, epsilon: Float,
        statistics: NormalizationStatistics
    ) throws -> (input: Tensor, scale: Tensor, shift: Tensor) {
        try cache.serialized {
            let shape = input.shape
            let plan = try cache.plan(for: .backward(.batchNorm(input: shape, epsilon: epsilon, statistics: statistics))) {
                let hint = try batchNormPlan(shape, epsilon: epsilon, training: statistics == .batch, propagation: .training)
                let primitive = try DNNL.batchNormalizationBackward(
                    data: hint.data, epsilon: epsilon, flags: DNNL.batchNormalizationFlags(batchStatistics: statistics != .fixed),
                    hint: hint.primitive)
                return BatchNormPlan(primitive, layoutsOf: hint)
            }
            let (data, channel) = (plan.data, plan.channel)
            let inputGradient = Tensor(uninitializedShape: shape)
            let scaleGradient = Tensor(uninitializedShape: [shape[3]])
            let shiftGradient = Tensor(uninitializedShape: [shape[3]])
            try plan.primitive.execute("batchNorm backward", [
                .init(DNNL_ARG_SRC, data, input.storage.pointer),
                .init(DNNL_ARG_MEAN, channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, channel, variance.storage.pointer),
                .init(DNNL_ARG_SCALE, channel, scale.storage.pointer),
                // oneDNN 2.6 insists on a shift buffer here although β enters no gradient and the
                // kernels never read it; the scale's buffer stands in.
                .init(DNNL_ARG_SHIFT, channel, scale.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, data, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, data, inputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SCALE, channel, scaleGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SHIFT, channel, shiftGradient.storage.pointer),
            ])
            return (inputGradient, scaleGradient, shiftGradient)
        }
    }

    // MARK: Element-wise

    /// The single eltwise algorithm whose backward pass gives `kind`'s derivative (times a
    /// constant factor). Hard-sigmoid, a composition in the forward pass, is a clip to (-3, 3)
    /// whose gate is then scaled by 1/6.
    private func backwardStep(_ kind: Activation) -> (algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float, factor: Float)? {
        switch kind {
        case .identity: nil
        case .relu: (dnnl_eltwise_relu, 0, 0, 1)
        case .relu6: (dnnl_eltwise_clip_v2, 0, 6, 1)
        case .hardSwish: (dnnl_eltwise_hardswish, 0, 0, 1)
        case .hardSigmoid: (dnnl_eltwise_clip_v2, -3, 3, 1.0 / 6.0)
        case .sigmoid: (dnnl_eltwise_logistic, 0, 0, 1)
        }
    }

    public func activationBackward(_ outputGradient: Tensor, input: Tensor, _ kind: Activation) throws -> Tensor {
        guard let step = backwardStep(kind) else { return outputGradient }
        return try cache.serialized {
            let count = input.elementCount
            let key = BackwardPrimitiveKey.eltwise(count: count, algorithm: step.algorithm.rawValue, alpha: step.alpha, beta: step.beta)
            let plan = try cache.plan(for: .backward(key)) {
                let hint = try eltwisePlan(
                    count: count, algorithm: step.algorithm, alpha: step.alpha, beta: step.beta, propagation: .training)
                let primitive = try DNNL.eltwiseBackward(
                    step.algorithm, data: hint.data, alpha: step.alpha, beta: step.beta, hint: hint.primitive)
                return EltwisePlan(primitive, layoutOf: hint)
            }
            let inputGradient = Tensor(uninitializedShape: input.shape)
            try plan.primitive.execute("activation \(kind) backward", [
                .init(DNNL_ARG_SRC, plan.data, input.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, plan.data, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.data, inputGradient.storage.pointer),
            ])
            if step.factor != 1 {
                try scaleInPlace(inputGradient, by: step.factor)
            }
            return inputGradient
        }
    }

    // MARK: Channel scaling and pooling

    public func multiplyChannelsScaleGradient(_ outputGradient: Tensor, input: Tensor) throws -> Tensor {
        try cache.serialized {
            let shape = input.shape
            let count = input.elementCount
            let multiply = try flatBinaryPlan(.backward(.multiply(count: count)), dnnl_binary_mul, count: count)
            let products = try runBinary("multiplyChannels scale gradient", multiply, outputGradient, input)
            let area = shape[1] * shape[2]
            if area == 1 { return try products.reshaped([shape[0], 1, 1, shape[3]]) }
            // Σ over each map = area × its mean. oneDNN 2.6's sum reduction has only a reference
            // kernel for NHWC, while average pooling has a JIT one.
            let pool = try globalAveragePoolPlan(shape, propagation: .inference)
            let scaleGradient = try runUnary("multiplyChannels scale gradient", pool, products, outputShape: [shape[0], 1, 1, shape[3]])
            try scaleInPlace(scaleGradient, by: Float(area))
            return scaleGradient
        }
    }

    public func globalAveragePoolBackward(_ outputGradient: Tensor, inputShape: Shape) throws -> Tensor {
        try cache.serialized {
            let plan = try cache.plan(for: .backward(.globalAveragePool(input: inputShape))) {
                let hint = try globalAveragePoolPlan(inputShape, propagation: .training)
                let primitive = try DNNL.averagePoolingBackward(
                    inputGradient: hint.source, outputGradient: hint.destination, kernel: (inputShape[1], inputShape[2]),
                    hint: hint.primitive)
                return UnaryPlan(primitive, source: hint.source, destination: hint.destination)
            }
            let inputGradient = Tensor(uninitializedShape: inputShape)
            try plan.primitive.execute("globalAveragePool backward", [
                .init(DNNL_ARG_DIFF_DST, plan.destination, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.source, inputGradient.storage.pointer),
            ])
            return inputGradient
        }
    }

    // MARK: Linear

    /// A backward inner product; its layouts are the forward plan's (all plain: `[N, I]`, `[O, I]`).
    final class BackwardLinearPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let layouts: LinearPlan

        init(primitive: DNNLPrimitive, layouts: LinearPlan) {
            self.primitive = primitive
            self.layouts = layouts
        }
    }

    public func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) throws -> Tensor {
        try cache.serialized {
            let inputShape: Shape = [outputGradient.shape[0], weight.shape[1]]
            let plan = try cache.plan(for: .backward(.linearData(input: inputShape, weight: weight.shape))) {
                let hint = try linearPlan(input: inputShape, weight: weight.shape, hasBias: false, propagation: .training)
                let primitive = try DNNL.innerProductBackwardData(
                    inputGradient: hint.source, weights: hint.weights, outputGradient: hint.destination, hint: hint.primitive)
                return BackwardLinearPlan(primitive: primitive, layouts: hint)
            }
            let inputGradient = Tensor(uninitializedShape: inputShape)
            try plan.primitive.execute("linear backward data", [
                .init(DNNL_ARG_DIFF_DST, plan.layouts.destination, outputGradient.storage.pointer),
                .init(DNNL_ARG_WEIGHTS, plan.layouts.weights, weight.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.layouts.source, inputGradient.storage.pointer),
            ])
            return inputGradient
        }
    }

    public func linearBackwardWeights(_ outputGradient: Tensor, input: Tensor, hasBias: Bool) throws -> (weight: Tensor, bias: Tensor?) {
        try cache.serialized {
            let weightShape: Shape = [outputGradient.shape[1], input.shape[1]]
            let key = BackwardPrimitiveKey.linearWeights(input: input.shape, weight: weightShape, hasBias: hasBias)
            let plan = try cache.plan(for: .backward(key)) {
                let hint = try linearPlan(input: input.shape, weight: weightShape, hasBias: hasBias, propagation: .training)
                let primitive = try DNNL.innerProductBackwardWeights(
                    input: hint.source, weightGradient: hint.weights, biasGradient: hasBias ? hint.bias : nil,
                    outputGradient: hint.destination, hint: hint.primitive)
                return BackwardLinearPlan(primitive: primitive, layouts: hint)
            }
            let weightGradient = Tensor(uninitializedShape: weightShape)
            let biasGradient = hasBias ? Tensor(uninitializedShape: [weightShape[0]]) : nil
            var arguments: [DNNL.Argument] = [
                .init(DNNL_ARG_SRC, plan.layouts.source, input.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, plan.layouts.destination, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_WEIGHTS, plan.layouts.weights, weightGradient.storage.pointer),
            ]
            if let biasGradient {
                arguments.append(.init(DNNL_ARG_DIFF_BIAS, plan.layouts.bias, biasGradient.storage.pointer))
            }
            try plan.primitive.execute("linear backward weights", arguments)
            return (weightGradient, biasGradient)
        }
    }

    // MARK: Softmax

    public func softmaxBackward(_ outputGradient: Tensor, output: Tensor) throws -> Tensor {
        try cache.serialized {
            let shape = output.shape
            let plan = try cache.plan(for: .backward(.softmax(input: shape))) {
                let hint = try softmaxPlan(shape, algorithm: dnnl_softmax_accurate, propagation: .training)
                let primitive = try DNNL.softmaxBackward(dnnl_softmax_accurate, data: hint.source, axis: 1, hint: hint.primitive)
                return UnaryPlan(primitive, source: hint.source, destination: hint.destination)
            }
            let inputGradient = Tensor(uninitializedShape: shape)
            try plan.primitive.execute("softmax backward", [
                .init(DNNL_ARG_DST, plan.destination, output.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, plan.destination, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.source, inputGradient.storage.pointer),
            ])
            return inputGradient
        }
    }
}
