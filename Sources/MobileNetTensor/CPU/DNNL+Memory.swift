import CDNNL

// Memory descriptors (a tensor's dimensions, element type and layout) and memory objects (a
// descriptor over a buffer), as the engine and the inference plans create them.

extension DType {
    /// oneDNN's name for the element type.
    var dnnl: dnnl_data_type_t {
        switch self {
        case .float32: dnnl_f32
        case .int8: dnnl_s8
        case .uint8: dnnl_u8
        case .int32: dnnl_s32
        }
    }
}

extension DNNL {
    /// A descriptor of `dimensions` (oneDNN's logical order: N, C, H, W for activations) with
    /// `tag` (`dnnl_format_tag_any` lets a primitive choose) and elements of `type`.
    static func memoryDescriptor(
        _ dimensions: [Int], _ tag: dnnl_format_tag_t, _ type: DType = .float32
    ) throws -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims = dimensions.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dims, type.dnnl, tag), "memory descriptor")
        return descriptor
    }

    /// An NHWC activation `[N, H, W, C]` as oneDNN sees it: dims `[N, C, H, W]`, tag `nhwc`.
    static func activationDescriptor(_ shape: Shape, _ type: DType = .float32) throws -> dnnl_memory_desc_t {
        try memoryDescriptor([shape[0], shape[3], shape[1], shape[2]], dnnl_nhwc, type)
    }

    /// Any tensor seen as a flat vector, for layout-free element-wise work.
    static func flatDescriptor(_ count: Int, _ type: DType = .float32) throws -> dnnl_memory_desc_t {
        try memoryDescriptor([count], dnnl_a, type)
    }

    /// Bytes a buffer for `descriptor` needs (blocked layouts pad their channels).
    static func size(of descriptor: dnnl_memory_desc_t) -> Int {
        withUnsafePointer(to: descriptor) { dnnl_memory_desc_get_size($0) }
    }

    /// `descriptor`'s layout holding `type` (a plain or blocked activation layout: strides count elements).
    static func withType(_ descriptor: dnnl_memory_desc_t, _ type: DType) -> dnnl_memory_desc_t {
        var retyped = descriptor
        retyped.data_type = type.dnnl
        return retyped
    }

    static func equal(_ lhs: dnnl_memory_desc_t, _ rhs: dnnl_memory_desc_t) -> Bool {
        withUnsafePointer(to: lhs) { l in withUnsafePointer(to: rhs) { r in dnnl_memory_desc_equal(l, r) != 0 } }
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

/// A oneDNN memory object: a descriptor over a buffer that someone else owns. A plan keeps one
/// per argument of its primitives and, at its edges, points them at the caller's buffers.
final class DNNLMemory {
    let memory: dnnl_memory_t
    let descriptor: dnnl_memory_desc_t

    /// A memory object over `buffer`, or over none yet (set one with ``setBuffer(_:)`` before use).
    init(_ descriptor: dnnl_memory_desc_t, _ buffer: UnsafeMutableRawPointer?) throws {
        var memory: dnnl_memory_t?
        var descriptor = descriptor
        // DNNL_MEMORY_NONE: a null handle, no allocation by oneDNN.
        try DNNL.check(dnnl_memory_create(&memory, &descriptor, DNNL.engine, buffer), "memory")
        guard let memory else { throw TensorError.engineFailure(operation: "memory", status: "no memory") }
        self.memory = memory
        self.descriptor = descriptor
    }

    func setBuffer(_ buffer: UnsafeMutableRawPointer) throws {
        try DNNL.check(dnnl_memory_set_data_handle(memory, buffer), "memory handle")
    }

    deinit {
        dnnl_memory_destroy(memory)
    }
}
