/// The element type of a value: a ``Tensor`` is always `float32`; int8 inference
/// (``GraphQuantization``) stores activations as `uint8` or `int8`, weights as `int8` and
/// biases as `int32`.
public enum DType: String, Hashable, Sendable {
    case float32
    case int8
    case uint8
    case int32

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .int8, .uint8: 1
        }
    }

    /// The range of an integer type, as floats (for saturating); nil for `float32`.
    public var integerRange: ClosedRange<Float>? {
        switch self {
        case .float32: nil
        case .int8: -128...127
        case .uint8: 0...255
        case .int32: -2_147_483_648...2_147_483_520 // the largest float below 2^31
        }
    }
}
