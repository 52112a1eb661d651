import CDNNL

/// A created primitive and its descriptor, kept for reuse (see ``CPUEngine``'s cache and the
/// inference plans).
final class DNNLPrimitive: @unchecked Sendable {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Creates a primitive from an operation descriptor (a `dnnl_*_desc_t` that one of the
    /// `DNNL` operation functions initialized). A backward primitive needs `hint`: its forward
    /// primitive, created for training.
    init<OperationDescriptor>(
        _ operation: String, describedBy operationDescriptor: inout OperationDescriptor,
        attributes: DNNL.Attributes? = nil, hint: DNNLPrimitive? = nil
    ) throws {
        var descriptor: dnnl_primitive_desc_t?
        try withExtendedLifetime(attributes) {
            try DNNL.check(
                withUnsafePointer(to: &operationDescriptor) {
                    dnnl_primitive_desc_create(&descriptor, $0, attributes?.attributes, DNNL.engine, hint?.descriptor)
                },
                operation + " primitive descriptor")
        }
        guard let descriptor else { throw TensorError.engineFailure(operation: operation, status: "no descriptor") }
        (self.descriptor, self.primitive) = try Self.create(operation, descriptor)
    }

    /// Creates a reorder (layout conversion) from one memory layout to another.
    init(reorderFrom source: dnnl_memory_desc_t, to target: dnnl_memory_desc_t, attributes: DNNL.Attributes? = nil) throws {
        var descriptor: dnnl_primitive_desc_t?
        var source = source, target = target
        try withExtendedLifetime(attributes) {
            try DNNL.check(
                dnnl_reorder_primitive_desc_create(&descriptor, &source, DNNL.engine, &target, DNNL.engine, attributes?.attributes),
                "reorder primitive descriptor")
        }
        guard let descriptor else { throw TensorError.engineFailure(operation: "reorder", status: "no descriptor") }
        (self.descriptor, self.primitive) = try Self.create("reorder", descriptor)
    }

    /// The primitive of a primitive descriptor, which it then owns (destroyed if creation fails).
    private static func create(
        _ operation: String, _ descriptor: dnnl_primitive_desc_t
    ) throws -> (dnnl_primitive_desc_t, dnnl_primitive_t) {
        var primitive: dnnl_primitive_t?
        let status = dnnl_primitive_create(&primitive, descriptor)
        guard status == dnnl_success, let primitive else {
            dnnl_primitive_desc_destroy(descriptor)
            throw TensorError.engineFailure(operation: operation, status: String(cString: dnnl_status2str(status)))
        }
        return (descriptor, primitive)
    }

    /// The layout the primitive chose for one of its arguments (e.g. `dnnl_query_weights_md`).
    func memoryDescriptor(_ query: dnnl_query_t, index: Int32 = 0) -> dnnl_memory_desc_t? {
        dnnl_primitive_desc_query_md(descriptor, query, index)?.pointee
    }

    /// The layout of a queried argument that every primitive of this kind has.
    func requiredMemoryDescriptor(_ query: dnnl_query_t, _ operation: String) throws -> dnnl_memory_desc_t {
        guard let layout = memoryDescriptor(query) else {
            throw TensorError.engineFailure(operation: operation, status: "no layout for query \(query.rawValue)")
        }
        return layout
    }

    /// Bytes of scratch space the primitive asks for (with a user-managed scratchpad).
    var scratchpad: (layout: dnnl_memory_desc_t, bytes: Int)? {
        memoryDescriptor(dnnl_query_scratchpad_md).map { ($0, DNNL.size(of: $0)) }
    }

    /// The name of the kernel oneDNN picked, e.g. `brgconv_1x1:avx512_core`.
    var implementationName: String {
        var name: UnsafePointer<CChar>?
        withUnsafeMutablePointer(to: &name) { pointer in
            _ = dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, pointer)
        }
        return name.map { String(cString: $0) } ?? "unknown"
    }

    /// Runs the primitive on the given buffers on the shared stream and waits for it to finish.
    func execute(_ operation: String, _ arguments: [DNNL.Argument]) throws {
        let memories = try arguments.map { try DNNLMemory($0.descriptor, $0.buffer) }
        // The memory objects must outlive the execution: an optimized build may otherwise free
        // them right after their last use in Swift, the argument list below.
        try withExtendedLifetime(memories) {
            try submit(operation, zip(arguments, memories).map { dnnl_exec_arg_t(arg: $0.role, memory: $1.memory) }, on: DNNL.stream)
            try DNNL.wait(DNNL.stream, operation)
        }
    }

    /// Submits the primitive with memory objects made beforehand (an inference plan's), without
    /// waiting: a plan submits all its steps and then waits once (``DNNL/wait(_:_:)``).
    func submit(_ operation: String, _ arguments: [dnnl_exec_arg_t], on stream: dnnl_stream_t) throws {
        try DNNL.check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), operation)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }
}
