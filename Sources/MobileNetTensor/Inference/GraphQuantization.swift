/// How an ``InferenceGraph`` runs in int8: the element type, scale and zero point of every
/// value, and the integer weights, per-channel scales and integer bias of every convolution and
/// linear step.
///
/// A value `q` of scale `s` and zero point `z` stands for the real number `s · (q - z)`.
/// Activations are `uint8`: after a ReLU or ReLU6 with `z = 0` (never negative, so the clip at 0
/// is free), elsewhere (the image, linear projections, residual sums, hard-swish) asymmetric,
/// `z` where the range's 0 falls. Weights are symmetric (no zero point). The
/// squeeze-and-excitation gate and the logits stay `float32`.
///
/// The arithmetic of every step, which the fused oneDNN path and the integer reference
/// (``InferenceGraph/evaluateQuantized(_:_:)``) both follow:
/// - **input**: the float image `x` becomes `q = saturate(roundEven(fma(x, 1 / s, z)))`.
/// - **convolution / linear into an integer value, ending in nothing, ReLU or ReLU6** (the
///   destination's zero point 0 after a ReLU): `acc = Σ (q_src - z_src) · q_w + bias[c]` in exact
///   int32; `v = Float(acc) · m[c]` with `m[c] = (s_src · s_w[c]) / s_dst` (in float, in that
///   order); ReLU as `max(v, 0)`, ReLU6 as `min(max(v, 0), 6 / s_dst)`; then
///   `q = saturate(roundEven(v) + z_dst)`, rounded before the zero point is added
///   (``Requantization/destination``: ONNX Runtime's `QLinearConv` and XNNPACK's int8
///   convolutions compute exactly this, so exported files agree with the model integer for
///   integer; oneDNN 2.6 would add a destination zero point before rounding, so where it is
///   not 0 the convolution writes int32 and a reorder adds it).
/// - **every other convolution / linear** (hard-swish, hard-sigmoid, a float destination, a
///   residual add fused in): the same `acc`; then in
///   float, `v = Float(acc) · (s_src · s_w[c])` (the product taken once per channel, in float);
///   a residual add makes `v = v + s_shortcut · Float(q_shortcut - z_shortcut)`; the
///   activation's steps follow on `v` (``DNNL/eltwiseSteps(_:)``, as oneDNN 2.6 computes them on
///   AVX2 and AVX-512: ReLU, clip, hard-swish as `v · (min(max(v + 3, 0), 6) / 6)`, linear as one
///   fused multiply-add `fma(α, v, β)`); then an integer destination gets
///   `q = saturate(roundEven(fma(v, 1 / s_dst, z_dst)))`, a float one `v`.
/// - **add** (a residual add as its own step, `a` the block's output and `b` the shortcut): in
///   one of two arithmetics, the model's ``addArithmetic`` (``AddArithmetic`` gives both), those
///   of ONNX Runtime and of XNNPACK (they differ from each other in about one sum in 10^5).
/// - **global average pool**: the input's storage; `q = saturate(roundEven(Float(Σ q) · (1 / Float(n))))`
///   on the stored integers (the zero point passes through an average unchanged; oneDNN
///   multiplies by the reciprocal; `Scripts/probe_onednn_int8_arithmetic.c` checks these forms).
/// - **channel multiply** (`x · gate`, the gate float): `r = s_x / s_dst`,
///   `q = saturate(roundEven(Float(q_x) · r · gate + fma(-z_x · r, gate, z_dst)))`.
///
/// `roundEven` is round-half-to-even (the CPU's default float-to-integer conversion);
/// `saturate` clamps to the destination type's range.
///
/// Why unsigned activations: x86 CPUs without VNNI multiply u8 by s8 with `vpmaddubsw`, and
/// oneDNN halves the weights of an `s8` source there to keep its 16-bit pair sums in range, so an
/// `s8` source is never computed exactly (measured on oneDNN 2.6 under
/// `ONEDNN_MAX_CPU_ISA=AVX2`, `Scripts/probe_onednn_int8_zero_points.c`); a `u8` source, with or
/// without a zero point, is, except that each pair of neighbouring input channels' products
/// saturates in 16 bits (``Accumulation/pairwiseSaturating``), which needs two large
/// activations and two large weights of one sign at once. The integer reference computes either
/// sum, so the fast path equals it bit for bit on every x86 CPU.
public struct GraphQuantization: Sendable {
    /// The storage of one value of the graph.
    public struct Value: Hashable, Sendable {
        /// `.uint8`, `.int8`, or `.float32` (kept in float; `scale` is then 1).
        public var type: DType
        public var scale: Float
        /// The stored integer that stands for 0 (0 for `float32`, and for the ReLU outputs).
        public var zeroPoint: Int32

