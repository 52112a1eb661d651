import CDNNL

/// The fast engine: every operation runs as a oneDNN primitive, JIT-compiled for this CPU's
/// instruction set (AVX-512, AVX2 or NEON, picked at run time).
///
/// Activations stay NHWC in memory. Convolution weights arrive in PyTorch's OIHW layout and are
/// reordered into the blocked layout the chosen kernel asks for (oneDNN picks its AVX-512 kernels
/// only for weights created with `format_tag_any`).
///
/// Primitives are cached by operation and shape (``PrimitiveCache``), so a repeated shape never
/// creates a primitive twice. Executions are serialized; each primitive runs on oneDNN's OpenMP
/// threads (``threadCount``). The forward operations are here, their gradients in
/// `CPUEngine+Backward.swift`.
public struct CPUEngine: ComputeEngine {
    public static let shared = CPUEngine()

    public var name: String { "cpu (oneDNN)" }

    let cache = PrimitiveCache()

    private init() {}

    /// How many primitives have been created and how many are cached.
    public var cacheStatistics: (created: Int, cached: Int) {
        cache.statistics
    }

    /// The oneDNN kernel chosen for a convolution of this shape, e.g. `jit_dw:avx512_core`.
    public func convolutionImplementation(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry) throws -> String {
        try cache.serialized {
            try convolutionPlan(input: input, weight: weight, hasBias: hasBias, geometry: geometry, propagation: .inference)
                .primitive.implementationName
        }
    }

    // MARK: Convolution

    final class ConvolutionPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let source: dnnl_memory_desc_t
        let destination: dnnl_memory_desc_t
        let bias: dnnl_memory_desc_t
        /// PyTorch's OIHW weights, and the primitive's layout with the reorder between them (nil when equal).
        let userWeights: dnnl_memory_desc_t
        let weights: dnnl_memory_desc_t
        let weightReorder: DNNLPrimitive?
        let outputShape: Shape

