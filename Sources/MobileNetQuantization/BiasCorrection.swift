import MobileNetTensor

/// Fast bias correction: rounding a channel's weights to integers shifts the mean of its
/// output; measured on the calibration images, the shift is added back to the channel's bias.
///
/// For each convolution and linear step, with its float input `x` from calibration, the shift of
/// channel `c` is the mean over images and positions of `y(x, W)[c] - y(x, s_w · q_w)[c]` (the
/// float weights against their integer approximation); the bias is then requantized at
/// `s_src · s_w[c]`. Only the weights' rounding is corrected here, not the activations'.
public enum BiasCorrection {
    /// `quantization` with corrected biases, from the same `batches` calibration used.
    public static func correct(
        _ quantization: GraphQuantization, graph: InferenceGraph, batches: [Tensor]
    ) throws -> GraphQuantization {
        var shifts: [Int: [Double]] = [:]
        var positions: [Int: Int] = [:]
        for batch in batches {
            let values = try graph.values(batch)
            for (index, step) in graph.steps.enumerated() {
                guard let layer = quantization.layers[index] else { continue }
                let approximate = dequantized(layer, like: weightOf(step))
                let (exact, rounded): (Tensor, Tensor)
                switch step {
                case let .convolution(x, weight, _, geometry, _):
                    exact = try conv2d(values[x.index], weight: weight, geometry: geometry)
                    rounded = try conv2d(values[x.index], weight: approximate, geometry: geometry)
                case let .linear(x, weight, _, _):
                    let input = values[x.index]
                    let flat = try input.reshaped([input.shape[0], input.elementCount / max(input.shape[0], 1)])
                    exact = try linear(flat, weight: weight)
                    rounded = try linear(flat, weight: approximate)
                case .input, .globalAveragePool, .multiplyChannels:
                    continue
                }
                let channels = layer.bias.count
                var sums = shifts[index] ?? [Double](repeating: 0, count: channels)
                exact.withUnsafeBufferPointer { e in
                    rounded.withUnsafeBufferPointer { r in
                        for offset in 0..<e.count { sums[offset % channels] += Double(e[offset] - r[offset]) }
                    }
                }
                shifts[index] = sums
                positions[index, default: 0] += exact.elementCount / channels
            }
        }
        var corrected = quantization
        for (index, sums) in shifts {
            guard var layer = corrected.layers[index], let count = positions[index], count > 0,
                  case let .some(bias) = biasOf(graph.steps[index]) else { continue }
            let source = step(graph.steps[index]).map { quantization.values[$0.index].scale } ?? 1
            layer.bias = (0..<layer.bias.count).map { channel in
                let shifted = Double(bias[channel]) + sums[channel] / Double(count)
                let scale = Double(source) * Double(layer.weightScales[channel])
                return Int32(clamping: Int64((shifted / scale).rounded(.toNearestOrEven)))
            }
            corrected.layers[index] = layer
        }
        return corrected
    }

    /// The integer weights times their channel's scale, in `like`'s shape.
    static func dequantized(_ layer: GraphQuantization.Layer, like weight: Tensor) -> Tensor {
        let perChannel = layer.weights.count / max(layer.weightScales.count, 1)
        return Tensor(shape: weight.shape) { offset in Float(layer.weights[offset]) * layer.weightScales[offset / perChannel] }
    }

    private static func weightOf(_ step: InferenceGraph.Step) -> Tensor {
        switch step {
        case let .convolution(_, weight, _, _, _), let .linear(_, weight, _, _): weight
        case .input, .globalAveragePool, .multiplyChannels: Tensor.zeros([0])
        }
    }

    private static func biasOf(_ step: InferenceGraph.Step) -> [Float]? {
        switch step {
        case let .convolution(_, _, bias, _, _), let .linear(_, _, bias, _): bias.scalars
        case .input, .globalAveragePool, .multiplyChannels: nil
        }
    }

    private static func step(_ step: InferenceGraph.Step) -> InferenceGraph.Value? {
        switch step {
        case let .convolution(x, _, _, _, _), let .linear(x, _, _, _): x
        case .input, .globalAveragePool, .multiplyChannels: nil
        }
    }
}
