import CDNNL
import Dispatch
import Synchronization

/// An ``InferenceGraph`` compiled into fused oneDNN primitives, once per input shape.
///
/// What makes it fast is what it avoids moving: every convolution runs with its bias, residual add
/// (a `sum` post-op writing into the shortcut's buffer) and activations fused; activations stay
/// in the blocked layout oneDNN picks (`format_tag_any`, usually `nChw16c`) from the first layer
/// to the last, with reorders only at the edges; weights are reordered once at compile time; and
/// buffers are allocated once, reused by liveness, so a steady-state run allocates nothing but
/// its output.
///
/// A batch of several images can be spread over the threads in two ways (``BatchParallelism``):
/// every primitive splitting its work over all threads, or each thread running whole images on
/// its own. The second is what a batch wants: a MobileNet has about seventy primitives, and
/// threads that share each of them meet at seventy barriers per image, each waiting for the
/// slowest; threads with images of their own never wait, and one image's activations stay in
/// one core's cache.
public final class InferenceSession: @unchecked Sendable {
    /// How a run spreads a batch over oneDNN's threads (``CPUEngine/threadCount``).
    public enum BatchParallelism: Hashable, Sendable {
        /// Each thread takes the next image of the batch (a few at small resolutions, see
        /// ``pixelsPerTask``) and runs the whole network on it alone, with primitives compiled
        /// for one thread; used when the batch has at least two images and there are at least
        /// two threads.
        case acrossImages
        /// The whole batch goes through each primitive in turn, every primitive using all threads.
        case withinPrimitives
    }

    public let graph: InferenceGraph
    /// How ``run(_:)`` spreads a batch; `.acrossImages` unless set.
    public var batchParallelism: BatchParallelism {
        get { lock.withLock { _ in parallelism } }
        set { lock.withLock { _ in parallelism = newValue } }
    }

    private let lock = Mutex(())
    private var parallelism = BatchParallelism.acrossImages
    private var plans: [Shape: InferencePlan] = [:]
    /// Weights in the layouts the plans chose, shared between plans.
    private let constants = InferenceConstants()
    /// One single-thread plan (and stream) per worker thread, by the shape of a worker's task.
    private var workerPlans: [Shape: [(plan: InferencePlan, stream: DNNL.Stream)]] = [:]

    public init(graph: InferenceGraph) {
        self.graph = graph
    }

    /// Runs the graph on an NHWC batch; compiles on the first call with a new shape. Uses the
    /// process-wide ``CPUEngine/threadCount``, whichever thread calls.
    public func run(_ input: Tensor) throws -> Tensor {
        try serialized {
            let workers = min(input.shape.rank == 4 ? input.shape[0] : 1, CPUEngine.threadCount)
            if parallelism == .acrossImages, workers > 1 {
                return try runAcrossImages(input, workers: workers)
            }
            return try plan(for: input.shape).run(input)
        }
    }

    /// The oneDNN kernel of each primitive for this input shape, e.g. `jit:avx512_core`, in order.
    public func implementations(for inputShape: Shape) throws -> [String] {
        try serialized {
            try plan(for: inputShape).implementations
        }
    }

    /// Bytes of activation buffers the plan for `inputShape` holds.
    public func activationBytes(for inputShape: Shape) throws -> Int {
        try serialized {
            try plan(for: inputShape).activationBytes
        }
    }

    /// Bytes of weights and biases the session's plans hold, in their chosen layouts (each layout
    /// of a tensor once, however many plans use it).
    public var weightBytes: Int {
        lock.withLock { _ in constants.bytes }
    }

    /// Runs `body` holding the session's lock, with the calling thread on the process-wide
    /// ``CPUEngine/threadCount`` (plans are created and run with it).
    private func serialized<Result>(_ body: () throws -> Result) throws -> Result {
        try lock.withLock { _ in
            CPUEngine.applyThreadCount()
            return try body()
        }
    }

    private func plan(for shape: Shape) throws -> InferencePlan {
        if let plan = plans[shape] { return plan }
        let plan = try InferencePlan(graph: graph, inputShape: shape, constants: constants)
        plans[shape] = plan
        return plan
    }

