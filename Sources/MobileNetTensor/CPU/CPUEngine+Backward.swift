import CDNNL

// The backward passes as oneDNN backward primitives. Each backward primitive descriptor is created
// with the matching forward *training* descriptor as its hint (oneDNN's requirement, and how it
// picks a backward kernel consistent with the forward one); the hints come from the same cache the
// forward passes use, so a recorded forward pass has already made them.
//
// Activations and gradients stay NHWC in memory; weights and their gradients are OIHW at the API
// and in whatever layout the kernel chose (`format_tag_any`) inside, with reorders between.

extension Propagation {
    /// oneDNN's forward propagation kind.
    var forwardKind: dnnl_prop_kind_t {
        self == .training ? dnnl_forward_training : dnnl_forward_inference
    }
}

/// The cache keys of backward primitives (``PrimitiveKey/backward(_:)``).
enum BackwardPrimitiveKey: Hashable, Sendable {
    case convolutionData(input: Shape, weight: Shape, geometry: ConvolutionGeometry)
    case convolutionWeights(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry)
    case batchNorm(input: Shape, epsilon: Float, statistics: NormalizationStatistics)
    case eltwise(count: Int, algorithm: UInt32, alpha: Float, beta: Float)
    case multiply(count: Int)
    case globalAveragePool(input: Shape)
    case linearData(input: Shape, weight: Shape)
    case linearWeights(input: Shape, weight: Shape, hasBias: Bool)
    case softmax(input: Shape)
}

extension ConvolutionGeometry {
    /// oneDNN's convolution arguments: strides, dilations (oneDNN counts the gaps, so 0 is dense)
    /// and the padding on each side.
    var dnnlStrides: [Int64] { [Int64(stride), Int64(stride)] }
    var dnnlDilations: [Int64] { [Int64(dilation - 1), Int64(dilation - 1)] }
    var dnnlPadding: [Int64] { [Int64(padding), Int64(padding)] }

    /// The weight dimensions oneDNN expects: OIHW, or `[groups, O / groups, I / groups, kH, kW]`.
    func dnnlWeightDimensions(_ weight: Shape) -> [Int] {
        groups == 1 ? weight.dimensions : [groups, weight[0] / groups, weight[1], weight[2], weight[3]]
    }

    func dnnlUserWeights(_ weight: Shape) throws -> dnnl_memory_desc_t {
        try DNNL.memoryDescriptor(dnnlWeightDimensions(weight), groups == 1 ? dnnl_oihw : dnnl_goihw)
    }

