/// The element type of a ``Tensor``.
///
/// Every tensor is 32-bit float today; int8 arrives with quantization.
public enum DType: String, Hashable, Sendable {
    case float32

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32: MemoryLayout<Float>.size
        }
    }
}
