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
    public var elementCount: Int { dimensions.reduce(1, *) }

    public var startIndex: Int { dimensions.startIndex }
    public var endIndex: Int { dimensions.endIndex }
    public subscript(position: Int) -> Int { dimensions[position] }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }
}
