import Foundation

/// The element-wise nonlinearities MobileNets use.
///
/// - `relu6`: min(max(x, 0), 6), MobileNetV1/V2 (robust under low-precision arithmetic).
/// - `hardSwish`: x · relu6(x + 3) / 6, MobileNetV3's cheap stand-in for swish.
/// - `hardSigmoid`: relu6(x + 3) / 6, the gate of V3's squeeze-and-excitation.
/// - `sigmoid`: 1 / (1 + e⁻ˣ), the gate of LR-ASPP's segmentation head.
public enum Activation: String, Hashable, Sendable, CaseIterable {
    case identity
    case relu
    case relu6
    case hardSwish
    case hardSigmoid
    case sigmoid

    /// The activation of one value, as the reference engine computes it.
    @inlinable
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: x
        case .relu: max(x, 0)
        case .relu6: min(max(x, 0), 6)
        case .hardSwish: x * min(max(x + 3, 0), 6) / 6
        case .hardSigmoid: min(max(x + 3, 0), 6) / 6
        case .sigmoid: 1 / (1 + Foundation.exp(-x))
        }
    }

    /// The derivative at `x`, as the reference engine computes it. At a kink it takes PyTorch's
    /// (and oneDNN's) one-sided choice: relu' (0) = 0, relu6' is 0 at 0 and 6, hard-sigmoid' is 0
    /// at ±3, hard-swish' is 0 below -3 and 1 above 3.
    @inlinable
    public func derivative(_ x: Float) -> Float {
        switch self {
        case .identity: 1
        case .relu: x > 0 ? 1 : 0
        case .relu6: x > 0 && x < 6 ? 1 : 0
        case .hardSwish: x < -3 ? 0 : x > 3 ? 1 : (2 * x + 3) / 6
        case .hardSigmoid: x > -3 && x < 3 ? 1.0 / 6 : 0
        case .sigmoid: apply(x) * (1 - apply(x))
        }
    }
}
