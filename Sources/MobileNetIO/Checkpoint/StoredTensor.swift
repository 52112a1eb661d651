import MobileNetTensor

/// One tensor of a ``SafeTensorsArchive``, in the element type it is stored as.
///
/// A quantized model keeps int8 weights, int32 biases and float32 scales side by side, and its
/// values are int8 or uint8 (``DType``); a ``Tensor`` holds floats only, and converting the
/// integers to `Float` would round int32 values beyond 2^24. So the integer cases keep their
/// values as they are, and only `float32` is a ``Tensor`` (a view of the mapped file where
/// aligned, as ``SafeTensors/read(contentsOf:)`` gives).
///
/// The integer cases do not check that `values` fills `shape`: ``SafeTensors/write(_:to:overwrite:)``
/// does, and names the key of one that does not.
public enum StoredTensor: Sendable {
    case float32(Tensor)
    case int8(shape: Shape, values: [Int8])
    case uint8(shape: Shape, values: [UInt8])
    case int32(shape: Shape, values: [Int32])

    public var shape: Shape {
        switch self {
        case let .float32(tensor): tensor.shape
        case let .int8(shape, _), let .uint8(shape, _), let .int32(shape, _): shape
        }
    }

    /// The element type: safetensors' `F32`, `I8`, `U8` or `I32`.
    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .int8: .int8
        case .uint8: .uint8
        case .int32: .int32
        }
    }

    /// The number of values held, which is `shape`'s element count in every tensor read from a file.
    public var elementCount: Int {
        switch self {
        case let .float32(tensor): tensor.elementCount
        case let .int8(_, values): values.count
        case let .uint8(_, values): values.count
        case let .int32(_, values): values.count
        }
    }

    /// Lends the values as the little-endian bytes safetensors stores; a copy is made only for
    /// int32 and float32 on a big-endian machine.
    func withLittleEndianBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch self {
        case let .float32(tensor):
            return try tensor.withLittleEndianBytes(body)
        case let .int8(_, values):
            return try values.withUnsafeBytes(body)
        case let .uint8(_, values):
            return try values.withUnsafeBytes(body)
        case let .int32(_, values):
            #if _endian(little)
            return try values.withUnsafeBytes(body)
            #else
            return try values.map(\.littleEndian).withUnsafeBytes(body)
            #endif
        }
    }
}