        public init(_ type: DType, scale: Float, zeroPoint: Int32 = 0) {
            self.type = type
            self.scale = scale
            self.zeroPoint = zeroPoint
        }

        public static let float = Value(.float32, scale: 1)

        /// Whether the zero point is one the type can hold: inside an integer type's range, 0
        /// for float32.
        public var zeroPointFits: Bool {
            guard let range = type.integerRange else { return zeroPoint == 0 }
            return range.contains(Float(zeroPoint))
        }
    }

    /// A convolution's or linear step's integer parameters, shaped like oneDNN 3.x's
    /// per-argument scales (`DNNL_ARG_SRC`, `DNNL_ARG_WEIGHTS` per output channel, `DNNL_ARG_DST`;
    /// the source's and destination's zero points are their values'); the 2.x attributes are derived from it in one place
    /// (``InferencePlan`` compiling an int8 step).
    public struct Layer: Sendable {
        /// `[O, I / groups, kh, kw]` (convolution) or `[O, I]` (linear), each within
        /// ``GraphQuantization/weightLimit(source:)``.
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

    /// How wide the weights are. ``eightBit`` (the default): 8 bits where the source's zero
    /// point is 0, 7 bits (±63) where it is not. Without VNNI, a source with a zero point holds
    /// raw integers near it (about 128) for values near 0, so two 8-bit products would often
    /// saturate their 16-bit pair sum; with 7 bits none can (`255 · 63 · 2 < 32767`), and these
    /// layers (the stem, V2's expansions) compute the same integers on every x86 CPU. oneDNN
    /// itself halves the weights of an `s8` source there for the same reason. Measured on the
    /// pretrained MobileNetV2 (BENCHMARKS.md's fidelity set): all layers 8-bit gave 69/99 crops
    /// under `ONEDNN_MAX_CPU_ISA=AVX2` against 85 with VNNI. ``sevenBit``: 7 bits everywhere
    /// (earlier, with signed activations, 36/45 bundled crops against 43/45).
    public enum WeightRange: String, Hashable, Sendable {
        case eightBit, sevenBit

        public var limit: Int { self == .eightBit ? 127 : 63 }
    }

    /// The largest weight magnitude of a layer whose source is `source` (``WeightRange``).
    public static func weightLimit(source: Value, range: WeightRange) -> Int {
        source.zeroPoint == 0 ? range.limit : WeightRange.sevenBit.limit
    }

    public func weightLimit(source: Value) -> Int {
        Self.weightLimit(source: source, range: weightRange)
    }

    /// How a CPU's int8 kernels sum `Σ q_src · q_w` over a convolution's taps.
    public enum Accumulation: Hashable, Sendable {
        /// Exact int32 sums (`vpdpbusd`: x86 with VNNI).
        case exact
        /// x86 without VNNI (`vpmaddubsw`): at every tap, the products of input channels `2k`
        /// and `2k + 1` (raw `u8` times `s8`) are added in 16 bits and saturate to ±32767, then
        /// summed exactly; a source zero point is compensated exactly (`z · Σ w`). Depthwise
        /// convolutions (one input channel per group) are exact.
        case pairwiseSaturating

        /// What this machine's oneDNN computes (``CPUEngine/hasInt8DotProduct``).
        public static var native: Accumulation { CPUEngine.hasInt8DotProduct ? .exact : .pairwiseSaturating }
    }

