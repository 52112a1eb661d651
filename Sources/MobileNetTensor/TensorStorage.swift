#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-byte aligned block of floats shared by tensors until one of them writes (copy-on-write).
///
/// The alignment lets oneDNN's AVX-512 kernels load whole cache lines, and lets the engine hand
/// these buffers to oneDNN directly (its `DNNL_MEMORY_ALLOCATE` macro does not import into Swift).
public final class TensorStorage: @unchecked Sendable {
    public static let alignment = 64

    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// What keeps borrowed memory alive; `nil` when this storage allocated `pointer` and frees it.
    private let owner: AnyObject?

    /// Allocates `count` floats; the contents are undefined until written.
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        var raw = StorageRecycler.shared.take(bytes: bytes)
        if raw == nil {
            let status = posix_memalign(&raw, Self.alignment, bytes)
            guard status == 0, raw != nil else {
                fatalError("out of memory allocating \(bytes) bytes for a tensor")
            }
        }
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owner = nil
    }

    /// Views `count` floats at `pointer` that `owner` keeps alive, without copying them; e.g. a
    /// tensor inside a memory-mapped safetensors file, whose mapping `owner` unmaps when released.
    ///
    /// The memory must stay valid and writable (a private mapping will do) for `owner`'s lifetime:
    /// tensors still write in place when they hold the only reference. It needs only `Float`
    /// alignment, not 64 bytes; a copy made by copy-on-write is aligned and owned as usual.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        precondition(count >= 0, "negative element count")
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: value, count: count)
    }

    func copy() -> TensorStorage {
        let result = TensorStorage(uninitializedCount: count)
        result.pointer.update(from: pointer, count: count)
        return result
    }

    deinit {
        if owner == nil {
            StorageRecycler.shared.give(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * MemoryLayout<Float>.stride)
        }
    }
}