    /// About as many pixels as a worker's task should hold: one image at ImageNet sizes, a few
    /// small ones together (at 32x32 one image is too little work for seventy primitive calls).
    static let pixelsPerTask = 112 * 112

    /// Images per worker task for a batch of `batch` images of `height` x `width`.
    static func imagesPerTask(batch: Int, workers: Int, height: Int, width: Int) -> Int {
        max(1, min(batch / workers, pixelsPerTask / max(1, height * width)))
    }

    /// `workers` single-thread plans for `shape`, compiled on first use.
    private func workerPlans(for shape: Shape, workers: Int) throws -> [(plan: InferencePlan, stream: DNNL.Stream)] {
        var compiled = workerPlans[shape] ?? []
        if compiled.count < workers {
            // oneDNN splits a primitive's work by the thread count it was created with, so these
            // are created, like they will run, with one thread.
            CPUEngine.applyThreadCount(1)
            defer { CPUEngine.applyThreadCount() }
            while compiled.count < workers {
                compiled.append((try InferencePlan(graph: graph, inputShape: shape, constants: constants), try DNNL.Stream()))
            }
            workerPlans[shape] = compiled
        }
        return compiled
    }

    /// `workers` threads each take the next few images and run them through plans of their own.
    private func runAcrossImages(_ input: Tensor, workers: Int) throws -> Tensor {
        let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let perTask = Self.imagesPerTask(batch: batch, workers: workers, height: height, width: width)
        // Plans by images per task: `perTask`, and the smaller last task when it does not divide the batch.
        var plansBySize: [Int: [(plan: InferencePlan, stream: DNNL.Stream)]] = [:]
        for size in Set([perTask, batch % perTask]) where size > 0 {
            plansBySize[size] = try workerPlans(for: [size, height, width, channels], workers: workers)
        }
        let taskOutput = plansBySize[perTask]![0].plan.outputShape
        let outputRow = taskOutput.elementCount / perTask
        let output = Tensor(uninitializedShape: Shape([batch] + taskOutput.dimensions.dropFirst()))
        let inputRow = height * width * channels
        nonisolated(unsafe) let source = UnsafePointer(input.storage.pointer)
        nonisolated(unsafe) let destination = output.storage.pointer
        nonisolated(unsafe) let plans = plansBySize
        let tasks = (batch + perTask - 1) / perTask
        let next = Atomic(0)
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // A worker's primitives run on its own thread alone; the thread's count is put back
            // for whatever the thread (one of Dispatch's, or the caller's) runs next.
            let threads = CPUEngine.callingThreadCount
            CPUEngine.applyThreadCount(1)
            defer { CPUEngine.applyThreadCount(threads) }
            while true {
                let task = next.add(1, ordering: .relaxed).oldValue
                guard task < tasks else { return }
                let first = task * perTask
                let (plan, stream) = plans[min(perTask, batch - first)]![worker]
                do {
                    try plan.run(input: source + first * inputRow, output: destination + first * outputRow, on: stream.stream)
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return output
    }
}

/// Weights and biases in the layouts plans chose, shared by all the plans of a session that chose
/// the same layout (the worker plans of ``InferenceSession/BatchParallelism/acrossImages`` all
/// do), so that each is reordered and held once.
final class InferenceConstants {
    /// By the graph tensor's storage (the session's graph keeps it alive): each layout made of it.
    private var made: [ObjectIdentifier: [(layout: dnnl_memory_desc_t, storage: TensorStorage)]] = [:]

    var bytes: Int {
        made.values.joined().reduce(0) { $0 + DNNL.size(of: $1.layout) }
    }

    /// `tensor` (laid out as `userLayout`) in `layout`, made on first request.
    func storage(for tensor: Tensor, in layout: dnnl_memory_desc_t, userLayout: dnnl_memory_desc_t) throws -> TensorStorage {
        let key = ObjectIdentifier(tensor.storage)
        if let found = made[key]?.first(where: { DNNL.equal($0.layout, layout) }) { return found.storage }
        let storage = TensorStorage(uninitializedCount: (DNNL.size(of: layout) + 3) / 4)
        if DNNL.equal(layout, userLayout) {
            storage.pointer.update(from: tensor.storage.pointer, count: tensor.elementCount)
        } else {
            let reorder = try DNNLPrimitive(reorderFrom: userLayout, to: layout)
            try reorder.execute("weight reorder", [
                .init(DNNL_ARG_FROM, userLayout, tensor.storage.pointer),
                .init(DNNL_ARG_TO, layout, storage.pointer),
            ])
        }
        made[key, default: []].append((layout, storage))
        return storage
    }
}

/// A oneDNN memory object over a buffer the plan owns (or, for the edges, the caller's).
final class DNNLMemory {
    let memory: dnnl_memory_t
    let descriptor: dnnl_memory_desc_t

    init(_ descriptor: dnnl_memory_desc_t, _ buffer: UnsafeMutableRawPointer) throws {
        var memory: dnnl_memory_t?
        var descriptor = descriptor
        try DNNL.check(dnnl_memory_create(&memory, &descriptor, DNNL.engine, buffer), "inference memory")
        guard let memory else { throw TensorError.engineFailure(operation: "inference memory", status: "no memory") }
        self.memory = memory
        self.descriptor = descriptor
    }

    func setBuffer(_ buffer: UnsafeMutableRawPointer) throws {
        try DNNL.check(dnnl_memory_set_data_handle(memory, buffer), "inference memory handle")
    }

    deinit {
        dnnl_memory_destroy(memory)
    }
}

/// The primitives, buffers and argument lists of one graph at one input shape.
final class InferencePlan {
    private struct Execution {
        let primitive: DNNLPrimitive
        var arguments: [dnnl_exec_arg_t]
    }

    /// Where a value lives: its layout and the buffer that holds it.
    private struct Placement {
        var descriptor: dnnl_memory_desc_t
        var buffer: Int
        /// Logical oneDNN dims: `[N, C, H, W]` or `[N, C]`.
        var dimensions: [Int]
    }

    private var executions: [Execution] = []
    private var memories: [DNNLMemory] = []
    /// Weights and biases in the layouts their primitives chose (held by the session, shared with
    /// its other plans), and the activation buffers.
    private let sharedConstants: InferenceConstants
    private var buffers: [TensorStorage?] = []
    private var bufferSizes: [Int] = []
    private var references: [Int] = []
    private var freeBuffers: [Int] = []
    private let inputMemory: DNNLMemory
    private var outputMemory: DNNLMemory!
    private(set) var outputShape: Shape = []
    /// The scratch space primitives ask for, one buffer the plan owns for all of them (oneDNN's
    /// own is shared between threads).
    private var scratchpad: TensorStorage?
    private(set) var implementations: [String] = []

    init(graph: InferenceGraph, inputShape: Shape, constants sharedConstants: InferenceConstants) throws {
        self.sharedConstants = sharedConstants
        guard inputShape.rank == 4 else {
            throw TensorError.shapeMismatch(operation: "inference input", expected: "rank 4 (NHWC)", actual: inputShape)
        }
        let lastUses = graph.lastUses
        var placements: [Placement?] = Array(repeating: nil, count: graph.steps.count)
        // The caller's NHWC batch; its handle is set on every run.
        let inputDimensions = [inputShape[0], inputShape[3], inputShape[1], inputShape[2]]
        inputMemory = try DNNLMemory(try DNNL.memoryDescriptor(inputDimensions, dnnl_nhwc), UnsafeMutableRawPointer(bitPattern: 64)!)
        memories.append(inputMemory)

        for (index, step) in graph.steps.enumerated() {
            defer {
                // Buffers of values read for the last time here return to the pool, after this
                // step's own output buffer was taken (it must not overwrite what it reads).
                for value in step.inputs where lastUses[value.index] == index {
                    release(placements[value.index]!.buffer)
                }
            }
            switch step {
            case let .input(channels):
                guard inputShape[3] == channels else {
                    throw TensorError.shapeMismatch(operation: "inference input", expected: "\(channels) channels last", actual: inputShape)
                }
                placements[index] = Placement(descriptor: inputMemory.descriptor, buffer: -1, dimensions: inputDimensions)
            case let .convolution(x, weight, bias, geometry, post):
                placements[index] = try compileConvolution(
                    source: placements[x.index]!, weight: weight, bias: bias, geometry: geometry, post: post,
                    placements: placements, lastUses: lastUses, step: index)
            case let .globalAveragePool(x):
                placements[index] = try compilePooling(source: placements[x.index]!)
            case let .multiplyChannels(x, scale):
                placements[index] = try compileMultiply(
                    source: placements[x.index]!, scale: placements[scale.index]!, inPlace: lastUses[x.index] == index)
            case let .linear(x, weight, bias, post):
                placements[index] = try compileLinear(source: placements[x.index]!, weight: weight, bias: bias, post: post)
            }
        }
        try compileOutput(placements[graph.output.index]!)
        try attachScratchpad()
    }

    /// Gives every primitive that needs scratch space the plan's scratchpad buffer, sized for the largest.
    private func attachScratchpad() throws {
        let needs = executions.map { $0.primitive.memoryDescriptor(dnnl_query_scratchpad_md).map { ($0, DNNL.size(of: $0)) } }
        let bytes = needs.map { $0?.1 ?? 0 }.max() ?? 0
        guard bytes > 0 else { return }
        let storage = TensorStorage(uninitializedCount: (bytes + 3) / 4)
        scratchpad = storage
        for (index, need) in needs.enumerated() {
            guard let (descriptor, size) = need, size > 0 else { continue }
            let memory = try DNNLMemory(descriptor, UnsafeMutableRawPointer(storage.pointer))
            memories.append(memory)
            executions[index].arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory.memory))
        }
    }