    /// How a convolution's or linear step's int32 sum becomes its value (the summary above).
    public enum Requantization: Hashable, Sendable {
        /// In real units: `Float(acc) · (s_src · s_w[c])`, the activation, then `fma(v, 1 / s_dst, z_dst)`.
        case real
        /// In the destination's units: `Float(acc) · ((s_src · s_w[c]) / s_dst)`, ReLU or a clip at
        /// `6 / s_dst`, rounded, then `+ z_dst`.
        case destination
    }

    /// ``Requantization/destination`` for an integer destination whose step ends in nothing,
    /// ReLU or ReLU6 (with zero point 0 after a ReLU) and adds no shortcut; ``Requantization/real`` otherwise.
    public static func requantization(post: [InferenceGraph.PostOperation], destination: Value) -> Requantization {
        guard destination.type.integerRange != nil else { return .real }
        for operation in post {
            switch operation {
            case .add: return .real
            case .activation(.identity): continue
            case .activation(.relu), .activation(.relu6): if destination.zeroPoint != 0 { return .real }
            case .activation: return .real
            }
        }
        return .destination
    }

    /// What oneDNN multiplies each output channel's int32 sum by for step `step` reading
    /// `source` (``Requantization``): `s_src · s_w[c]`, divided by `s_dst` in the destination's units.
    public func channelScales(step: Int, source: Int, post: [InferenceGraph.PostOperation]) -> [Float] {
        guard let layer = layers[step] else { return [] }
        let sourceScale = values[source].scale
        let real = layer.weightScales.map { sourceScale * $0 }
        guard Self.requantization(post: post, destination: values[step]) == .destination else { return real }
        let destinationScale = values[step].scale
        return real.map { $0 / destinationScale }
    }

    /// How an int8 residual add `c = a + b` (all three `uint8`) is rounded. Both arithmetics
    /// compute `r_a · (q_a - z_a) + r_b · (q_b - z_b) + z_c` with `r_a = s_a / s_c`,
    /// `r_b = s_b / s_c` (float divisions); they differ only in how a sum very near a half is
    /// rounded, and each is exactly what one runtime computes, so a model exported for that
    /// runtime gives its integers there. Measured by `Scripts/generate_quantized_add_fixtures.py`
    /// (ONNX Runtime 1.31.1, LiteRT 2.3.0) on 4.2 million sums: the two runtimes differ in 43,
    /// ONNX Runtime from the exactly rounded sum in 12, LiteRT in 39; each arithmetic here equals
    /// its runtime in all (`QuantizedAddTests`). oneDNN's binary add, with argument scales, matches
    /// neither (ONNX Runtime's sums differed from it in 2 of the 75,264 of MobileNetV2's first add).
    public enum AddArithmetic: String, CaseIterable, Hashable, Sendable {
        /// ONNX Runtime's `QLinearAdd` on x86-64 (its AVX2 kernel; what a QDQ file's
        /// DequantizeLinear → Add → QuantizeLinear becomes): in float, `k = z_c - fma(r_a, z_a, r_b · z_b)`,
        /// `q_c = saturate(roundEven(fma(q_a, r_a, fma(q_b, r_b, k))))`. (ONNX Runtime on ARM uses a
        /// fixed point of its own.)
        case onnxRuntime = "onnxruntime"
        /// XNNPACK's (LiteRT's and ExecuTorch's CPU path, what a TFLite int8 `ADD` runs as): fixed
        /// point with 20-bit multipliers, `shift = 20 - e` where `2^e ≤ max(r_a, r_b) < 2^(e+1)`,
        /// `m = lrint(r · 2^shift)` (in float), then
        /// `q_c = saturate((m_a · (q_a - z_a) + m_b · (q_b - z_b) + 2^(shift-1)) >> shift + z_c)`:
        /// halves round up. XNNPACK takes ratios in `[2^-10, 2^8)` only.
        case xnnpack
    }

    /// An add step's constants in its ``AddArithmetic``.
    public enum AddTerms: Hashable, Sendable {
        /// `q_c = roundEven(fma(q_a, ratioA, fma(q_b, ratioB, constant)))`.
        case float(ratioA: Float, ratioB: Float, constant: Float)
        /// `q_c = (bias + q_a · multiplierA + q_b · multiplierB) >> shift + zeroPoint`, the zero
        /// points of `a` and `b` (and the rounding half) folded into `bias`.
        case fixedPoint(multiplierA: Int32, multiplierB: Int32, bias: Int32, shift: Int32, zeroPoint: Int32)

