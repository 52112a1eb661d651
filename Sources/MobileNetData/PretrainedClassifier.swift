import Foundation
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor

/// One class of a classification: its index, its name and its softmax probability.
public struct Prediction: Hashable, Sendable {
    public var index: Int
    public var label: String
    public var probability: Float
}

/// A trained model together with the preprocessing its weights expect: photos in, top-k classes out.
///
/// ```swift
/// let classifier = try PretrainedClassifier(weights: .mobileNetV2ImageNet)   // from the weights cache
/// let predictions = try classifier.classify([ImageDecoder.decode(contentsOf: url)], top: 5)
/// ```
public final class PretrainedClassifier {
    public let model: any ImageClassifier
    /// The same weights compiled for fast inference (batch norm folded, fused oneDNN primitives).
    public let inference: InferenceModel
    public let preprocessing: ImagePreprocessing
    public let labels: [String]

    /// Loads published weights, from `file` or else from the ``WeightsCache``.
    public convenience init(weights: PretrainedWeights, file: URL? = nil) throws {
        try self.init(
            configuration: weights.configuration, preprocessing: weights.preprocessing,
            file: file ?? WeightsCache.locate(weights.fileName))
    }

    /// Loads a checkpoint (`.pth` or `.safetensors`) into the model `configuration` describes,
    /// strictly: every key must match in name and shape.
    ///
    /// - Throws: ``NonFiniteWeightsError`` when a tensor holds a NaN or an infinity (a diverged
    ///   or damaged checkpoint: every prediction would be NaN), ``ModelLoadingError`` when the
    ///   checkpoint does not fit the model, and the readers' errors.
    public init(configuration: ModelConfiguration, preprocessing: ImagePreprocessing, file: URL) throws {
        model = try makeModel(configuration, seed: nil)
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
        inference = try InferenceModel(model)
        self.preprocessing = preprocessing
        labels = configuration.classCount == ImageNetLabels.names.count
            ? ImageNetLabels.names
            : (0..<configuration.classCount).map { "class \($0)" }
    }

    /// Resizes and crops `image` as the weights were trained to see it.
    public func prepare(_ image: RGBImage) throws -> RGBImage {
        let resized = try ImageTransforms.resizeShorterSide(image, to: preprocessing.resizeShorterSide)
        return try ImageTransforms.centerCrop(resized, width: preprocessing.cropSize, height: preprocessing.cropSize)
    }

    /// Prepared, normalized NHWC batch `[N, crop, crop, 3]` of already prepared images.
    public func inputBatch(prepared images: [RGBImage]) throws -> Tensor {
        try ImageTransforms.normalizedTensor(
            images, mean: preprocessing.mean, standardDeviation: preprocessing.standardDeviation)
    }

    /// Logits `[N, classes]` for photos of any size, in one forward pass: through the fused
    /// inference path, or with `fused: false` layer by layer through the model's modules.
    public func logits(_ images: [RGBImage], fused: Bool = true) throws -> Tensor {
        let batch = try inputBatch(prepared: images.map(prepare))
        return fused ? try inference(batch) : try model(batch)
    }

    /// The `top` most probable classes of each photo, most probable first.
    public func classify(_ images: [RGBImage], top: Int = 5) throws -> [[Prediction]] {
        try classify(prepared: images.map(prepare), top: top)
    }

    /// The same for photos already passed through ``prepare(_:)`` (so that a caller can tell
    /// which photo a preparation error belongs to).
    public func classify(prepared images: [RGBImage], top: Int = 5) throws -> [[Prediction]] {
        let probabilities = try softmax(inference(inputBatch(prepared: images)))
        let classes = probabilities.shape[1]
        return (0..<images.count).map { row -> [Prediction] in
            let all: [Prediction] = (0..<classes).map { index in
                Prediction(index: index, label: labels[index], probability: probabilities[row, index])
            }
            let ranked = all.sorted { lhs, rhs in
                lhs.probability != rhs.probability ? lhs.probability > rhs.probability : lhs.index < rhs.index
            }
            return Array(ranked.prefix(max(0, top)))
        }
    }
}

/// A checkpoint holds values that are not finite, in `key` first (in key order).
public struct NonFiniteWeightsError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var key: String

    public init(file: String, key: String) {
        self.file = file
        self.key = key
    }

    public var description: String {
        "\(file): \(key) holds values that are not finite (NaN or infinity); a model with them predicts nothing"
    }
}

/// A checkpoint did not fit the model it was loaded into.
public struct ModelLoadingError: Error, CustomStringConvertible {
    public var file: String
    public var configuration: ModelConfiguration
    public var reason: StateError

    public init(file: String, configuration: ModelConfiguration, reason: StateError) {
        self.file = file
        self.configuration = configuration
        self.reason = reason
    }

    public var description: String {
        "\(file) does not fit \(configuration): \(reason)"
    }
}
