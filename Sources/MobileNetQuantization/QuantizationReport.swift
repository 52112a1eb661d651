import Foundation
import MobileNetTensor

/// Where int8 hurts: each step's signal-to-quantization-noise ratio against fp32 on a set of
/// images, `10 · log10(Σ x² / Σ (x − x̂)²)` in dB, where `x` is the fp32 graph's value and `x̂`
/// the int8 one (the integer reference, ``InferenceGraph/quantizedValues(_:_:)``, so errors
/// accumulate through the network as they do in int8). Low values, worst first, are the layers
/// to look at: each 6 dB is one bit.
public struct QuantizationReport: Sendable {
    public struct Row: Sendable {
        public var step: Int
        /// The layer's state-dict name.
        public var name: String
        public var kind: String
        public var type: DType
        public var scale: Float
        public var signalToNoise: Double
    }

    /// Steps with an integer value, worst first.
    public var rows: [Row]
    public var images: Int

    public init(_ model: QuantizedModel, images batches: [Tensor]) throws {
        var signal = [Double](repeating: 0, count: model.graph.steps.count)
        var noise = signal
        var images = 0
        for batch in batches {
            images += batch.shape[0]
            let exact = try model.graph.values(batch)
            let quantized = try model.graph.quantizedValues(batch, model.quantization)
            for index in exact.indices where model.quantization.values[index].type != .float32 {
                let approximation = quantized[index].real
                exact[index].withUnsafeBufferPointer { values in
                    for (offset, value) in values.enumerated() {
                        signal[index] += Double(value) * Double(value)
                        let error = Double(value) - Double(approximation[offset])
                        noise[index] += error * error
                    }
                }
            }
        }
        rows = model.graph.steps.indices.compactMap { index in
            let value = model.quantization.values[index]
            guard value.type != .float32 else { return nil }
            let ratio = noise[index] > 0 ? 10 * log10(signal[index] / noise[index]) : .infinity
            return Row(
                step: index, name: model.graph.name(of: index), kind: model.graph.labels[index].kind?.rawValue ?? "input",
                type: value.type, scale: value.scale, signalToNoise: ratio)
        }.sorted { $0.signalToNoise < $1.signalToNoise }
        self.images = images
    }
}
