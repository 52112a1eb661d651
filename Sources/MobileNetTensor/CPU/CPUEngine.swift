import CDNNL
import Synchronization

/// The fast engine: every operation runs as a oneDNN primitive, JIT-compiled for this CPU's
/// instruction set (AVX-512, AVX2 or NEON, picked at run time).
///
/// Activations stay NHWC in memory. Convolution weights arrive in PyTorch's OIHW layout and are
/// reordered into the blocked layout the chosen kernel asks for (oneDNN picks its AVX-512 kernels
/// only for weights created with `format_tag_any`).
///
/// Primitives are cached by operation and shape, so a repeated shape never creates a primitive
/// twice. Executions are serialized; each primitive runs on oneDNN's OpenMP threads.
public struct CPUEngine: ComputeEngine {
    public static let shared = CPUEngine()

    public var name: String { "cpu (oneDNN)" }

    let cache = PrimitiveCache()

    private init() {}

    // MARK: Threads

    /// The most threads oneDNN's kernels may use: 1024, more than the hardware threads of the
    /// largest x86 servers (two 192-core sockets with SMT, 768). Past the cores more threads only
    /// wait on each other; far past them libgomp cannot create its pool and crashes (it did at
    /// 100 000, `OMP_NUM_THREADS` included).
    public static let maximumThreadCount = 1024

    /// The number of threads oneDNN's kernels use (OpenMP), for the whole process: set on any
    /// thread, it holds for work started on every thread. Values are clamped to
    /// 1...``maximumThreadCount``. Defaults to `OMP_NUM_THREADS` or the core count (at most
    /// ``maximumThreadCount``, see ``defaultThreadCountAboveMaximum``).
    ///
    /// OpenMP itself keeps the count per OS thread (`omp_set_num_threads` changes only the
    /// calling thread's), so the value lives here, and every call into oneDNN first gives its
    /// thread this count (``applyThreadCount()``).
    public static var threadCount: Int {
        get {
            let set = configuredThreadCount.load(ordering: .acquiring)
            return set > 0 ? set : defaultThreadCount.used
        }
        set {
            configuredThreadCount.store(min(max(1, newValue), maximumThreadCount), ordering: .releasing)
            applyThreadCount()
        }
    }

    /// What OpenMP offered at the first use of the engine (`OMP_NUM_THREADS`, else the core
    /// count) when that was above ``maximumThreadCount``, which the default is clamped to; nil
    /// when it was within. A command-line tool can tell its user.
    public static var defaultThreadCountAboveMaximum: Int? {
        defaultThreadCount.offered > maximumThreadCount ? defaultThreadCount.offered : nil
    }

    /// The count ``threadCount`` was set to; 0 until it is set.
    private static let configuredThreadCount = Atomic<Int>(0)

    /// OpenMP's default for a thread that never set its own, read once, and that clamped.
    private static let defaultThreadCount: (offered: Int, used: Int) = {
        let offered = Int(omp_get_max_threads())
        return (offered, min(max(1, offered), maximumThreadCount))
    }()

    /// Gives the calling OS thread the process-wide ``threadCount``; every entry into oneDNN
    /// (primitive creation and execution) runs after it. Reading and comparing the thread's own
    /// count first keeps this to a thread-local load in the usual case.
    static func applyThreadCount() {
        applyThreadCount(threadCount)
    }

    /// Gives the calling OS thread `count` OpenMP threads (the inference workers' one).
    static func applyThreadCount(_ count: Int) {
        let wanted = Int32(count)
        if omp_get_max_threads() != wanted { omp_set_num_threads(wanted) }
    }

