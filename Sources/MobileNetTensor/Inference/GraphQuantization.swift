/// How an ``InferenceGraph`` runs in int8: the element type and scale of every value, and the
/// integer weights, per-channel scales and integer bias of every convolution and linear step.
///
/// Quantization is symmetric throughout (no zero points): a value `q` of scale `s` stands for
/// the real number `s · q`. Values after a ReLU or ReLU6 are `uint8` (never negative, so the
/// clip at 0 is free), other activations `int8`; the squeeze-and-excitation gate and the logits
/// stay `float32`.
///
/// The arithmetic of every step, which the fused oneDNN path and the integer reference
/// (``InferenceGraph/evaluateQuantized(_:_:)``) both follow:
/// - **input**: the float image `x` becomes `q = saturate(roundEven(x · (1 / s)))`.
/// - **convolution / linear**: `acc = Σ q_src · q_w + bias[c]` in exact int32; then in float,
///   `v = Float(acc) · (s_src · s_w[c])` (the product taken once per channel, in float);
///   a residual add makes `v = v + s_shortcut · Float(q_shortcut)`; the activation's steps
///   follow on `v` (``DNNL/eltwiseSteps(_:)``, as oneDNN 2.6 computes them on AVX2 and AVX-512:
///   ReLU, clip, hard-swish as `v · (min(max(v + 3, 0), 6) / 6)`, linear as one fused
///   multiply-add `fma(α, v, β)`); then an integer destination gets
///   `q = saturate(roundEven(v · (1 / s_dst)))`, a float one `v`.
/// - **global average pool**: the input's type and scale; `q = saturate(roundEven(Float(Σ q) · (1 / Float(n))))`
///   (oneDNN multiplies by the reciprocal; `Scripts/probe_onednn_int8_arithmetic.c` checks these forms).
/// - **channel multiply** (`x · gate`, the gate float): `q = saturate(roundEven(Float(q_x) · (s_x / s_dst) · gate))`.
///
/// `roundEven` is round-half-to-even (the CPU's default float-to-integer conversion);
/// `saturate` clamps to the destination type's range.
public struct GraphQuantization: Sendable {
    /// The storage of one value of the graph.
    public struct Value: Hashable, Sendable {
        /// `.uint8`, `.int8`, or `.float32` (kept in float; `scale` is then 1).
        public var type: DType
        public var scale: Float

        public init(_ type: DType, scale: Float) {
            self.type = type
            self.scale = scale
        }

        public static let float = Value(.float32, scale: 1)
    }

    /// A convolution's or linear step's integer parameters, shaped like oneDNN 3.x's
    /// per-argument scales (`DNNL_ARG_SRC`, `DNNL_ARG_WEIGHTS` per output channel, `DNNL_ARG_DST`),
    /// with no zero points; the 2.x attributes are derived from it in one place
    /// (``InferencePlan`` compiling an int8 step).
    public struct Layer: Sendable {
        /// `[O, I / groups, kh, kw]` (convolution) or `[O, I]` (linear), each in [-127, 127]
        /// (or [-63, 63] with ``WeightRange/sevenBit``).
        public var weights: [Int8]
        /// The scale of each output channel's weights.
        public var weightScales: [Float]
        /// At scale `s_src · s_w[c]`.
        public var bias: [Int32]

        public init(weights: [Int8], weightScales: [Float], bias: [Int32]) {
            self.weights = weights
            self.weightScales = weightScales
            self.bias = bias
        }
    }

    /// How wide the weights are. On x86 without VNNI, oneDNN's int8 kernels may multiply u8 by
    /// s8 with `vpmaddubsw`, which adds two products in 16 bits and saturates (255 · 127 · 2 >
    /// 32767); 7-bit weights keep every pair sum in range, at a price in accuracy. Measured on
    /// the pretrained MobileNetV2 (45 crops of the bundled photos, top-1 agreement with fp32):
    /// 8-bit weights 43/45 with VNNI and 43/45 under `ONEDNN_MAX_CPU_ISA=AVX2`; 7-bit weights
    /// 36/45 and 35/45. So 8 bits is the default everywhere, and 7 bits a choice.
    public enum WeightRange: String, Hashable, Sendable {
        case eightBit, sevenBit

        public var limit: Int { self == .eightBit ? 127 : 63 }
    }

    /// One per graph step, by step index (`.input` steps included).
    public var values: [Value]
    /// By step index, for every convolution and linear step.
    public var layers: [Int: Layer]
    public var weightRange: WeightRange

    public init(values: [Value], layers: [Int: Layer], weightRange: WeightRange) {
        self.values = values
        self.layers = layers
        self.weightRange = weightRange
    }
}
