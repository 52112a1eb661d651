import MobileNetTensor

/// Post-training quantization of an ``InferenceGraph`` (batch norm already folded): symmetric
/// per-output-channel int8 weights, int32 biases, and a type and scale for every value from
/// calibration ranges.
///
/// The choices, step by step:
/// - after a ReLU or ReLU6: `uint8`, scale `max / 255`, zero point 0 (the clip at 0 costs
///   nothing, and the whole byte covers the positive range);
/// - the image, and after hard-swish, a linear projection or a residual add: `uint8`
///   asymmetric, scale `(max - min) / 255` over the range widened to hold 0, the zero point
///   where 0 falls (``GraphQuantization`` says why no `int8` activations);
/// - the squeeze-and-excitation gate (after hard-sigmoid) and the logits: `float32` (the gate
///   multiplies an integer value in one binary step; the logits are what the caller reads);
/// - pooling and the channel scaling keep their input's type and scale.
public enum GraphQuantizer {
    /// - Parameters:
    ///   - weightRange: 8 bits (7 after a zero point) unless asked (``GraphQuantization/WeightRange`` says why).
    ///   - addArithmetic: how the residual adds round, ONNX Runtime's unless asked.
    public static func quantize(
        _ graph: InferenceGraph, statistics: CalibrationStatistics,
        weightRange: GraphQuantization.WeightRange = .eightBit, addArithmetic: GraphQuantization.AddArithmetic = .onnxRuntime
    ) -> GraphQuantization {
        var values: [GraphQuantization.Value] = []
        var layers: [Int: GraphQuantization.Layer] = [:]
        let outputs = Set(graph.outputs.map(\.index))
        for (index, step) in graph.steps.enumerated() {
            let range = statistics.ranges[index]
            switch step {
            case .input:
                values.append(asymmetric(range, evenZeroPoint: true))
            case let .convolution(x, weight, bias, _, post), let .linear(x, weight, bias, post):
                values.append(destination(post: post, range: range, isOutput: outputs.contains(index)))
                let source = values[x.index]
                let limit = GraphQuantization.weightLimit(source: source, range: weightRange)
                layers[index] = quantize(weight: weight, bias: bias, sourceScale: source.scale, limit: limit)
            case let .globalAveragePool(x), let .multiplyChannels(x, _), let .resizeBilinear(x, _):
                // A resize is refused by the integer paths (QuantizationError.unsupportedStep).
                values.append(values[x.index])
            case .add:
                values.append(outputs.contains(index) ? .float : asymmetric(range))
            }
        }
        return GraphQuantization(values: values, layers: layers, weightRange: weightRange, addArithmetic: addArithmetic)
    }

    /// The storage of a convolution's or linear step's result, by what it ends with.
    static func destination(post: [InferenceGraph.PostOperation], range: CalibrationStatistics.Range, isOutput: Bool) -> GraphQuantization.Value {
        if isOutput { return .float }
        let last = post.last.flatMap { if case let .activation(kind) = $0 { kind } else { nil } }
        switch last {
        case .relu, .relu6: return unsigned(range)
        case .hardSigmoid, .sigmoid: return .float
        case .hardSwish, .identity, nil: return asymmetric(range)
        }
    }

    /// 255 steps over `range` widened to hold 0, 0 exactly representable.
    ///
    /// `evenZeroPoint` (the image): the even integer nearest to where 0 falls. The image is
    /// quantized as `roundEven(fma(x, 1 / s, z))`, XNNPACK's QUANTIZE as `roundEven(x · (1 / s)) + z`;
    /// with `z` even the two agree on exact halves too (measured on `TFLiteExportTests`'
    /// MobileNetV1: 2.7e-7 against 0.016 with an odd zero point).
    static func asymmetric(_ range: CalibrationStatistics.Range, evenZeroPoint: Bool = false) -> GraphQuantization.Value {
        let (low, high) = (min(range.minimum, 0), max(range.maximum, 0))
        let scale = snapped(positive(high - low) / 255)
        let zeroPoint = evenZeroPoint
            ? min(max(2 * (-low / scale / 2).rounded(.toNearestOrEven), 0), 254)
            : min(max((-low / scale).rounded(.toNearestOrEven), 0), 255)
        return GraphQuantization.Value(.uint8, scale: scale, zeroPoint: zeroPoint.isFinite ? Int32(zeroPoint) : 0)
    }

    static func unsigned(_ range: CalibrationStatistics.Range) -> GraphQuantization.Value {
        GraphQuantization.Value(.uint8, scale: snapped(positive(range.maximum) / 255))
    }

    /// A range of zero (a value that is always 0) still needs a usable scale.
    private static func positive(_ extent: Float) -> Float {
        extent > 0 && extent.isFinite ? extent : 1
    }

    /// `scale` rounded to 12 significant bits (a relative step of 2^-12, far below what
    /// calibration can tell apart). Calibration runs the float graph on oneDNN, whose AVX2 and
    /// AVX-512 kernels differ in the last bits; unsnapped, those bits reach every scale, and on
    /// BENCHMARKS.md's fidelity set two such files, otherwise equal, differed by 5 of 99 crops.
    /// Snapped, calibrating on either gives the same scales (but where a value falls within a
    /// last-bit difference of a 2^-12 step).
    static func snapped(_ scale: Float) -> Float {
        guard scale.isNormal else { return scale }
        let exponent = scale.exponent
        let steps = (scale.significand * 4096).rounded(.toNearestOrEven)
        return Float(sign: .plus, exponent: exponent, significand: steps / 4096)
    }

    /// Weights per output channel in `[-limit, limit]`, `s_w[c] = max|w[c]| / limit`; the bias at
    /// `s_src · s_w[c]`. Where a tiny weight scale would put the bias beyond int32, the channel's
    /// scale grows until it fits (its weights then use fewer levels).
    static func quantize(
        weight: Tensor, bias: Tensor, sourceScale: Float, limit: Int
    ) -> GraphQuantization.Layer {
        let outputs = weight.shape[0]
        let perChannel = weight.elementCount / max(outputs, 1)
        let limit = Float(limit)
        let largestBias = Float(Int32.max - 128)
        var scales = [Float](repeating: 1, count: outputs)
        var integers = [Int8](repeating: 0, count: weight.elementCount)
        var biases = [Int32](repeating: 0, count: outputs)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                for channel in 0..<outputs {
                    let row = w[(channel * perChannel)..<((channel + 1) * perChannel)]
                    var scale = positive(row.map(abs).max() ?? 0) / limit
                    scale = max(scale, abs(b[channel]) / (sourceScale * largestBias))
                    scales[channel] = scale
                    let inverse = 1 / scale
                    for (offset, value) in row.enumerated() {
                        integers[channel * perChannel + offset] = Int8(min(max((value * inverse).rounded(.toNearestOrEven), -limit), limit))
                    }
                    biases[channel] = Int32((b[channel] / (sourceScale * scale)).rounded(.toNearestOrEven))
                }
            }
        }
        return GraphQuantization.Layer(weights: integers, weightScales: scales, bias: biases)
    }
}