    /// The threads OpenMP would start on the calling OS thread now.
    static var callingThreadCount: Int { Int(omp_get_max_threads()) }

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
            var anyWeights = try DNNL.memoryDescriptor(geometry.dnnlWeightDimensions(weight), dnnl_format_tag_any)
            var sourceAny = source, destinationAny = destination, biasAny = bias
            var descriptor = dnnl_convolution_desc_t()
            try DNNL.check(
                withUnsafeMutablePointer(to: &biasAny) { biasPointer in
                    dnnl_dilated_convolution_forward_desc_init(
                        &descriptor, propagation.forwardKind, dnnl_convolution_direct,
                        &sourceAny, &anyWeights, hasBias ? biasPointer : nil, &destinationAny,
                        geometry.dnnlStrides, geometry.dnnlDilations, geometry.dnnlPadding, geometry.dnnlPadding)
                },
                "conv2d descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("conv2d", operationDescriptor: UnsafeRawPointer($0))
            }
            guard let chosen = primitive.memoryDescriptor(dnnl_query_weights_md) else {
                throw TensorError.engineFailure(operation: "conv2d", status: "no weights layout")
            }
            weights = chosen
            weightReorder = DNNL.equal(chosen, userWeights) ? nil : try DNNLPrimitive(reorderFrom: userWeights, to: chosen)
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
            var weightPointer = weight.storage.pointer
            var reordered: TensorStorage?
            if let reorder = plan.weightReorder {
                let storage = TensorStorage(uninitializedCount: (DNNL.size(of: plan.weights) + 3) / 4)
                try reorder.execute("conv2d weight reorder", [
                    .init(DNNL_ARG_FROM, plan.userWeights, weight.storage.pointer),
                    .init(DNNL_ARG_TO, plan.weights, storage.pointer),
                ])
                reordered = storage
                weightPointer = storage.pointer
            }
            let output = Tensor(uninitializedShape: plan.outputShape)
            var arguments: [DNNL.Argument] = [
                .init(DNNL_ARG_SRC, plan.source, input.storage.pointer),
                .init(DNNL_ARG_WEIGHTS, plan.weights, weightPointer),
                .init(DNNL_ARG_DST, plan.destination, output.storage.pointer),
            ]
            if let bias {
                arguments.append(.init(DNNL_ARG_BIAS, plan.bias, bias.storage.pointer))
            }
            try plan.primitive.execute("conv2d", arguments)
            withExtendedLifetime(reordered) {}
            return output
        }
    }

    // MARK: Batch normalization

    public func batchNormalization(
        _ input: Tensor, mean: Tensor, variance: Tensor, scale: Tensor, shift: Tensor, epsilon: Float,
        propagation: Propagation
    ) throws -> Tensor {
        try cache.serialized {
            let (primitive, data, channel) = try batchNormPrimitive(
                input.shape, epsilon: epsilon, training: false, propagation: propagation)
            let output = Tensor(uninitializedShape: input.shape)
            try primitive.execute("batchNorm", [
                .init(DNNL_ARG_SRC, data, input.storage.pointer),
                .init(DNNL_ARG_MEAN, channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, channel, variance.storage.pointer),
                .init(DNNL_ARG_SCALE, channel, scale.storage.pointer),
                .init(DNNL_ARG_SHIFT, channel, shift.storage.pointer),
                .init(DNNL_ARG_DST, data, output.storage.pointer),
            ])
            return output
        }
    }

    public func batchNormalizationTraining(
        _ input: Tensor, scale: Tensor, shift: Tensor, epsilon: Float
    ) throws -> (output: Tensor, mean: Tensor, variance: Tensor) {
        try cache.serialized {
            let (primitive, data, channel) = try batchNormPrimitive(
                input.shape, epsilon: epsilon, training: true, propagation: .training)
            let channels: Shape = [input.shape[3]]
            let output = Tensor(uninitializedShape: input.shape)
            let mean = Tensor(uninitializedShape: channels)
            let variance = Tensor(uninitializedShape: channels)
            try primitive.execute("batchNorm (training)", [
                .init(DNNL_ARG_SRC, data, input.storage.pointer),
                .init(DNNL_ARG_SCALE, channel, scale.storage.pointer),
                .init(DNNL_ARG_SHIFT, channel, shift.storage.pointer),
                .init(DNNL_ARG_DST, data, output.storage.pointer),
                .init(DNNL_ARG_MEAN, channel, mean.storage.pointer),
                .init(DNNL_ARG_VARIANCE, channel, variance.storage.pointer),
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
            let flags = DNNL.batchNormalizationFlags(batchStatistics: training)
            var descriptor = dnnl_batch_normalization_desc_t()
            var data = data
            try DNNL.check(
                dnnl_batch_normalization_forward_desc_init(
                    &descriptor, training ? dnnl_forward_training : propagation.forwardKind, &data, epsilon, flags),
                "batchNorm descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("batchNorm", operationDescriptor: UnsafeRawPointer($0))
            }
        }
    }

    func batchNormPrimitive(_ shape: Shape, epsilon: Float, training: Bool, propagation: Propagation) throws
        -> (DNNLPrimitive, dnnl_memory_desc_t, dnnl_memory_desc_t)
    {
        let key = PrimitiveKey.batchNorm(input: shape, epsilon: epsilon, training: training, propagation: propagation)
        let plan = try cache.plan(for: key) {
            try BatchNormPlan(shape, epsilon: epsilon, training: training, propagation: propagation)
        }
        return (plan.primitive, plan.data, plan.channel)
    }

    // MARK: Element-wise

    /// A single-primitive element-wise operation on a flat view of its operand.
    final class EltwisePlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let data: dnnl_memory_desc_t

        init(count: Int, algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float, propagation: Propagation) throws {
            var data = try DNNL.flatDescriptor(count)
            self.data = data
            var descriptor = dnnl_eltwise_desc_t()
            try DNNL.check(
                dnnl_eltwise_forward_desc_init(&descriptor, propagation.forwardKind, algorithm, &data, alpha, beta),
                "eltwise descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("eltwise", operationDescriptor: UnsafeRawPointer($0))
            }
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

    // MARK: Binary

    final class BinaryPlan: @unchecked Sendable {
        let primitive: DNNLPrimitive
        let lhs: dnnl_memory_desc_t
        let rhs: dnnl_memory_desc_t

        init(algorithm: dnnl_alg_kind_t, lhs: dnnl_memory_desc_t, rhs: dnnl_memory_desc_t) throws {
            self.lhs = lhs
            self.rhs = rhs
            var (source0, source1, destination) = (lhs, rhs, lhs)
            var descriptor = dnnl_binary_desc_t()
            try DNNL.check(dnnl_binary_desc_init(&descriptor, algorithm, &source0, &source1, &destination), "binary descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("binary", operationDescriptor: UnsafeRawPointer($0))
            }
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

    public func add(_ lhs: Tensor, _ rhs: Tensor) throws -> Tensor {
        try cache.serialized {
            let count = lhs.elementCount
            let plan = try cache.plan(for: .add(count: count)) {
                let flat = try DNNL.flatDescriptor(count)
                return try BinaryPlan(algorithm: dnnl_binary_add, lhs: flat, rhs: flat)
            }
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

        init(_ operation: String, source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t,
             describe: (inout dnnl_memory_desc_t, inout dnnl_memory_desc_t) throws -> DNNLPrimitive) throws {
            self.source = source
            self.destination = destination
            var (source, destination) = (source, destination)
            primitive = try describe(&source, &destination)
        }
    }

    public func globalAveragePool(_ input: Tensor, propagation: Propagation) throws -> Tensor {
        try cache.serialized {
            let plan = try globalAveragePoolPlan(input.shape, propagation: propagation)
            return try runUnary("globalAveragePool", plan, input, outputShape: [input.shape[0], 1, 1, input.shape[3]])
        }
    }

    func globalAveragePoolPlan(_ shape: Shape, propagation: Propagation) throws -> UnaryPlan {
        let outputShape: Shape = [shape[0], 1, 1, shape[3]]
        return try cache.plan(for: .globalAveragePool(input: shape, propagation: propagation)) {
            try UnaryPlan("globalAveragePool", source: DNNL.activationDescriptor(shape),
                          destination: DNNL.activationDescriptor(outputShape)) { source, destination in
                var descriptor = dnnl_pooling_v2_desc_t()
                let kernel = [Int64(shape[1]), Int64(shape[2])]
                try DNNL.check(
                    dnnl_pooling_v2_forward_desc_init(
                        &descriptor, propagation.forwardKind, dnnl_pooling_avg_exclude_padding,
                        &source, &destination, [1, 1], kernel, [0, 0], [0, 0], [0, 0]),
                    "globalAveragePool descriptor")
                return try withUnsafePointer(to: &descriptor) {
                    try DNNLPrimitive("globalAveragePool", operationDescriptor: UnsafeRawPointer($0))
                }
            }
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
            var (source, weights, bias, destination) = (source, weights, bias, destination)
            var descriptor = dnnl_inner_product_desc_t()
            try DNNL.check(
                withUnsafeMutablePointer(to: &bias) { biasPointer in
                    dnnl_inner_product_forward_desc_init(
                        &descriptor, propagation.forwardKind, &source, &weights, hasBias ? biasPointer : nil, &destination)
                },
                "linear descriptor")
            primitive = try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("linear", operationDescriptor: UnsafeRawPointer($0))
            }
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

    /// Softmax (`dnnl_softmax_accurate`) or log-softmax (`dnnl_softmax_log`) over the last axis of `[N, K]`.
    func softmaxPlan(_ shape: Shape, algorithm: dnnl_alg_kind_t, propagation: Propagation) throws -> UnaryPlan {
        try cache.plan(for: .softmax(input: shape, algorithm: algorithm.rawValue, propagation: propagation)) {
            let layout = try DNNL.memoryDescriptor([shape[0], shape[1]], dnnl_ab)
            return try UnaryPlan("softmax", source: layout, destination: layout) { source, destination in
                var descriptor = dnnl_softmax_v2_desc_t()
                try DNNL.check(
                    dnnl_softmax_v2_forward_desc_init(
                        &descriptor, propagation.forwardKind, algorithm, &source, &destination, 1),
                    "softmax descriptor")
                return try withUnsafePointer(to: &descriptor) {
                    try DNNLPrimitive("softmax", operationDescriptor: UnsafeRawPointer($0))
                }
            }
        }
    }
}

/// What a cached primitive is for. Two calls with equal keys reuse one primitive. Forward keys
/// name their propagation kind: a training primitive differs from an inference one, and it is the
/// hint that backward primitives are built from (those have keys of their own, `.backward`).
enum PrimitiveKey: Hashable, Sendable {
    case convolution(input: Shape, weight: Shape, hasBias: Bool, geometry: ConvolutionGeometry, propagation: Propagation)
    case batchNorm(input: Shape, epsilon: Float, training: Bool, propagation: Propagation)
    case eltwise(count: Int, algorithm: UInt32, alpha: Float, beta: Float, propagation: Propagation)
    case add(count: Int)
    case multiplyChannels(input: Shape)
    case globalAveragePool(input: Shape, propagation: Propagation)
    case linear(input: Shape, weight: Shape, hasBias: Bool, propagation: Propagation)
    case softmax(input: Shape, algorithm: UInt32, propagation: Propagation)
    case backward(BackwardPrimitiveKey)
}

/// Created primitives by key, and the lock that serializes their executions.
final class PrimitiveCache: @unchecked Sendable {
    private let lock = Mutex(())
    private var plans: [PrimitiveKey: AnyObject] = [:]
    private var created = 0

    /// Runs `body` holding the engine's lock, on the process-wide ``CPUEngine/threadCount``.
    /// Plans may only be read or made inside it.
    func serialized<Result>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            CPUEngine.applyThreadCount()
            return try body()
        }
    }

    /// The plan for `key`, made by `make` the first time. Call only inside ``serialized(_:)``.
    func plan<Plan: AnyObject>(for key: PrimitiveKey, make: () throws -> Plan) throws -> Plan {
        if let existing = plans[key] as? Plan { return existing }
        let plan = try make()
        plans[key] = plan
        created += 1
        return plan
    }

    var statistics: (created: Int, cached: Int) {
        (try? serialized { (created, plans.count) }) ?? (created, plans.count)
    }
}