        /// `q_c` for one pair of stored integers, clamped to `0...255`: the reference the plan's
        /// kernel (`CQuantizedAdd`) is checked against.
        public func callAsFunction(_ a: Int32, _ b: Int32) -> Int32 {
            switch self {
            case let .float(ratioA, ratioB, constant):
                let value = constant.addingProduct(Float(b), ratioB).addingProduct(Float(a), ratioA).rounded(.toNearestOrEven)
                return Int32(min(max(value, 0), 255))
            case let .fixedPoint(multiplierA, multiplierB, bias, shift, zeroPoint):
                let sum = Int64(bias) + Int64(a) * Int64(multiplierA) + Int64(b) * Int64(multiplierB)
                return Int32(min(max(sum >> Int64(shift), Int64(-zeroPoint)), Int64(255 - zeroPoint))) + zeroPoint
            }
        }
    }

    /// The constants of adding `a` and `b` into `destination` (all three `uint8`), or nil where
    /// ``AddArithmetic/xnnpack`` cannot express the ratios.
    public static func addTerms(_ a: Value, _ b: Value, destination: Value, arithmetic: AddArithmetic) -> AddTerms? {
        let (ratioA, ratioB) = (a.scale / destination.scale, b.scale / destination.scale)
        switch arithmetic {
        case .onnxRuntime:
            let constant = Float(destination.zeroPoint) - (ratioB * Float(b.zeroPoint)).addingProduct(ratioA, Float(a.zeroPoint))
            return .float(ratioA: ratioA, ratioB: ratioB, constant: constant)
        case .xnnpack:
            let range: ClosedRange<Float> = 0x1p-10...0x1.fffffep7
            guard range.contains(ratioA), range.contains(ratioB) else { return nil }
            let shift = 20 - Int32(max(ratioA, ratioB).exponent)
            let power = Float(sign: .plus, exponent: Int(shift), significand: 1)
            let (multiplierA, multiplierB) = (Int32((ratioA * power).rounded(.toNearestOrEven)), Int32((ratioB * power).rounded(.toNearestOrEven)))
            let bias = (Int32(1) << (shift - 1)) - multiplierA * a.zeroPoint - multiplierB * b.zeroPoint
            return .fixedPoint(multiplierA: multiplierA, multiplierB: multiplierB, bias: bias, shift: shift, zeroPoint: destination.zeroPoint)
        }
    }

    /// The terms of add step `step`, `a` and `b` its operands' steps, in ``addArithmetic``.
    ///
    /// - Throws: ``QuantizationError`` where an operand or the sum is not `uint8`, or the ratios
    ///   do not fit the arithmetic.
    public func addTerms(step: Int, a: Int, b: Int) throws -> AddTerms {
        for (index, role) in [(a, "addend"), (b, "shortcut"), (step, "destination")] where values[index].type != .uint8 {
            throw QuantizationError.unsupportedType(step: step, role: role, type: values[index].type, expected: "uint8")
        }
        guard let terms = Self.addTerms(values[a], values[b], destination: values[step], arithmetic: addArithmetic) else {
            let ratios = [values[a].scale / values[step].scale, values[b].scale / values[step].scale]
            throw QuantizationError.addRatiosOutOfRange(step: step, arithmetic: addArithmetic, ratios: ratios)
        }
        return terms
    }

    /// One per graph step, by step index (`.input` steps included).
    public var values: [Value]
    /// By step index, for every convolution and linear step.
    public var layers: [Int: Layer]
    public var weightRange: WeightRange
    public var addArithmetic: AddArithmetic

    public init(values: [Value], layers: [Int: Layer], weightRange: WeightRange, addArithmetic: AddArithmetic = .onnxRuntime) {
        self.values = values
        self.layers = layers
        self.weightRange = weightRange
        self.addArithmetic = addArithmetic
    }
}
