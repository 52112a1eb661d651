import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// A model compiled for int8 inference: its ``InferenceGraph`` quantized from calibration
/// images (``GraphQuantizer``) and run by an int8 ``InferenceSession``.
///
/// ```swift
/// let calibration = try images.map { try preprocessing.batch([$0]) }   // NHWC, normalized
/// let int8 = try QuantizedModel(model, calibration: calibration)
/// let logits = try int8(batch)
/// ```
public final class QuantizedModel: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let graph: InferenceGraph
    public let quantization: GraphQuantization
    public let session: InferenceSession

    /// Quantizes `model` from `calibration`, batches of NHWC images as the model's eval
    /// preprocessing makes them, with `method` (the 99.99th percentile of magnitudes unless
    /// given: on the fidelity set it beat min-max on both ISAs, BENCHMARKS.md); with `biasCorrection`, corrects the biases for the weights'
    /// rounding on the same images (``BiasCorrection``), as NNCF does by default. Measured on the
    /// pretrained V2, top-1 agreement with fp32: on the 99 crops of BENCHMARKS.md's fidelity set
    /// 84 with it and 80 without (AVX-512 VNNI; 82 and 77 calibrated and run under the AVX2 cap);
    /// on `QuantizedPretrainedTests`' 45 other crops 40 with it and 43 without. `addArithmetic`:
    /// the runtime whose rounding the residual adds follow (ONNX Runtime's unless given;
    /// ``GraphQuantization/AddArithmetic/xnnpack`` for a model meant for LiteRT).
    public init(
        _ model: any ImageClassifier, calibration: [Tensor], method: CalibrationMethod = .percentile(0.9999),
        weightRange: GraphQuantization.WeightRange = .eightBit, addArithmetic: GraphQuantization.AddArithmetic = .onnxRuntime,
        biasCorrection: Bool = true
    ) throws {
        configuration = model.configuration
        graph = try Self.graph(of: model)
        let statistics = try CalibrationStatistics(graph: graph, batches: calibration, method: method)
        let rounded = GraphQuantizer.quantize(graph, statistics: statistics, weightRange: weightRange, addArithmetic: addArithmetic)
        quantization = biasCorrection ? try BiasCorrection.correct(rounded, graph: graph, batches: calibration) : rounded
        session = try InferenceSession(graph: graph, quantization: quantization)
    }

    /// The graph an int8 model runs: `model`'s inference graph with its residual adds as steps
    /// of their own (``InferenceGraph/separatingResidualAdds()``).
    public static func graph(of model: any ImageClassifier) throws -> InferenceGraph {
        try model.inferenceGraph().separatingResidualAdds()
    }

    /// A model already quantized (``QuantizedModelFile/read(contentsOf:)``).
    ///
    /// - Throws: ``QuantizationError`` if `quantization` does not fit `graph`.
    public init(configuration: ModelConfiguration, graph: InferenceGraph, quantization: GraphQuantization) throws {
        self.configuration = configuration
        self.graph = graph
        self.quantization = quantization
        session = try InferenceSession(graph: graph, quantization: quantization)
    }

    /// Logits `[N, classes]` for an NHWC batch `[N, H, W, 3]`.
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        try validateImageBatch(images)
        return try session.run(images)
    }
}
