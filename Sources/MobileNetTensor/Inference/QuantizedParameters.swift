/// A ``GraphQuantization`` as the int8 plans of a session use it: the integer weights and
/// biases in buffers oneDNN can read (made once per session, so that the reordered copies in
/// ``InferenceConstants`` are shared by all its plans), and each layer's output scales.
final class QuantizedParameters {
    struct Layer {
        /// `int8` weights in the graph's plain layout (OIHW, or OI for a linear step).
        let weights: TensorStorage
        /// `int32` bias at scale `s_src · s_w[c]`.
        let bias: TensorStorage
        /// What oneDNN 2.x multiplies each channel's accumulated sum by
        /// (``GraphQuantization/channelScales(step:source:post:)``).
        let outputScales: [Float]
    }

    let quantization: GraphQuantization
    private(set) var layers: [Int: Layer] = [:]

    init(_ quantization: GraphQuantization, graph: InferenceGraph) throws {
        self.quantization = quantization
        guard quantization.values.count == graph.steps.count else {
            throw QuantizationError.valueCount(expected: graph.steps.count, actual: quantization.values.count)
        }
        for (index, step) in graph.steps.enumerated() {
            guard let (source, weight, _) = step.layer else { continue }
            let (weightCount, outputs) = (weight.elementCount, weight.shape[0])
            guard let layer = quantization.layers[index] else { throw QuantizationError.missingLayer(step: index) }
            for (parameter, expected, actual) in [
                ("weights", weightCount, layer.weights.count), ("weightScales", outputs, layer.weightScales.count),
                ("bias", outputs, layer.bias.count),
            ] where expected != actual {
                throw QuantizationError.layerSize(step: index, parameter: parameter, expected: expected, actual: actual)
            }
            layers[index] = Layer(
                weights: Self.storage(layer.weights), bias: Self.storage(layer.bias),
                outputScales: quantization.channelScales(step: index, source: source.index, post: step.post))
        }
    }

    /// The value's storage, element type and scale.
    func value(_ index: Int) -> GraphQuantization.Value { quantization.values[index] }

    /// A buffer holding `values`' bytes (``TensorStorage`` counts floats: rounded up).
    private static func storage<Element>(_ values: [Element]) -> TensorStorage {
        let bytes = values.count * MemoryLayout<Element>.stride
        let storage = TensorStorage(uninitializedCount: (bytes + 3) / 4)
        values.withUnsafeBytes { UnsafeMutableRawPointer(storage.pointer).copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        return storage
    }
}
