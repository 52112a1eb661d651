#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An n-dimensional array of 32-bit floats with value semantics.
///
/// Copies share one ``TensorStorage`` until one of them is mutated, which then copies
/// (copy-on-write). Activations are laid out NHWC, channels last.
public struct Tensor: Sendable {
    public private(set) var shape: Shape
    public private(set) var storage: TensorStorage
    /// Set while this tensor is a value on a ``GradientTape`` (nil otherwise, and always outside
    /// training): which recorded value it is.
    var tapeNode: TapeNode?

    public var dtype: DType { .float32 }
    public var elementCount: Int { shape.elementCount }
    public var rank: Int { shape.rank }

    /// A tensor whose contents are undefined until written; for engines that overwrite every element.
    public init(uninitializedShape shape: Shape) {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: shape.elementCount)
    }

    public init(repeating value: Float, shape: Shape) {
        self.shape = shape
        self.storage = TensorStorage(repeating: value, count: shape.elementCount)
    }

    public static func zeros(_ shape: Shape) -> Tensor {
        Tensor(repeating: 0, shape: shape)
    }

    /// Wraps `values`, in row-major order, as a tensor of `shape`.
    public init(shape: Shape, values: [Float]) throws {
        guard values.count == shape.elementCount else {
            throw TensorError.elementCountMismatch(shape: shape, expected: shape.elementCount, actual: values.count)
        }
        self.init(uninitializedShape: shape)
        values.withUnsafeBufferPointer { source in
            storage.pointer.update(from: source.baseAddress!, count: values.count)
        }
    }

    /// Views `storage`, in row-major order, as a tensor of `shape`, without copying; for readers
    /// that bring their own memory (``TensorStorage/init(borrowing:count:owner:)``).
    public init(shape: Shape, storage: TensorStorage) throws {
        guard storage.count == shape.elementCount else {
            throw TensorError.elementCountMismatch(shape: shape, expected: shape.elementCount, actual: storage.count)
        }
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose element at flat (row-major) index `i` is `value(i)`.
    public init(shape: Shape, generating value: (Int) throws -> Float) rethrows {
        self.init(uninitializedShape: shape)
        for index in 0..<shape.elementCount {
            storage.pointer[index] = try value(index)
        }
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: elementCount))
    }

    public func withUnsafeBufferPointer<Result>(_ body: (UnsafeBufferPointer<Float>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: storage.pointer, count: elementCount))
    }

    /// Gives write access to the elements, copying them first if another tensor shares them.
    public mutating func withUnsafeMutableBufferPointer<Result>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> Result
    ) rethrows -> Result {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        // Written elements are no longer the value a tape recorded.
        tapeNode = nil
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: elementCount))
    }

    /// The same elements viewed with another shape of equal element count; no copy.
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        guard newShape.elementCount == elementCount else {
            throw TensorError.shapeMismatch(
                operation: "reshape", expected: "\(newShape.elementCount) elements for \(newShape)", actual: shape)
        }
        var result = self
        result.shape = newShape
        guard tapeNode != nil else { return result }
        result.tapeNode = nil
        guard let tape = GradientTape.recording(self) else { return result }
        let originalShape = shape
        return tape.recordOperation("reshape", inputs: [self], output: result) { gradient, _ in
            [try gradient.reshaped(originalShape)]
        }
    }

    /// Whether a ``GradientTape`` tracks this tensor (it was watched, or computed from a watched value).
    public var isTracked: Bool { tapeNode != nil }

    /// Reads or writes one element by its full index.
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[flatIndex(indices)] }
        set {
            let index = flatIndex(indices)
            withUnsafeMutableBufferPointer { $0[index] = newValue }
        }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "index \(indices) does not match rank \(rank)")
        var flat = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "index \(indices) out of range for \(shape)")
            flat = flat * shape[axis] + index
        }
        return flat
    }
}

extension Tensor {
    /// Checks that this tensor has exactly `expected` as its shape.
    public func expectShape(_ expected: Shape, for operation: String) throws {
        guard shape == expected else {
            throw TensorError.shapeMismatch(operation: operation, expected: "shape \(expected)", actual: shape)
        }
    }

    /// Checks the rank, naming the operation and the layout it expects (e.g. "NHWC").
    public func expectRank(_ rank: Int, layout: String, for operation: String) throws {
        guard self.rank == rank else {
            throw TensorError.shapeMismatch(operation: operation, expected: "rank \(rank) (\(layout))", actual: shape)
        }
    }

    /// The largest absolute difference to `other`; `.infinity` when the shapes differ.
    public func maxAbsoluteDifference(_ other: Tensor) -> Float {
        guard shape == other.shape else { return .infinity }
        var worst: Float = 0
        for index in 0..<elementCount {
            let difference = abs(storage.pointer[index] - other.storage.pointer[index])
            if difference.isNaN { return .nan }
            worst = max(worst, difference)
        }
        return worst
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(elementCount > 8 ? ", ..." : "")])"
    }
}

extension Tensor {
    /// Values drawn uniformly from `range` with `generator`, in row-major order.
    public static func uniform<Generator: RandomNumberGenerator>(
        _ shape: Shape, in range: ClosedRange<Float>, using generator: inout Generator
    ) -> Tensor {
        Tensor(shape: shape) { _ in Float.random(in: range, using: &generator) }
    }

    /// Values drawn from a normal distribution (Box–Muller), e.g. for Kaiming initialization.
    public static func normal<Generator: RandomNumberGenerator>(
        _ shape: Shape, mean: Float = 0, standardDeviation: Float, using generator: inout Generator
    ) -> Tensor {
        Tensor(shape: shape) { _ in
            let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &generator)
            let u2 = Double.random(in: 0..<1, using: &generator)
            let gaussian = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            return mean + standardDeviation * Float(gaussian)
        }
    }
}

