import Foundation
import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// A trained model together with the preprocessing its weights expect: photos in, top-k classes out.
///
/// ```swift
/// let classifier = try PretrainedClassifier(weights: .mobileNetV2ImageNet)   // from the weights cache
/// let predictions = try classifier.classify([ImageDecoder.decode(contentsOf: url)], top: 5)
/// ```
///
/// It keeps one copy of the weights: the fused inference path's (batch norm folded in). The
/// modules they were loaded into are let go once lowered; ``loadModel(configuration:file:)``
/// gives them to a caller that needs them (training, the unfused reference path).
public final class PretrainedClassifier {
    public let configuration: ModelConfiguration
    /// The weights compiled for fast inference (batch norm folded, fused oneDNN primitives; in
    /// int8 for a quantized model).
    public let session: InferenceSession
    public let preprocessing: ImagePreprocessing
    public let labels: [String]

    /// Loads published weights, from `file` or else from the ``WeightsCache``.
    public convenience init(weights: PretrainedWeights, file: URL? = nil) throws {
        try self.init(
            configuration: weights.configuration, preprocessing: weights.preprocessing,
            file: file ?? WeightsCache.locate(weights.fileName))
    }

    /// Loads a checkpoint (`.pth` or `.safetensors`) into the model `configuration` describes,
    /// strictly (see ``loadModel(configuration:file:)``), and compiles it.
    public convenience init(configuration: ModelConfiguration, preprocessing: ImagePreprocessing, file: URL) throws {
        try self.init(model: Self.loadModel(configuration: configuration, file: file), preprocessing: preprocessing)
    }

    /// A classifier for a model in memory; the model is lowered into the inference path, which
    /// does not follow later changes to it.
    public convenience init(model: any ImageClassifier, preprocessing: ImagePreprocessing) throws {
        try self.init(session: InferenceModel(model).session, configuration: model.configuration, preprocessing: preprocessing)
    }

    /// A classifier over a compiled session of a model of `configuration` (a quantized model's,
    /// say: `QuantizedModel.session`).
    public init(session: InferenceSession, configuration: ModelConfiguration, preprocessing: ImagePreprocessing) {
        self.configuration = configuration
        self.session = session
        self.preprocessing = preprocessing
        labels = configuration.classCount == ImageNetLabels.names.count
            ? ImageNetLabels.names
            : (0..<configuration.classCount).map { "class \($0)" }
    }

    /// A model of `configuration` in evaluation mode with the checkpoint's weights, loaded
    /// strictly: every key must match in name and shape.
    ///
    /// - Throws: ``NonFiniteWeightsError`` when a tensor holds a NaN or an infinity (a diverged
    ///   or damaged checkpoint: every prediction would be NaN), ``ModelLoadingError`` when the
    ///   checkpoint does not fit the model, and the readers' errors.
    public static func loadModel(configuration: ModelConfiguration, file: URL) throws -> any ImageClassifier {
        let model = try makeModel(configuration, seed: nil)
        model.setTraining(false)
        let state = try readStateDictionary(contentsOf: file)
        if let key = state.keys.sorted().first(where: { key in state[key]!.withUnsafeBufferPointer { $0.contains { !$0.isFinite } } }) {
            throw NonFiniteWeightsError(file: file.path, key: key)
        }
        do {
            try model.load(state)
        } catch let error as StateError {
            throw ModelLoadingError(file: file.path, configuration: configuration, reason: error)
        }
        return model
    }

    /// Resizes and crops `image` as the weights were trained to see it.
    public func prepare(_ image: RGBImage) throws -> RGBImage {
        try preprocessing.prepare(image)
    }

    /// Prepared, normalized NHWC batch `[N, crop, crop, 3]` of already prepared images.
    public func inputBatch(prepared images: [RGBImage]) throws -> Tensor {
        try preprocessing.batch(images)
    }

    /// Logits `[N, classes]` for photos of any size, in one pass through the fused inference path.
    public func logits(_ images: [RGBImage]) throws -> Tensor {
        try logits(prepared: images.map(prepare))
    }

    /// Logits of photos already passed through ``prepare(_:)``.
    public func logits(prepared images: [RGBImage]) throws -> Tensor {
        let batch = try inputBatch(prepared: images)
        try validateImageBatch(batch)
        return try session.run(batch)
    }

    /// The `top` most probable classes of each photo, most probable first.
    public func classify(_ images: [RGBImage], top: Int = 5) throws -> [[Prediction]] {
        try classify(prepared: images.map(prepare), top: top)
    }

    /// The same for photos already passed through ``prepare(_:)`` (so that a caller can tell
    /// which photo a preparation error belongs to).
    public func classify(prepared images: [RGBImage], top: Int = 5) throws -> [[Prediction]] {
        Prediction.ranked(logits: try logits(prepared: images), labels: labels, top: top)
    }
}
