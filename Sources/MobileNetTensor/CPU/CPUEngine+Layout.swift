// Joining and cutting tensors along an axis. In row-major storage a tensor is `outer` rows of
// `extent(axis) · inner` contiguous values, so both are one block copy per row and operand.

extension CPUEngine {
    public func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        let layout = AxisLayout(tensors[0].shape, axis: axis)
        var shape = tensors[0].shape
        shape.dimensions[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        var output = Tensor(uninitializedShape: shape)
        let rowLength = shape[axis] * layout.inner
        output.withUnsafeMutableBufferPointer { target in
            var offset = 0
            for tensor in tensors {
                let block = tensor.shape[axis] * layout.inner
                let source = tensor.storage.pointer
                for row in 0..<layout.outer {
                    (target.baseAddress! + row * rowLength + offset).update(from: source + row * block, count: block)
                }
                offset += block
            }
        }
        return output
    }

    public func split(_ input: Tensor, axis: Int, sizes: [Int]) throws -> [Tensor] {
        let layout = AxisLayout(input.shape, axis: axis)
        let rowLength = input.shape[axis] * layout.inner
        let source = input.storage.pointer
        var offset = 0
        return sizes.map { size in
            var shape = input.shape
            shape.dimensions[axis] = size
            var piece = Tensor(uninitializedShape: shape)
            let block = size * layout.inner
            piece.withUnsafeMutableBufferPointer { target in
                for row in 0..<layout.outer {
                    (target.baseAddress! + row * block).update(from: source + row * rowLength + offset, count: block)
                }
            }
            offset += block
            return piece
        }
    }
}

/// A shape seen from one axis: the product of the dimensions before it and of those after it.
struct AxisLayout {
    var outer: Int
    var inner: Int

    init(_ shape: Shape, axis: Int) {
        outer = shape.prefix(axis).reduce(1, *)
        inner = shape.dropFirst(axis + 1).reduce(1, *)
    }
}
