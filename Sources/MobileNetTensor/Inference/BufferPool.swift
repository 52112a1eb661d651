/// Where a plan's value lives: in the caller's input batch, or in one of the plan's own buffers.
enum BufferID: Hashable {
    /// The caller's NHWC images, whose address is given at each run.
    case callerInput
    /// A buffer of the plan's ``BufferPool``.
    case pooled(Int)
}

/// The activation buffers of one plan, handed out and taken back as the plan is compiled, so
/// that values whose lives do not overlap share memory. Counting references lets a step write in
/// place into a buffer it reads for the last time (the residual sum, the channel scaling).
///
/// Compiling walks the graph once: a step takes a buffer for its output (``allocate(_:)``) before
/// the buffers of values it reads for the last time go back (``release(_:)``), so it never
/// writes over its own input. Running never allocates.
struct BufferPool {
    private(set) var buffers: [TensorStorage] = []
    private(set) var sizes: [Int] = []
    private var references: [Int] = []
    /// Returned buffers, smallest first, so the smallest one that fits is found first.
    private var free: [Int] = []

    /// Bytes held by all buffers.
    var bytes: Int { sizes.reduce(0, +) }

    /// A buffer of at least `bytes`, from the pool if one fits, else a new one.
    mutating func allocate(_ bytes: Int) -> BufferID {
        if let position = free.firstIndex(where: { sizes[$0] >= bytes }) {
            let buffer = free.remove(at: position)
            references[buffer] = 1
            return .pooled(buffer)
        }
        buffers.append(TensorStorage(uninitializedCount: (bytes + 3) / 4))
        sizes.append(bytes)
        references.append(1)
        return .pooled(buffers.count - 1)
    }

    /// One more value lives in `buffer` (a step writing in place).
    mutating func retain(_ buffer: BufferID) {
        if case let .pooled(index) = buffer { references[index] += 1 }
    }

    /// A value in `buffer` is read for the last time; the buffer is free when none is left.
    mutating func release(_ buffer: BufferID) {
        guard case let .pooled(index) = buffer else { return }
        references[index] -= 1
        if references[index] == 0 {
            let position = free.firstIndex { sizes[$0] > sizes[index] } ?? free.count
            free.insert(index, at: position)
        }
    }

    /// The start of a pooled buffer.
    func pointer(_ index: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(buffers[index].pointer)
    }
}