        init(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry, propagation: Propagation) throws {
            let outputShape = geometry.outputShape(input: input, weight: weight)
            source = try DNNL.activationDescriptor(input)
            destination = try DNNL.activationDescriptor(outputShape)
            bias = try DNNL.memoryDescriptor([weight[0]], dnnl_a)
            userWeights = try geometry.dnnlUserWeights(weight)
            primitive = try DNNL.convolutionForward(
                propagation.forwardKind, source: source, weights: geometry.dnnlAnyWeights(weight), bias: hasBias ? bias : nil,
                destination: destination, geometry: geometry)
            weights = try primitive.requiredMemoryDescriptor(dnnl_query_weights_md, "conv2d")
            weightReorder = DNNL.equal(weights, userWeights) ? nil : try DNNLPrimitive(reorderFrom: userWeights, to: weights)
            self.outputShape = outputShape
        }
    }

    func convolutionPlan(
        input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry, propagation: Propagation
    ) throws -> ConvolutionPlan {
        let key = PrimitiveKey.convolution(input: input, weight: weight, hasBias: hasBias, geometry: geometry, propagation: propagation)
        return try cache.plan(for: key) {
            try ConvolutionPlan(input: input, weight: weight, hasBias: hasBias, geometry: geometry, propagation: propagation)
        }
    }

    public func convolution2D(
        _ input: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvolutionGeometry, propagation: Propagation
    ) throws -> Tensor {
        try cache.serialized {
            let plan = try convolutionPlan(
                input: input.shape, weight: weight.shape, hasBias: bias != nil, geometry: geometry, propagation: propagation)
            let weights = try reordered(weight, plan.weightReorder, from: plan.userWeights, to: plan.weights)
            let output = Tensor(uninitializedShape: plan.outputShape)
            var arguments: [DNNL.Argument] = [
                .init(DNNL_ARG_SRC, plan.source, input.storage.pointer),
                .init(DNNL_ARG_WEIGHTS, plan.weights, weights.pointer),
                .init(DNNL_ARG_DST, plan.destination, output.storage.pointer),
            ]
            if let bias {
                arguments.append(.init(DNNL_ARG_BIAS, plan.bias, bias.storage.pointer))
            }
            try plan.primitive.execute("conv2d", arguments)
            withExtendedLifetime(weights) {}
            return output
        }
    }

    /// `weight`'s storage, or a copy reordered into the kernel's layout when `reorder` is given.
    func reordered(
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

    // MARK: Batch normalization

    public func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float,
        propagation: Propagation
    ) throws -> Tensor {
        try cache.serialized {
            let plan = try batchNormPlan(input.shape, epsilon: epsilon, training: false, propagation: propagation)
            let output = Tensor(uninitializedShape: input.shape)
            try plan.primitive.execute("batchNorm", [
                .init(DNNL_ARG_SRC, plan.data, input.storage.pointer),
                .init(DNNL_ARG_MEAN, plan.channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, plan.channel, variance.storage.pointer),
                .init(DNNL_ARG_SCALE, plan.channel, scale.storage.pointer),
                .init(DNNL_ARG_SHIFT, plan.channel, shift.storage.pointer),
                .init(DNNL_ARG_DST, plan.data, output.storage.pointer),
            ])
            return output
        }
    }

    public func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
        try cache.serialized {
            let plan = try batchNormPlan(input.shape, epsilon: epsilon, training: true, propagation: .training)
            let channels: Shape = [input.shape[3]]
            let output = Tensor(uninitializedShape: input.shape)
            let mean = Tensor(uninitializedShape: channels)
            let variance = Tensor(uninitializedShape: channels)
            try plan.primitive.execute("batchNorm (training)", [
                .init(DNNL_ARG_SRC, plan.data, input.storage.pointer),
                .init(DNNL_ARG_SCALE, plan.channel, scale.storage.pointer),
                .init(DNNL_ARG_SHIFT, plan.channel, shift.storage.pointer),
                .init(DNNL_ARG_DST, plan.data, output.storage.pointer),
                .init(DNNL_ARG_MEAN, plan.channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, plan.channel, variance.storage.pointer),
            ])
            return (output, mean, variance)
        }
    }

    final class BatchNormPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let data: dnnl_memory_desc_t
        let channel: dnnl_memory_desc_t

        /// `training`: normalize with the batch's statistics (always a training primitive); else
        /// with given ones, for inference or, with `propagation` `.training`, as the hint of a backward pass.
        init(_ shape: Shape, epsilon: Float, training: Bool, propagation: Propagation) throws {
            data = try DNNL.activationDescriptor(shape)
            channel = try DNNL.memoryDescriptor([shape[3]], dnnl_a)
            primitive = try DNNL.batchNormalizationForward(
                training ? dnnl_forward_training : propagation.forwardKind, data: data, epsilon: epsilon,
                flags: DNNL.batchNormalizationFlags(batchStatistics: training))
        }

        /// Another primitive over the same layouts (the backward pass of `forward`).
        init(_ primitive: DNNLPrimitive, layoutsOf forward: BatchNormPlan) {
            self.primitive = primitive
            data = forward.data
            channel = forward.channel
        }
    }

    func batchNormPlan(_ shape: Shape, epsilon: Float, training: Bool, propagation: Propagation) throws -> BatchNormPlan {
        try cache.plan(for: .batchNorm(input: shape, epsilon: epsilon, training: training, propagation: propagation)) {
            try BatchNormPlan(shape, epsilon: epsilon, training: training, propagation: propagation)
        }
    }

    // MARK: Element-wise

    /// A single-primitive element-wise operation on a flat view of its operand.
    final class EltwisePlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let data: dnnl_memory_desc_t

        init(count: Int, algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float, propagation: Propagation) throws {
            data = try DNNL.flatDescriptor(count)
            primitive = try DNNL.eltwiseForward(propagation.forwardKind, algorithm, data: data, alpha: alpha, beta: beta)
        }

        /// Another primitive over the same layout (the backward pass of `forward`).
        init(_ primitive: DNNLPrimitive, layoutOf forward: EltwisePlan) {
            self.primitive = primitive
            data = forward.data
        }
    }

    public func activation(_ input: Tensor, _ kind: Activation, propagation: Propagation) throws -> Tensor {
        try cache.serialized {
            let output = Tensor(uninitializedShape: input.shape)
            var source = input.storage.pointer
            for (algorithm, alpha, beta) in DNNL.eltwiseSteps(kind) {
                let count = input.elementCount
                let plan = try eltwisePlan(count: count, algorithm: algorithm, alpha: alpha, beta: beta, propagation: propagation)
                try plan.primitive.execute("activation \(kind)", [
                    .init(DNNL_ARG_SRC, plan.data, source),
                    .init(DNNL_ARG_DST, plan.data, output.storage.pointer),
                ])
                source = output.storage.pointer
            }
            return output
        }
    }

    func eltwisePlan(
        count: Int, algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float, propagation: Propagation
    ) throws -> EltwisePlan {
        let key = PrimitiveKey.eltwise(count: count, algorithm: algorithm.rawValue, alpha: alpha, beta: beta, propagation: propagation)
        return try cache.plan(for: key) {
            try EltwisePlan(count: count, algorithm: algorithm, alpha: alpha, beta: beta, propagation: propagation)
        }
    }

    /// Multiplies the elements of `tensor`, which the caller has just created and alone holds, by `factor`.
    func scaleInPlace(_ tensor: Tensor, by factor: Float) throws {
        let plan = try eltwisePlan(
            count: tensor.elementCount, algorithm: dnnl_eltwise_linear, alpha: factor, beta: 0, propagation: .inference)
        try plan.primitive.execute("scale", [
            .init(DNNL_ARG_SRC, plan.data, tensor.storage.pointer),
            .init(DNNL_ARG_DST, plan.data, tensor.storage.pointer),
        ])
    }

    // MARK: Binary

    final class BinaryPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let lhs: dnnl_memory_desc_t
        let rhs: dnnl_memory_desc_t

        init(algorithm: dnnl_alg_kind_t, lhs: dnnl_memory_desc_t, rhs: dnnl_memory_desc_t) throws {
            self.lhs = lhs
            self.rhs = rhs
            primitive = try DNNL.binary(algorithm, lhs: lhs, rhs: rhs, destination: lhs)
        }
    }

    func runBinary(_ operation: String, _ plan: BinaryPlan, _ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
        let output = Tensor(uninitializedShape: lhs.shape)
        try plan.primitive.execute(operation, [
            .init(DNNL_ARG_SRC_0, plan.lhs, lhs.storage.pointer),
            .init(DNNL_ARG_SRC_1, plan.rhs, rhs.storage.pointer),
            .init(DNNL_ARG_DST, plan.lhs, output.storage.pointer),
        ])
        return output
    }

    /// An element-wise binary primitive over two flat vectors of `count` elements.
    func flatBinaryPlan(_ key: PrimitiveKey, _ algorithm: dnnl_alg_kind_t, count: Int) throws -> BinaryPlan {
        try cache.plan(for: key) {
            let flat = try DNNL.flatDescriptor(count)
            return try BinaryPlan(algorithm: algorithm, lhs: flat, rhs: flat)
        }
    }

    public func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
        try cache.serialized {
            let plan = try flatBinaryPlan(.add(count: lhs.elementCount), dnnl_binary_add, count: lhs.elementCount)
            return try runBinary("add", plan, lhs, rhs)
        }
    }

    public func multiplyChannels(_ input: Tensor, by scale: Tensor) throws -> Tensor {
        try cache.serialized {
            let shape = input.shape
            let plan = try cache.plan(for: .multiplyChannels(input: shape)) {
                try BinaryPlan(
                    algorithm: dnnl_binary_mul,
                    lhs: DNNL.activationDescriptor(shape),
                    rhs: DNNL.activationDescriptor([shape[0], 1, 1, shape[3]]))
            }
            return try runBinary("multiplyChannels", plan, input, scale)
        }
    }

    // MARK: Pooling, linear, softmax

    /// A primitive with one source and one destination layout.
    final class UnaryPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let source: dnnl_memory_desc_t
        let destination: dnnl_memory_desc_t

        init(_ primitive: DNNLPrimitive, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t) {
            self.primitive = primitive
            self.source = source
            self.destination = destination
        }
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

    public func globalAveragePool(_ input: Tensor, propagation: Propagation) throws -> Tensor {
        try cache.serialized {
            let plan = try globalAveragePoolPlan(input.shape, propagation: propagation)
            return try runUnary("globalAveragePool", plan, input, outputShape: [input.shape[0], 1, 1, input.shape[3]])
        }
    }

    func globalAveragePoolPlan(_ shape: Shape, propagation: Propagation) throws -> UnaryPlan {
        try cache.plan(for: .globalAveragePool(input: shape, propagation: propagation)) {
            let source = try DNNL.activationDescriptor(shape)
            let destination = try DNNL.activationDescriptor([shape[0], 1, 1, shape[3]])
            let primitive = try DNNL.averagePoolingForward(
                propagation.forwardKind, source: source, destination: destination, kernel: (shape[1], shape[2]))
            return UnaryPlan(primitive, source: source, destination: destination)
        }
    }

    final class LinearPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let source: dnnl_memory_desc_t
        let weights: dnnl_memory_desc_t
        let bias: dnnl_memory_desc_t
        let destination: dnnl_memory_desc_t

        init(input: Shape, weight: Shape, hasBias: Bool, propagation: Propagation) throws {
            source = try DNNL.memoryDescriptor([input[0], input[1]], dnnl_ab)
            weights = try DNNL.memoryDescriptor([weight[0], weight[1]], dnnl_ab)
            bias = try DNNL.memoryDescriptor([weight[0]], dnnl_a)
            destination = try DNNL.memoryDescriptor([input[0], weight[0]], dnnl_ab)
            primitive = try DNNL.innerProductForward(
                propagation.forwardKind, source: source, weights: weights, bias: hasBias ? bias : nil, destination: destination)
        }
    }

    public func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, propagation: Propagation) throws -> Tensor {
        try cache.serialized {
            let plan = try linearPlan(input: input.shape, weight: weight.shape, hasBias: bias != nil, propagation: propagation)
            let output = Tensor(uninitializedShape: [input.shape[0], weight.shape[0]])
            var arguments: [DNNL.Argument] = [
                .init(DNNL_ARG_SRC, plan.source, input.storage.pointer),
                .init(DNNL_ARG_WEIGHTS, plan.weights, weight.storage.pointer),
                .init(DNNL_ARG_DST, plan.destination, output.storage.pointer),
            ]
            if let bias {
                arguments.append(.init(DNNL_ARG_BIAS, plan.bias, bias.storage.pointer))
            }
            try plan.primitive.execute("linear", arguments)
            return output
        }
    }

    func linearPlan(input: Shape, weight: Shape, hasBias: Bool, propagation: Propagation) throws -> LinearPlan {
        try cache.plan(for: .linear(input: input, weight: weight, hasBias: hasBias, propagation: propagation)) {
            try LinearPlan(input: input, weight: weight, hasBias: hasBias, propagation: propagation)
        }
    }

    public func softmax(_ input: Tensor, propagation: Propagation) throws -> Tensor {
        try cache.serialized {
            let plan = try softmaxPlan(input.shape, algorithm: dnnl_softmax_accurate, propagation: propagation)
            return try runUnary("softmax", plan, input, outputShape: input.shape)
        }
    }

    public func logSoftmax(_ input: Tensor) throws -> Tensor {
        try cache.serialized {
            let plan = try softmaxPlan(input.shape, algorithm: dnnl_softmax_log, propagation: .inference)
            return try runUnary("logSoftmax", plan, input, outputShape: input.shape)
        }
    }

    /// Softmax (`dnnl_softmax_accurate`) or log-softmax (`dnnl_softmax_log`) over the last axis of `[N, K]`.
    func softmaxPlan(_ shape: Shape, algorithm: dnnl_alg_kind_t, propagation: Propagation) throws -> UnaryPlan {
        try cache.plan(for: .softmax(input: shape, algorithm: algorithm.rawValue, propagation: propagation)) {
            let layout = try DNNL.memoryDescriptor([shape[0], shape[1]], dnnl_ab)
            let primitive = try DNNL.softmaxForward(propagation.forwardKind, algorithm, data: layout, axis: 1)
            return UnaryPlan(primitive, source: layout, destination: layout)
        }
    }
}
