import CDNNL

/// The element rules of int8 inference (``GraphQuantization``), one small function each: the
/// definitions ``InferenceGraph/quantizedValues(_:_:)`` is built from, and the float expressions
/// oneDNN 2.6's kernels evaluate, operation for operation, so that the fused int8 path can be
/// compared with the reference bit for bit.
///
/// Swift never contracts `a * b + c` into a fused multiply-add, so every expression here rounds
/// exactly where it is written; where oneDNN fuses, ``addingProduct`` says so.
enum QuantizedArithmetic {
    /// `saturate(roundEven(fma(v, inverseScale, zeroPoint)))`: one rounding of the product and
    /// the shift (oneDNN's `linear` post-op and its reorders), round half to even (as `cvtps2dq`
    /// under the default rounding mode), then clamp to `range`. Total: a NaN becomes 0 rather
    /// than trapping.
    static func quantize(_ v: Float, inverseScale: Float, zeroPoint: Int32 = 0, range: ClosedRange<Float>) -> Int32 {
        saturate(Float(zeroPoint).addingProduct(v, inverseScale).rounded(.toNearestOrEven), range)
    }

    /// An integral float clamped to `range` (whose bounds are integers), as `Int32`.
    static func saturate(_ integral: Float, _ range: ClosedRange<Float>) -> Int32 {
        guard !integral.isNaN else { return 0 }
        return Int32(min(max(integral, range.lowerBound), range.upperBound))
    }

    /// An int32 accumulator as the float it converts to (`cvtdq2ps`: nearest, ties to even).
    static func widen(_ accumulator: Int32) -> Float {
        Float(accumulator)
    }

    /// One oneDNN eltwise step, with the float expression oneDNN 2.6's x64 kernels (AVX2 and
    /// AVX-512) compute; measured against `libdnnl` 2.6 on 2^20 floats, every bit equal
    /// (`Scripts/probe_onednn_int8_arithmetic.c`).
    enum EltwiseStep: Hashable, Sendable {
        /// `v > 0 ? v : alpha · v` (alpha 0: `max(v, 0)`, giving +0 below zero).
        case relu(alpha: Float)
        /// `min(max(v, low), high)` (`clip_v2`).
        case clip(low: Float, high: Float)
        /// `v · (min(max(v + 3, 0), 6) / 6)`: the division first, then the product; not
        /// ``Activation/apply(_:)``'s `(v · relu6(v + 3)) / 6`, which rounds differently.
        case hardSwish
        /// `alpha · v + beta` with one rounding (a fused multiply-add; oneDNN's SSE4.1 kernel,
        /// which has none, rounds twice).
        case linear(alpha: Float, beta: Float)

        /// The steps of `activation`, from the same table the fused path compiles
        /// (``DNNL/eltwiseSteps(_:)``); nil if one is an algorithm this reference does not know.
        static func steps(of activation: Activation) -> [EltwiseStep]? {
            var steps: [EltwiseStep] = []
            for (algorithm, alpha, beta) in DNNL.eltwiseSteps(activation) {
                guard let step = EltwiseStep(algorithm, alpha: alpha, beta: beta) else { return nil }
                steps.append(step)
            }
            return steps
        }

        /// The step of a oneDNN eltwise algorithm; nil for one this reference does not know.
        init?(_ algorithm: dnnl_alg_kind_t, alpha: Float, beta: Float) {
            switch algorithm {
            case dnnl_eltwise_relu: self = .relu(alpha: alpha)
            case dnnl_eltwise_clip_v2: self = .clip(low: alpha, high: beta)
            case dnnl_eltwise_hardswish: self = .hardSwish
            case dnnl_eltwise_linear: self = .linear(alpha: alpha, beta: beta)
            default: return nil
            }
        }

        func apply(_ v: Float) -> Float {
            switch self {
            case let .relu(alpha):
                return v > 0 ? v : (alpha == 0 ? 0 : alpha * v)
            case let .clip(low, high):
                return min(max(v, low), high)
            case .hardSwish:
                let gate = min(max(v + 3, 0), 6) / 6
                return v * gate
            case let .linear(alpha, beta):
                return beta.addingProduct(alpha, v)
            }
        }
    }

    /// A global average of `count` integers summing to `sum`: `roundEven(Float(sum) · (1 / Float(count)))`.
    ///
    /// oneDNN 2.6's int8 pooling multiplies by the reciprocal rather than dividing; the two
    /// disagree on some exact halves (`91 / 14` is 6.5, which rounds to 6; `91 · fl(1/14)` is
    /// 6.5000005 and rounds to 7; on a 7x7 map the two never differ). Measured against `libdnnl` 2.6 for every sum and window of
    /// 1 to 200 pixels, AVX2 and AVX-512: every result equal
    /// (`Scripts/probe_onednn_int8_arithmetic.c`). No saturation is needed: an average stays
    /// inside its inputs' range.
    static func average(sum: Int64, reciprocalCount: Float, range: ClosedRange<Float>) -> Int32 {
        saturate((Float(sum) * reciprocalCount).rounded(.toNearestOrEven), range)
    }
}
