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
        // The integer weights times their scales, once per layer for every batch.
        let approximations = Dictionary(uniqueKeysWithValues: quantization.layers.compactMap { index, layer in
            graph.steps[index].layer.map { (index, dequantized(layer, like: $0.weight)) }
        })
        var shifts: [Int: [Double]] = [:]
        var positions: [Int: Int] = [:]
        for batch in batches {
            let values = try graph.values(batch)
            for (index, step) in graph.steps.enumerated() {
                guard let layer = quantization.layers[index], let approximate = approximations[index] else { continue }
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
                case .input, .globalAveragePool, .multiplyChannels, .add, .resizeBilinear:
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
                  let (input, _, bias) = graph.steps[index].layer else { continue }
            let source = Double(quantization.values[input.index].scale)
            let floatBias = bias.scalars
            layer.bias = (0..<layer.bias.count).map { channel in
                let shifted = Double(floatBias[channel]) + sums[channel] / Double(count)
                let scale = source * Double(layer.weightScales[channel])
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
}
