import MobileNetTensor

/// Post-training quantization of an ``InferenceGraph`` (batch norm already folded): symmetric
/// per-output-channel int8 weights, int32 biases, and a type and scale for every value from
/// calibration ranges.
///
/// The choices, step by step:
/// - the image: `int8`, scale `max(|min|, |max|) / 127`;
/// - after a ReLU or ReLU6: `uint8`, scale `max / 255` (the clip at 0 costs nothing, and the
///   whole byte covers the positive range);
/// - after hard-swish, a linear projection or a residual add: `int8`, symmetric;
/// - the squeeze-and-excitation gate (after hard-sigmoid) and the logits: `float32` (the gate
///   multiplies an integer value in one binary step; the logits are what the caller reads);
/// - pooling and the channel scaling keep their input's type and scale.
public enum GraphQuantizer {
    /// - Parameter weightRange: 8 bits unless asked (``GraphQuantization/WeightRange`` says why).
    public static func quantize(
        _ graph: InferenceGraph, statistics: CalibrationStatistics,
        weightRange: GraphQuantization.WeightRange = .eightBit
    ) -> GraphQuantization {
        var values: [GraphQuantization.Value] = []
        var layers: [Int: GraphQuantization.Layer] = [:]
        for (index, step) in graph.steps.enumerated() {
            let range = statistics.ranges[index]
            switch step {
            case .input:
                values.append(symmetric(.int8, range))
            case let .convolution(x, weight, bias, _, post), let .linear(x, weight, bias, post):
                values.append(destination(post: post, range: range, isOutput: index == graph.output.index))
                layers[index] = quantize(weight: weight, bias: bias, sourceScale: values[x.index].scale, range: weightRange)
            case let .globalAveragePool(x), let .multiplyChannels(x, _):
                values.append(values[x.index])
            }
        }
        return GraphQuantization(values: values, layers: layers, weightRange: weightRange)
    }

    /// The storage of a convolution's or linear step's result, by what it ends with.
    static func destination(post: [InferenceGraph.PostOperation], range: CalibrationStatistics.Range, isOutput: Bool) -> GraphQuantization.Value {
        if isOutput { return .float }
        let last = post.last.flatMap { if case let .activation(kind) = $0 { kind } else { nil } }
        switch last {
        case .relu, .relu6: return unsigned(range)
        case .hardSigmoid: return .float
        case .hardSwish, .identity, nil: return symmetric(.int8, range)
        }
    }

    static func symmetric(_ type: DType, _ range: CalibrationStatistics.Range) -> GraphQuantization.Value {
        GraphQuantization.Value(type, scale: positive(max(abs(range.minimum), abs(range.maximum))) / 127)
    }

    static func unsigned(_ range: CalibrationStatistics.Range) -> GraphQuantization.Value {
        GraphQuantization.Value(.uint8, scale: positive(range.maximum) / 255)
    }

    /// A range of zero (a value that is always 0) still needs a usable scale.
    private static func positive(_ extent: Float) -> Float {
        extent > 0 && extent.isFinite ? extent : 1
    }

    /// Weights per output channel in `[-limit, limit]`, `s_w[c] = max|w[c]| / limit`; the bias at
    /// `s_src · s_w[c]`. Where a tiny weight scale would put the bias beyond int32, the channel's
    /// scale grows until it fits (its weights then use fewer levels).
    static func quantize(
        weight: Tensor, bias: Tensor, sourceScale: Float, range: GraphQuantization.WeightRange
    ) -> GraphQuantization.Layer {
        let outputs = weight.shape[0]
        let perChannel = weight.elementCount / max(outputs, 1)
        let limit = Float(range.limit)
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
