/// Where a tensor's elements sit in a flat storage, as PyTorch records it: a storage offset, a
/// size per axis and a stride per axis, all in elements.
///
/// Every number comes from the file, so ``validated(storageCount:file:key:)`` checks them with
/// overflow-checked arithmetic before anything is allocated: a header may claim 2^40 elements.
struct StridedLayout: Hashable, Sendable {
    var offset: Int
    var shape: [Int]
    var strides: [Int]

    /// What a layout needs from its storage once checked.
    struct Extent: Hashable, Sendable {
        /// The number of elements of the tensor.
        var elementCount: Int
        /// The number of storage elements from `offset` to the last element used, inclusive.
        var span: Int
    }

    /// Checks that the layout addresses only elements of a storage of `storageCount` elements.
    ///
    /// Views with overlapping elements (stride 0, as `expand` makes) are refused when they hold
    /// more elements than their storage: they never occur in state dictionaries, and copying one
    /// would turn a few stored bytes into an allocation of any size.
    func validated(storageCount: Int, file: String, key: String) throws -> Extent {
        func refuse(_ expected: String, _ found: String) -> CheckpointError {
            .invalidTensor(file: file, key: key, expected: expected, found: found)
        }
        guard shape.count == strides.count else {
            throw refuse("one stride per axis", "shape \(shape) with strides \(strides)")
        }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw refuse("non-negative sizes, strides and offset", "shape \(shape), strides \(strides), offset \(offset)")
        }
        var elementCount = 1
        for size in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: size)
            guard !overflow else { throw refuse("an element count that fits in 64 bits", "shape \(shape)") }
            elementCount = product
        }
        guard elementCount > 0 else { return Extent(elementCount: 0, span: 0) }
        var span = 1
        for (size, stride) in zip(shape, strides) {
            let (step, stepOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, sumOverflow) = span.addingReportingOverflow(step)
            guard !stepOverflow, !sumOverflow else {
                throw refuse("strides that fit in 64 bits", "shape \(shape) with strides \(strides)")
            }
            span = sum
        }
        let (end, endOverflow) = offset.addingReportingOverflow(span)
        guard !endOverflow, end <= storageCount else {
            throw refuse(
                "a storage of at least offset + span = \(offset) + \(span) elements for shape \(shape), strides \(strides)",
                "\(storageCount) element(s)")
        }
        guard elementCount <= storageCount else {
            throw refuse("at most as many elements as the storage holds (\(storageCount))",
                         "\(elementCount) elements in shape \(shape) with strides \(strides)")
        }
        return Extent(elementCount: elementCount, span: span)
    }

    /// Whether the elements lie in row-major order with no gaps, so that they can be copied at once.
    var isRowMajor: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            guard stride == expected else { return false }
            expected *= size
        }
        return true
    }

    /// Copies the elements into row-major order; `source` points at element `offset` of the storage.
    func gather(from source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, elementCount: Int) {
        guard elementCount > 0 else { return }
        guard let innerSize = shape.last, let innerStride = strides.last else {
            destination[0] = source[0]
            return
        }
        // An odometer over every axis but the innermost, which the inner loop walks by its stride.
        var index = [Int](repeating: 0, count: shape.count - 1)
        var base = 0
        var written = 0
        while written < elementCount {
            for inner in 0..<innerSize {
                destination[written + inner] = source[base + inner * innerStride]
            }
            written += innerSize
            var axis = index.count - 1
            while axis >= 0 {
                index[axis] += 1
                base += strides[axis]
                if index[axis] < shape[axis] { break }
                base -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
