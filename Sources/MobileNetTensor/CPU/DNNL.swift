import CDNNL

// The one place that calls oneDNN's C API (version 2.x). The 2.x to 3.x change rewrites every
// descriptor call, so everything oneDNN-specific stays in this file and in CPUEngine.swift.

enum DNNL {
    /// The CPU engine, and the stream every primitive runs on except the inference workers' (``Stream``).
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else {
            fatalError("oneDNN could not create its CPU engine: \(String(cString: dnnl_status2str(status)))")
        }
        return engine
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        guard status == dnnl_success, let stream else {
            fatalError("oneDNN could not create a CPU stream: \(String(cString: dnnl_status2str(status)))")
        }
        return stream
    }()

    /// A stream of its own, for work that runs beside the shared ``stream`` on another thread.
    final class Stream {
        let stream: dnnl_stream_t

        init() throws {
            var stream: dnnl_stream_t?
            try DNNL.check(dnnl_stream_create(&stream, DNNL.engine, dnnl_stream_default_flags.rawValue), "stream")
            guard let stream else { throw TensorError.engineFailure(operation: "stream", status: "no stream") }
            self.stream = stream
        }

        deinit {
            dnnl_stream_destroy(stream)
        }
    }

    static func check(_ status: dnnl_status_t, _ operation: String) throws {
        guard status == dnnl_success else {
            throw TensorError.engineFailure(operation: operation, status: String(cString: dnnl_status2str(status)))
        }
    }

    /// A descriptor of `dimensions` (oneDNN's logical order: N, C, H, W for activations) with `tag`.
    static func memoryDescriptor(_ dimensions: [Int], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims = dimensions.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dims, dnnl_f32, tag), "memory descriptor")
        return descriptor
    }

    /// An NHWC activation `[N, H, W, C]` as oneDNN sees it: dims `[N, C, H, W]`, tag `nhwc`.
    static func activationDescriptor(_ shape: Shape) throws -> dnnl_memory_desc_t {
        try memoryDescriptor([shape[0], shape[3], shape[1], shape[2]], dnnl_nhwc)
    }

    /// Any tensor seen as a flat vector, for layout-free element-wise work.
    static func flatDescriptor(_ count: Int) throws -> dnnl_memory_desc_t {
        try memoryDescriptor([count], dnnl_a)
    }

    static func size(of descriptor: dnnl_memory_desc_t) -> Int {
        withUnsafePointer(to: descriptor) { dnnl_memory_desc_get_size($0) }
    }

    static func equal(_ lhs: dnnl_memory_desc_t, _ rhs: dnnl_memory_desc_t) -> Bool {
        withUnsafePointer(to: lhs) { l in withUnsafePointer(to: rhs) { r in dnnl_memory_desc_equal(l, r) != 0 } }
    }

    /// Batch-norm flags: learned scale and shift, and the given running statistics unless
    /// `batchStatistics` (training mode, which computes the batch's own).
    static func batchNormalizationFlags(batchStatistics: Bool) -> UInt32 {
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        return batchStatistics ? flags : flags | dnnl_use_global_stats.rawValue
    }

    /// An activation as oneDNN eltwise algorithms `(algorithm, alpha, beta)`, applied in order.
    /// oneDNN 2.6 has no hard-sigmoid, so it runs as `x / 6 + 0.5` followed by a clip to [0, 1].
    static func eltwiseSteps(_ kind: Activation) -> [(dnnl_alg_kind_t, Float, Float)] {
        switch kind {
        case .identity: []
        case .relu: [(dnnl_eltwise_relu, 0, 0)]
        case .relu6: [(dnnl_eltwise_clip_v2, 0, 6)]
        case .hardSwish: [(dnnl_eltwise_hardswish, 0, 0)]
        case .hardSigmoid: [(dnnl_eltwise_linear, 1.0 / 6.0, 0.5), (dnnl_eltwise_clip_v2, 0, 1)]
        }
    }

    /// One argument of a primitive execution: its role (`DNNL_ARG_*`), layout and buffer.
    struct Argument {
        var role: Int32
        var descriptor: dnnl_memory_desc_t
        var buffer: UnsafeMutableRawPointer

        init(_ role: Int32, _ descriptor: dnnl_memory_desc_t, _ pointer: UnsafeMutablePointer<Float>) {
            self.role = role
            self.descriptor = descriptor
            self.buffer = UnsafeMutableRawPointer(pointer)
        }
    }
}

