/// One value of an int8 inference, as ``InferenceGraph/quantizedValues(_:_:)`` computes it:
/// integers standing for `scale · (q - zeroPoint)`, or floats where ``GraphQuantization`` keeps the value in
/// float (the squeeze-and-excitation gate, the logits).
///
/// The integers are what the int8 buffers hold, widened to `Int32` so that one array type
/// serves `int8` and `uint8`; a fast path's buffers compare with them element for element.
public struct QuantizedValue: Hashable, Sendable {
    public enum Elements: Hashable, Sendable {
        /// For `.int8` and `.uint8`, each within the type's range.
        case integers([Int32])
        /// For `.float32`.
        case floats([Float])
    }

    /// The element type and scale.
    public let storage: GraphQuantization.Value
    /// NHWC like the float graph's values (`[N, 1, 1, C]` pooled, `[N, O]` after a linear step).
    public let shape: Shape
    public let elements: Elements

    /// Checks that the parts agree: integers for an integer type and inside its range, floats
    /// for `float32` at scale 1, as many elements as `shape` holds.
    public init(_ storage: GraphQuantization.Value, shape: Shape, elements: Elements) throws {
        guard let count = shape.checkedElementCount else {
            throw QuantizationError.invalidValue(reason: "shape \(shape) has no element count")
        }
        switch elements {
        case let .integers(integers):
            guard let range = storage.type.integerRange, storage.type != .int32 else {
                throw QuantizationError.invalidValue(reason: "integer elements need int8 or uint8, not \(storage.type.rawValue)")
            }
            guard integers.count == count else {
                throw QuantizationError.invalidValue(reason: "shape \(shape) needs \(count) elements, got \(integers.count)")
            }
            if let outside = integers.firstIndex(where: { !range.contains(Float($0)) }) {
                throw QuantizationError.invalidValue(
                    reason: "element \(outside) is \(integers[outside]), outside \(storage.type.rawValue)")
            }
        case let .floats(floats):
            guard storage == .float else {
                throw QuantizationError.invalidValue(
                    reason: "float elements need float32 at scale 1, not \(storage.type.rawValue) at scale \(storage.scale)")
            }
            guard floats.count == count else {
                throw QuantizationError.invalidValue(reason: "shape \(shape) needs \(count) elements, got \(floats.count)")
            }
        }
        self.init(unchecked: storage, shape: shape, elements: elements)
    }

    /// For the evaluator, whose every step establishes the invariants itself.
    init(unchecked storage: GraphQuantization.Value, shape: Shape, elements: Elements) {
        self.storage = storage
        self.shape = shape
        self.elements = elements
    }

    public var type: DType { storage.type }
    public var scale: Float { storage.scale }
    public var zeroPoint: Int32 { storage.zeroPoint }

    /// The stored integers; nil for a `float32` value.
    public var integers: [Int32]? {
        if case let .integers(integers) = elements { integers } else { nil }
    }

    /// The stored floats; nil for an integer value.
    public var floats: [Float]? {
        if case let .floats(floats) = elements { floats } else { nil }
    }

    /// The real numbers the value stands for: `scale · (q - zeroPoint)` (one float product, as
    /// the next step forms it), or the floats themselves.
    public var real: [Float] {
        centered.map { scale * $0 }
    }

    /// The stored elements less the zero point, as floats: `Float(q - zeroPoint)` (exact for
    /// 8-bit integers) or the floats.
    var centered: [Float] {
        switch elements {
        case let .integers(integers): integers.map { Float($0 - zeroPoint) }
        case let .floats(floats): floats
        }
    }

    /// ``real`` as a float tensor of ``shape``.
    public func realTensor() throws -> Tensor {
        try Tensor(shape: shape, values: real)
    }
}