    func outputShape(input: Shape, weight: Shape) -> Shape {
        [input[0], outputExtent(input: input[1], kernel: weight[2]), outputExtent(input: input[2], kernel: weight[3]), weight[0]]
    }
}

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
            var anyWeights = try DNNL.memoryDescriptor(geometry.dnnlWeightDimensions(weight), dnnl_format_tag_any)
            var (source, destination) = (inputGradient, outputGradient)
            var descriptor = dnnl_convolution_desc_t()
            try DNNL.check(
                dnnl_dilated_convolution_backward_data_desc_init(
                    &descriptor, dnnl_convolution_direct, &source, &anyWeights, &destination,
                    geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding),
                "conv2d backward data descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("conv2d backward data", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
            }
            guard let chosen = primitive.memoryDescriptor(dnnl_query_weights_md) else {
                throw TensorError.engineFailure(operation: "conv2d backward data", status: "no weights layout")
            }
            weights = chosen
            weightReorder = DNNL.equal(chosen, userWeights) ? nil : try DNNLPrimitive(reorderFrom: userWeights, to: chosen)
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
            var anyWeights = try DNNL.memoryDescriptor(geometry.dnnlWeightDimensions(weight), dnnl_format_tag_any)
            var (source, destination, bias) = (input, outputGradient, biasGradient)
            var descriptor = dnnl_convolution_desc_t()
            try DNNL.check(
                withUnsafeMutablePointer(to: &bias) { biasPointer in
                    dnnl_dilated_convolution_backward_weights_desc_init(
                        &descriptor, dnnl_convolution_direct, &source, &anyWeights, hasBias ? biasPointer : nil, &destination,
                        geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding)
                },
                "conv2d backward weights descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("conv2d backward weights", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
            }
            guard let chosen = primitive.memoryDescriptor(dnnl_query_diff_weights_md) else {
                throw TensorError.engineFailure(operation: "conv2d backward weights", status: "no weight gradient layout")
            }
            weightGradient = chosen
            weightReorder = DNNL.equal(chosen, userWeights) ? nil : try DNNLPrimitive(reorderFrom: chosen, to: userWeights)
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
            let weights = try reorderIfNeeded(weight, plan.weightReorder, from: plan.userWeights, to: plan.weights)
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

    /// `weight`'s storage, or a copy reordered into the kernel's layout when `reorder` is given.
    private func reorderIfNeeded(
        _ weight: Tensor, _ reorder: DNNLPrimitive?, from user: dnnl_memory_desc_t, to chosen: dnnl_memory_desc_t
    ) throws -> TensorStorage {
        guard let reorder else { return weight.storage }
        let storage = TensorStorage(uninitializedCount: (DNNL.size(of: chosen) + 3) / 4)
        try reorder.execute("weight reorder", [
            .init(DNNL_ARG_FROM, user, weight.storage.pointer),
            .init(DNNL_ARG_TO, chosen, storage.pointer),
        ])
        return storage
    }

    /// Runs a one-source primitive (`SRC` to `DST`) on `input`, into a new tensor of `outputShape`.
    func runUnary(_ operation: String, _ plan: UnaryPlan, _ input: Tensor, outputShape: Shape) throws -> Tensor {
        let output = Tensor(uninitializedShape: outputShape)
        try plan.primitive.execute(operation, [
            .init(DNNL_ARG_SRC, plan.source, input.storage.pointer),
            .init(DNNL_ARG_DST, plan.destination, output.storage.pointer),
        ])
        return output
    }

    /// Multiplies the elements of `tensor`, which the caller has just created and alone holds, by `factor`.
    private func scaleInPlace(_ tensor: Tensor, by factor: Float) throws {
        let plan = try eltwisePlan(
            count: tensor.elementCount, algorithm: dnnl_eltwise_linear, alpha: factor, beta: 0, propagation: .inference)
        try plan.primitive.execute("scale", [
            .init(DNNL_ARG_SRC, plan.data, tensor.storage.pointer),
            .init(DNNL_ARG_DST, plan.data, tensor.storage.pointer),
        ])
    }

    // MARK: Batch normalization

    final class BatchNormBackwardPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let data: dnnl_memory_desc_t
        let channel: dnnl_memory_desc_t

        init(_ shape: Shape, epsilon: Float, statistics: NormalizationStatistics, hint: DNNLPrimitive) throws {
            data = try DNNL.activationDescriptor(shape)
            channel = try DNNL.memoryDescriptor([shape[3]], dnnl_a)
            let flags = DNNL.batchNormalizationFlags(batchStatistics: statistics != .fixed)
            var (gradient, source) = (data, data)
            var descriptor = dnnl_batch_normalization_desc_t()
            // `dnnl_backward` (not `_data`): the scale and shift gradients come from the same pass.
            try DNNL.check(
                dnnl_batch_normalization_backward_desc_init(&descriptor, dnnl_backward, &gradient, &source, epsilon, flags),
                "batchNorm backward descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("batchNorm backward", operationDescriptor: UnsafeRawPointer($0), hint: hint)
            }
        }
    }

    public func batchNormalizationBackward(
        _ outputGradient: Tensor, input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, epsilon: Float,
        statistics: NormalizationStatistics
    ) throws -> (input: Tensor, scale: Tensor, shift: Tensor) {
        try cache.serialized {
            let shape = input.shape
            let plan = try cache.plan(for: .backward(.batchNorm(input: shape, epsilon: epsilon, statistics: statistics))) {
                let (hint, _, _) = try batchNormPrimitive(
                    shape, epsilon: epsilon, training: statistics == .batch, propagation: .training)
                return try BatchNormBackwardPlan(shape, epsilon: epsilon, statistics: statistics, hint: hint)
            }
            let inputGradient = Tensor(uninitializedShape: shape)
            let scaleGradient = Tensor(uninitializedShape: [shape[3]])
            let shiftGradient = Tensor(uninitializedShape: [shape[3]])
            try plan.primitive.execute("batchNorm backward", [
                .init(DNNL_ARG_SRC, plan.data, input.storage.pointer),
                .init(DNNL_ARG_MEAN, plan.channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, plan.channel, variance.storage.pointer),
                .init(DNNL_ARG_SCALE, plan.channel, scale.storage.pointer),
                // oneDNN 2.6 insists on a shift buffer here although β enters no gradient and the
                // kernels never read it; the scale's buffer stands in.
                .init(DNNL_ARG_SHIFT, plan.channel, scale.storage.pointer),
                .init(DNNL_ARG_DIFF_DST, plan.data, outputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SRC, plan.data, inputGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SCALE, plan.channel, scaleGradient.storage.pointer),
                .init(DNNL_ARG_DIFF_SHIFT, plan.channel, shiftGradient.storage.pointer),
            ])
            return (inputGradient, scaleGradient, shiftGradient)
        }
    }

    // MARK: Element-wise

    final class EltwiseBackwardPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let data: dnnl_memory_desc_t

        init(count: Int, algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float, hint: EltwisePlan) throws {
            data = try DNNL.flatDescriptor(count)
            var (gradient, source) = (data, data)
            var descriptor = dnnl_eltwise_desc_t()
            try DNNL.check(
                dnnl_eltwise_backward_desc_init(&descriptor, algorithm, &gradient, &source, alpha, beta),
                "eltwise backward descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("eltwise backward", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
            }
        }
    }

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
                return try EltwiseBackwardPlan(count: count, algorithm: step.algorithm, alpha: step.alpha, beta: step.beta, hint: hint)
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
            let multiply = try cache.plan(for: .backward(.multiply(count: count))) {
                let flat = try DNNL.flatDescriptor(count)
                return try BinaryPlan(algorithm: dnnl_binary_mul, lhs: flat, rhs: flat)
            }
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
            let outputShape: Shape = [inputShape[0], 1, 1, inputShape[3]]
            let plan = try cache.plan(for: .backward(.globalAveragePool(input: inputShape))) {
                let hint = try globalAveragePoolPlan(inputShape, propagation: .training)
                return try UnaryPlan("globalAveragePool backward", source: DNNL.activationDescriptor(inputShape),
                                     destination: DNNL.activationDescriptor(outputShape)) { source, destination in
                    var descriptor = dnnl_pooling_v2_desc_t()
                    let kernel = [Int64(inputShape[1]), Int64(inputShape[2])]
                    try DNNL.check(
                        dnnl_pooling_v2_backward_desc_init(
                            &descriptor, dnnl_pooling_avg_exclude_padding, &source, &destination,
                            [1, 1], kernel, [0, 0], [0, 0], [0, 0]),
                        "globalAveragePool backward descriptor")
                    return try withUnsafePointer(to: &descriptor) {
                        try DNNLPrimitive("globalAveragePool backward", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
                    }
                }
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

    public func linearBackwardData(_ outputGradient: Tensor, weight: Tensor) throws -> Tensor {
        try cache.serialized {
            let inputShape: Shape = [outputGradient.shape[0], weight.shape[1]]
            let plan = try cache.plan(for: .backward(.linearData(input: inputShape, weight: weight.shape))) {
                let hint = try linearPlan(input: inputShape, weight: weight.shape, hasBias: false, propagation: .training)
                var (source, weights, destination) = (hint.source, hint.weights, hint.destination)
                var descriptor = dnnl_inner_product_desc_t()
                try DNNL.check(
                    dnnl_inner_product_backward_data_desc_init(&descriptor, &source, &weights, &destination),
                    "linear backward data descriptor")
                let primitive = try withUnsafePointer(to: &descriptor) {
                    try DNNLPrimitive("linear backward data", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
                }
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
                var (source, weights, bias, destination) = (hint.source, hint.weights, hint.bias, hint.destination)
                var descriptor = dnnl_inner_product_desc_t()
                try DNNL.check(
                    withUnsafeMutablePointer(to: &bias) { biasPointer in
                        dnnl_inner_product_backward_weights_desc_init(
                            &descriptor, &source, &weights, hasBias ? biasPointer : nil, &destination)
                    },
                    "linear backward weights descriptor")
                let primitive = try withUnsafePointer(to: &descriptor) {
                    try DNNLPrimitive("linear backward weights", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
                }
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

    /// A backward inner product; its layouts are the forward plan's (all plain: `[N, I]`, `[O, I]`).
    final class BackwardLinearPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let layouts: LinearPlan

        init(primitive: DNNLPrimitive, layouts: LinearPlan) {
            self.primitive = primitive
            self.layouts = layouts
        }
    }

    // MARK: Softmax

    public func logSoftmax(_ input: Tensor) throws -> Tensor {
        try cache.serialized {
            let plan = try softmaxPlan(input.shape, algorithm: dnnl_softmax_log, propagation: .inference)
            return try runUnary("logSoftmax", plan, input, outputShape: input.shape)
        }
    }

    public func softmaxBackward(_ outputGradient: Tensor, output: Tensor) throws -> Tensor {
        try cache.serialized {
            let shape = output.shape
            let plan = try cache.plan(for: .backward(.softmax(input: shape))) {
                let hint = try softmaxPlan(shape, algorithm: dnnl_softmax_accurate, propagation: .training)
                return try UnaryPlan("softmax backward", source: hint.source, destination: hint.destination) { source, destination in
                    var outputGradient = destination
                    var descriptor = dnnl_softmax_v2_desc_t()
                    try DNNL.check(
                        dnnl_softmax_v2_backward_desc_init(
                            &descriptor, dnnl_softmax_accurate, &source, &outputGradient, &destination, 1),
                        "softmax backward descriptor")
                    return try withUnsafePointer(to: &descriptor) {
                        try DNNLPrimitive("softmax backward", operationDescriptor: UnsafeRawPointer($0), hint: hint.primitive)
                    }
                }
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
