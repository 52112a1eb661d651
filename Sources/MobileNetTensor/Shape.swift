/// The extent of each axis of a ``Tensor``, outermost first.
///
/// Activations are NHWC (`[batch, height, width, channels]`); convolution weights keep PyTorch's
/// OIHW order (`[outputChannels, inputChannels / groups, kernelHeight, kernelWidth]`).
public struct Shape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible, RandomAccessCollection {
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) {
        self.dimensions = dimensions
    }

    public init(arrayLiteral elements: Int...) {
        self.dimensions = elements
    }

    public var rank: Int { dimensions.count }

    /// The number of elements a tensor of this shape holds.
    ///
    /// - Precondition: no dimension is negative and the product fits in `Int`. Shapes that come
    ///   from outside are checked before a tensor is made of them: the checkpoint readers bound
    ///   every shape by the bytes of their file, and model inputs are bounded by
    ///   `ModelConfiguration`'s limits; ``checkedElementCount`` is the test for anything else.
    public var elementCount: Int {
        guard let count = checkedElementCount else {
            preconditionFailure("shape \(self) has a negative dimension or more elements than Int holds")
        }
        return count
    }

    /// The number of elements, or nil when a dimension is negative or the product overflows `Int`.
    public var checkedElementCount: Int? {
        var count = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    public var startIndex: Int { dimensions.startIndex }
    public var endIndex: Int { dimensions.endIndex }
    public subscript(position: Int) -> Int { dimensions[position] }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }
}