/// A created primitive and its descriptor, kept for reuse (see ``CPUEngine``'s cache).
final class DNNLPrimitive: @unchecked Sendable {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Creates a primitive from an operation descriptor (`dnnl_*_desc_t`) passed by pointer. A
    /// backward primitive needs `hint`: the descriptor of its forward primitive, created for training.
    init(
        _ operation: String, operationDescriptor: UnsafeRawPointer, attributes: dnnl_primitive_attr_t? = nil,
        hint: DNNLPrimitive? = nil
    ) throws {
        var descriptor: dnnl_primitive_desc_t?
        try DNNL.check(
            dnnl_primitive_desc_create(&descriptor, operationDescriptor, attributes, DNNL.engine, hint?.descriptor),
            operation + " primitive descriptor")
        guard let descriptor else { throw TensorError.engineFailure(operation: operation, status: "no descriptor") }
        var primitive: dnnl_primitive_t?
        let status = dnnl_primitive_create(&primitive, descriptor)
        guard status == dnnl_success, let primitive else {
            dnnl_primitive_desc_destroy(descriptor)
            throw TensorError.engineFailure(operation: operation, status: String(cString: dnnl_status2str(status)))
        }
        self.descriptor = descriptor
        self.primitive = primitive
    }

    /// Creates a reorder (layout conversion) from one memory layout to another.
    init(reorderFrom source: dnnl_memory_desc_t, to target: dnnl_memory_desc_t, attributes: dnnl_primitive_attr_t? = nil) throws {
        var descriptor: dnnl_primitive_desc_t?
        var source = source, target = target
        try DNNL.check(
            dnnl_reorder_primitive_desc_create(&descriptor, &source, DNNL.engine, &target, DNNL.engine, attributes),
            "reorder primitive descriptor")
        guard let descriptor else { throw TensorError.engineFailure(operation: "reorder", status: "no descriptor") }
        var primitive: dnnl_primitive_t?
        let status = dnnl_primitive_create(&primitive, descriptor)
        guard status == dnnl_success, let primitive else {
            dnnl_primitive_desc_destroy(descriptor)
            throw TensorError.engineFailure(operation: "reorder", status: String(cString: dnnl_status2str(status)))
        }
        self.descriptor = descriptor
        self.primitive = primitive
    }

    /// The layout the primitive chose for one of its arguments (e.g. `dnnl_query_weights_md`).
    func memoryDescriptor(_ query: dnnl_query_t, index: Int32 = 0) -> dnnl_memory_desc_t? {
        dnnl_primitive_desc_query_md(descriptor, query, index)?.pointee
    }

    /// The name of the kernel oneDNN picked, e.g. `brgconv_1x1:avx512_core`.
    var implementationName: String {
        var name: UnsafePointer<CChar>?
        withUnsafeMutablePointer(to: &name) { pointer in
            _ = dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, pointer)
        }
        return name.map { String(cString: $0) } ?? "unknown"
    }

    /// Runs the primitive on the given buffers and waits for it to finish.
    func execute(_ operation: String, _ arguments: [DNNL.Argument]) throws {
        var memories: [dnnl_memory_t] = []
        memories.reserveCapacity(arguments.count)
        defer { for memory in memories { dnnl_memory_destroy(memory) } }
        var executionArguments: [dnnl_exec_arg_t] = []
        for argument in arguments {
            var memory: dnnl_memory_t?
            var descriptor = argument.descriptor
            try DNNL.check(dnnl_memory_create(&memory, &descriptor, DNNL.engine, argument.buffer), operation + " memory")
            guard let memory else { throw TensorError.engineFailure(operation: operation, status: "no memory") }
            memories.append(memory)
            executionArguments.append(dnnl_exec_arg_t(arg: argument.role, memory: memory))
        }
        try DNNL.check(
            dnnl_primitive_execute(primitive, DNNL.stream, Int32(executionArguments.count), executionArguments),
            operation)
        try DNNL.check(dnnl_stream_wait(DNNL.stream), operation + " wait")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }
}