    var activationBytes: Int { bufferSizes.reduce(0, +) }

    func run(_ input: Tensor) throws -> Tensor {
        let output = Tensor(uninitializedShape: outputShape)
        try run(input: input.storage.pointer, output: output.storage.pointer, on: DNNL.stream)
        return output
    }

    /// Runs the plan from the NHWC batch at `input` into `output` (``outputShape``).
    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, on stream: dnnl_stream_t) throws {
        try inputMemory.setBuffer(UnsafeMutableRawPointer(mutating: input))
        try outputMemory.setBuffer(UnsafeMutableRawPointer(output))
        for execution in executions {
            try DNNL.check(
                dnnl_primitive_execute(execution.primitive.primitive, stream, Int32(execution.arguments.count), execution.arguments),
                "inference step")
        }
        try DNNL.check(dnnl_stream_wait(stream), "inference wait")
    }

    // MARK: Buffers

    /// A buffer of at least `bytes`, from the pool if one fits.
    private func allocate(_ bytes: Int) -> Int {
        if let position = freeBuffers.firstIndex(where: { bufferSizes[$0] >= bytes }) {
            let buffer = freeBuffers.remove(at: position)
            references[buffer] = 1
            return buffer
        }
        buffers.append(TensorStorage(uninitializedCount: (bytes + 3) / 4))
        bufferSizes.append(bytes)
        references.append(1)
        return buffers.count - 1
    }

    private func retain(_ buffer: Int) {
        if buffer >= 0 { references[buffer] += 1 }
    }

    private func release(_ buffer: Int) {
        guard buffer >= 0 else { return }
        references[buffer] -= 1
        if references[buffer] == 0 {
            // Keep the pool sorted by size so the smallest fitting buffer is found first.
            let position = freeBuffers.firstIndex { bufferSizes[$0] > bufferSizes[buffer] } ?? freeBuffers.count
            freeBuffers.insert(buffer, at: position)
        }
    }

    private func pointer(_ buffer: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(buffers[buffer]!.pointer)
    }

    /// A memory object for `descriptor` over `buffer` (-1: the caller's input).
    private func memory(_ descriptor: dnnl_memory_desc_t, buffer: Int) throws -> dnnl_memory_t {
        if buffer < 0 { return inputMemory.memory }
        let memory = try DNNLMemory(descriptor, pointer(buffer))
        memories.append(memory)
        return memory.memory
    }

    private func constant(_ descriptor: dnnl_memory_desc_t, from tensor: Tensor, userLayout: dnnl_memory_desc_t) throws -> dnnl_memory_t {
        let storage = try sharedConstants.storage(for: tensor, in: descriptor, userLayout: userLayout)
        let memory = try DNNLMemory(descriptor, UnsafeMutableRawPointer(storage.pointer))
        memories.append(memory)
        return memory.memory
    }

    private func append(_ primitive: DNNLPrimitive, _ arguments: [(Int32, dnnl_memory_t)]) {
        executions.append(Execution(primitive: primitive, arguments: arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }))
        implementations.append(primitive.implementationName)
    }

    /// Copies `source` into a fresh buffer laid out as `layout` (or returns it if already so).
    private func converted(_ source: Placement, to layout: dnnl_memory_desc_t) throws -> Placement {
        if DNNL.equal(source.descriptor, layout) { return source }
        let target = Placement(descriptor: layout, buffer: allocate(DNNL.size(of: layout)), dimensions: source.dimensions)
        try appendReorder(from: source, to: target)
        return target
    }

    private func appendReorder(from source: Placement, to target: Placement) throws {
        let reorder = try Attributes().make { try DNNLPrimitive(reorderFrom: source.descriptor, to: target.descriptor, attributes: $0) }
        append(reorder, [
            (DNNL_ARG_FROM, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_TO, try memory(target.descriptor, buffer: target.buffer)),
        ])
    }

    // MARK: Steps

    /// Attributes of one of the plan's primitives: `post` fused at its end, and scratch space
    /// passed by the plan (``attachScratchpad()``) rather than taken from oneDNN's shared buffer.
    private final class Attributes {
        let attributes: dnnl_primitive_attr_t

        init(post: [InferenceGraph.PostOperation] = []) throws {
            var attributes: dnnl_primitive_attr_t?
            try DNNL.check(dnnl_primitive_attr_create(&attributes), "inference attributes")
            guard let attributes else { throw TensorError.engineFailure(operation: "inference attributes", status: "none") }
            self.attributes = attributes
            try DNNL.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
            guard !post.isEmpty else { return }
            var operations: dnnl_post_ops_t?
            try DNNL.check(dnnl_post_ops_create(&operations), "post-ops")
            defer { dnnl_post_ops_destroy(operations) }
            for operation in post {
                switch operation {
                case .add:
                    try DNNL.check(dnnl_post_ops_append_sum(operations, 1), "sum post-op")
                case let .activation(kind):
                    for (algorithm, alpha, beta) in DNNL.eltwiseSteps(kind) {
                        try DNNL.check(dnnl_post_ops_append_eltwise(operations, 1, algorithm, alpha, beta), "eltwise post-op")
                    }
                }
            }
            try DNNL.check(dnnl_primitive_attr_set_post_ops(attributes, operations), "post-op attributes")
        }

        /// Makes a primitive with these attributes, which live at least until it is made.
        func make(_ body: (dnnl_primitive_attr_t) throws -> DNNLPrimitive) rethrows -> DNNLPrimitive {
            try withExtendedLifetime(self) { try body(attributes) }
        }

        deinit {
            dnnl_primitive_attr_destroy(attributes)
        }
    }

    private func compileConvolution(
        source: Placement, weight: Tensor, bias: Tensor, geometry: ConvolutionGeometry, post: [InferenceGraph.PostOperation],
        placements: [Placement?], lastUses: [Int], step: Int
    ) throws -> Placement {
        let (outputChannels, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let (batch, height, width) = (source.dimensions[0], source.dimensions[2], source.dimensions[3])
        let outputDimensions = [
            batch, outputChannels,
            geometry.outputExtent(input: height, kernel: kernelHeight),
            geometry.outputExtent(input: width, kernel: kernelWidth),
        ]
        let groups = geometry.groups
        let weightDimensions = groups == 1
            ? weight.shape.dimensions
            : [groups, outputChannels / groups, weight.shape[1], kernelHeight, kernelWidth]
        let userWeights = try DNNL.memoryDescriptor(weightDimensions, groups == 1 ? dnnl_oihw : dnnl_goihw)
        let biasLayout = try DNNL.memoryDescriptor([outputChannels], dnnl_a)
        let attributes = try Attributes(post: post)

        func make(sourceLayout: dnnl_memory_desc_t) throws -> DNNLPrimitive {
            var (sourceLayout, weights, biases) = (sourceLayout, try DNNL.memoryDescriptor(weightDimensions, dnnl_format_tag_any), biasLayout)
            var destination = try DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any)
            var descriptor = dnnl_convolution_desc_t()
            let strides = [Int64(geometry.stride), Int64(geometry.stride)]
            let dilations = [Int64(geometry.dilation - 1), Int64(geometry.dilation - 1)]
            let padding = [Int64(geometry.padding), Int64(geometry.padding)]
            try DNNL.check(
                dnnl_dilated_convolution_forward_desc_init(
                    &descriptor, dnnl_forward_inference, dnnl_convolution_direct, &sourceLayout, &weights, &biases,
                    &destination, strides, dilations, padding, padding),
                "inference conv descriptor")
            return try attributes.make { attributes in
                try withUnsafePointer(to: &descriptor) {
                    try DNNLPrimitive("inference conv", operationDescriptor: UnsafeRawPointer($0), attributes: attributes)
                }
            }
        }
        // Keep the producer's layout when a JIT kernel takes it. For the caller's NHWC images
        // (the first layer, 3 channels) and wherever no JIT kernel takes the producer's layout,
        // let oneDNN choose and reorder.
        var primitive = source.buffer < 0 ? nil : try? make(sourceLayout: source.descriptor)
        if primitive == nil || primitive!.implementationName.hasPrefix("ref") {
            let anyLayout = try DNNL.memoryDescriptor(source.dimensions, dnnl_format_tag_any)
            primitive = try make(sourceLayout: anyLayout)
        }
        let convolution = primitive!
        let input = try converted(source, to: convolution.memoryDescriptor(dnnl_query_src_md)!)
        let outputLayout = convolution.memoryDescriptor(dnnl_query_dst_md)!

        var output: Placement
        if let residual = post.compactMap({ if case let .add(value) = $0 { value } else { nil } }).first {
            // The sum post-op adds into whatever the output buffer holds: start it as the shortcut.
            let shortcut = placements[residual.index]!
            if DNNL.equal(shortcut.descriptor, outputLayout), lastUses[residual.index] == step, shortcut.buffer >= 0 {
                retain(shortcut.buffer)
                output = Placement(descriptor: outputLayout, buffer: shortcut.buffer, dimensions: outputDimensions)
            } else {
                output = Placement(descriptor: outputLayout, buffer: allocate(DNNL.size(of: outputLayout)), dimensions: outputDimensions)
                try appendReorder(from: shortcut, to: output)
            }
        } else {
            output = Placement(descriptor: outputLayout, buffer: allocate(DNNL.size(of: outputLayout)), dimensions: outputDimensions)
        }
        let weightsLayout = convolution.memoryDescriptor(dnnl_query_weights_md)!
        append(convolution, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(weightsLayout, from: weight, userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: bias, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        if input.buffer != source.buffer { release(input.buffer) }
        return output
    }

    private func compilePooling(source: Placement) throws -> Placement {
        let (batch, channels, height, width) = (source.dimensions[0], source.dimensions[1], source.dimensions[2], source.dimensions[3])
        let outputDimensions = [batch, channels, 1, 1]
        var sourceLayout = source.descriptor
        var destination = try DNNL.memoryDescriptor(outputDimensions, dnnl_format_tag_any)
        var descriptor = dnnl_pooling_v2_desc_t()
        try DNNL.check(
            dnnl_pooling_v2_forward_desc_init(
                &descriptor, dnnl_forward_inference, dnnl_pooling_avg_exclude_padding, &sourceLayout, &destination,
                [1, 1], [Int64(height), Int64(width)], [0, 0], [0, 0], [0, 0]),
            "inference pooling descriptor")
        let pooling = try Attributes().make { attributes in
            try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("inference pooling", operationDescriptor: UnsafeRawPointer($0), attributes: attributes)
            }
        }
        let layout = pooling.memoryDescriptor(dnnl_query_dst_md)!
        let output = Placement(descriptor: layout, buffer: allocate(DNNL.size(of: layout)), dimensions: outputDimensions)
        append(pooling, [
            (DNNL_ARG_SRC, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        return output
    }

    private func compileMultiply(source: Placement, scale: Placement, inPlace: Bool) throws -> Placement {
        var (lhs, rhs, destination) = (source.descriptor, scale.descriptor, source.descriptor)
        var descriptor = dnnl_binary_desc_t()
        try DNNL.check(dnnl_binary_desc_init(&descriptor, dnnl_binary_mul, &lhs, &rhs, &destination), "inference multiply descriptor")
        let multiply = try Attributes().make { attributes in
            try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("inference multiply", operationDescriptor: UnsafeRawPointer($0), attributes: attributes)
            }
        }
        var output = source
        if inPlace, source.buffer >= 0 {
            retain(source.buffer)
        } else {
            output.buffer = allocate(DNNL.size(of: source.descriptor))
        }
        append(multiply, [
            (DNNL_ARG_SRC_0, try memory(source.descriptor, buffer: source.buffer)),
            (DNNL_ARG_SRC_1, try memory(scale.descriptor, buffer: scale.buffer)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        return output
    }

    private func compileLinear(source: Placement, weight: Tensor, bias: Tensor, post: [InferenceGraph.PostOperation]) throws -> Placement {
        let outputs = weight.shape[0]
        let batch = source.dimensions[0]
        // A pooled `[N, C, 1, 1]` value feeds the inner product directly, with 4-D weights.
        let spatial = Array(source.dimensions.dropFirst(2))
        let weightDimensions = [outputs, source.dimensions[1]] + spatial
        let userWeights = try DNNL.memoryDescriptor(weightDimensions, spatial.isEmpty ? dnnl_ab : dnnl_abcd)
        let biasLayout = try DNNL.memoryDescriptor([outputs], dnnl_a)
        var sourceLayout = source.descriptor
        var weights = try DNNL.memoryDescriptor(weightDimensions, dnnl_format_tag_any)
        var biases = biasLayout
        var destination = try DNNL.memoryDescriptor([batch, outputs], dnnl_format_tag_any)
        var descriptor = dnnl_inner_product_desc_t()
        try DNNL.check(
            dnnl_inner_product_forward_desc_init(&descriptor, dnnl_forward_inference, &sourceLayout, &weights, &biases, &destination),
            "inference linear descriptor")
        let attributes = try Attributes(post: post)
        let product = try attributes.make { attributes in
            try withUnsafePointer(to: &descriptor) {
                try DNNLPrimitive("inference linear", operationDescriptor: UnsafeRawPointer($0), attributes: attributes)
            }
        }
        let input = try converted(source, to: product.memoryDescriptor(dnnl_query_src_md)!)
        let layout = product.memoryDescriptor(dnnl_query_dst_md)!
        let output = Placement(descriptor: layout, buffer: allocate(DNNL.size(of: layout)), dimensions: [batch, outputs])
        append(product, [
            (DNNL_ARG_SRC, try memory(input.descriptor, buffer: input.buffer)),
            (DNNL_ARG_WEIGHTS, try constant(product.memoryDescriptor(dnnl_query_weights_md)!, from: weight, userLayout: userWeights)),
            (DNNL_ARG_BIAS, try constant(biasLayout, from: bias, userLayout: biasLayout)),
            (DNNL_ARG_DST, try memory(output.descriptor, buffer: output.buffer)),
        ])
        if input.buffer != source.buffer { release(input.buffer) }
        return output
    }

    /// The final value, reordered into the caller's plain tensor (`[N, O]` or NHWC).
    private func compileOutput(_ value: Placement) throws {
        let plain: dnnl_memory_desc_t
        if value.dimensions.count == 2 {
            plain = try DNNL.memoryDescriptor(value.dimensions, dnnl_ab)
            outputShape = Shape(value.dimensions)
        } else {
            plain = try DNNL.memoryDescriptor(value.dimensions, dnnl_nhwc)
            outputShape = [value.dimensions[0], value.dimensions[2], value.dimensions[3], value.dimensions[1]]
        }
        outputMemory = try DNNLMemory(plain, UnsafeMutableRawPointer(bitPattern: 64)!)
        memories.append(outputMemory)
        let reorder = try Attributes().make { try DNNLPrimitive(reorderFrom: value.descriptor, to: plain, attributes: $0) }
        append(reorder, [
            (DNNL_ARG_FROM, try memory(value.descriptor, buffer: value.buffer)),
            (DNNL_ARG_TO, outputMemory.memory),
        ])
    }
}
