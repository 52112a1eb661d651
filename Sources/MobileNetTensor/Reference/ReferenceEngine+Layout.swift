// Joining and cutting along an axis, element by element: each output index decomposed into
// (outer, position along the axis, inner), the operand found by walking the extents.

extension ReferenceEngine {
    public func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        var shape = tensors[0].shape
        shape.dimensions[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let layout = AxisLayout(shape, axis: axis)
        return Tensor(shape: shape) { index in
            let inner = index % layout.inner
            var position = index / layout.inner % shape[axis]
            let outer = index / (layout.inner * shape[axis])
            for tensor in tensors {
                let extent = tensor.shape[axis]
                if position < extent {
                    return tensor.storage.pointer[(outer * extent + position) * layout.inner + inner]
                }
                position -= extent
            }
            preconditionFailure("concatenate: index \(index) past the operands")
        }
    }

    public func split(_ input: Tensor, axis: Int, sizes: [Int]) throws -> [Tensor] {
        let layout = AxisLayout(input.shape, axis: axis)
        let extent = input.shape[axis]
        var start = 0
        return sizes.map { size in
            var shape = input.shape
            shape.dimensions[axis] = size
            let first = start
            start += size
            return Tensor(shape: shape) { index in
                let inner = index % layout.inner
                let position = index / layout.inner % size
                let outer = index / (layout.inner * size)
                return input.storage.pointer[(outer * extent + first + position) * layout.inner + inner]
            }
        }
    }
}
