import MobileNetNN
import MobileNetTensor

/// The output of one backbone layer that a detection or segmentation head can consume.
public struct FeatureStage: Hashable, Sendable {
    /// Index into ``ImageClassifier/featureLayers``.
    public var index: Int
    /// How many times smaller than the input its map is (2, 4, 8, 16, 32).
    public var reduction: Int
    public var channels: Int
}

/// A MobileNet: a backbone of feature layers, then global average pooling and a classifier.
public protocol ImageClassifier: Layer {
    var configuration: ModelConfiguration { get }
    /// The backbone in order: `features.0`, `features.1`, ... for V2 and V3; the stem and then
    /// the five block stages for V1.
    var featureLayers: [any Layer] { get }
    /// The stride of each feature layer (1 or 2), parallel to ``featureLayers``.
    var featureStrides: [Int] { get }
    /// The output channels of each feature layer, parallel to ``featureLayers``.
    var featureChannels: [Int] { get }
    /// Pooled, flattened features `[N, C]` to logits `[N, classes]`.
    func classify(pooled: Tensor) throws -> Tensor
}

/// The smallest input side a MobileNet takes: it survives the five stride-2 steps.
public let minimumResolution = 32

/// Checks that `images` is an NHWC RGB batch `[N, H, W, 3]` with sides of at least 32.
public func validateImageBatch(_ images: Tensor) throws {
    try images.expectRank(4, layout: "NHWC images", for: "MobileNet input")
    guard images.shape[3] == 3 else {
        throw TensorError.shapeMismatch(operation: "MobileNet input", expected: "3 channels (RGB) last", actual: images.shape)
    }
    let side = min(images.shape[1], images.shape[2])
    guard side >= minimumResolution else {
        throw ModelError.inputTooSmall(resolution: side, minimum: minimumResolution)
    }
}

extension ImageClassifier {
    /// Logits `[N, classes]` for an NHWC image batch `[N, H, W, 3]`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let features = try extractFeatures(input, at: []).last
        return try classify(pooled: globalPool(features))
    }

    private func globalPool(_ features: Tensor) throws -> Tensor {
        let pooled = try globalAveragePool(features)
        return try pooled.reshaped([features.shape[0], features.shape[3]])
    }

    /// Runs the backbone and returns the outputs of the feature layers at `indices` (in
    /// ascending order), then the backbone's last output.
    public func extractFeatures(_ input: Tensor, at indices: [Int]) throws -> (selected: [Tensor], last: Tensor) {
        try validateImageBatch(input)
        let layers = featureLayers
        for index in indices where !layers.indices.contains(index) {
            throw ModelError.featureIndexOutOfRange(index: index, count: layers.count)
        }
        let wanted = Set(indices)
        var selected: [Tensor] = []
        var x = input
        for (index, layer) in layers.enumerated() {
            x = try layer(x)
            if wanted.contains(index) { selected.append(x) }
        }
        return (selected, x)
    }

    /// For each reduction (2, 4, 8, 16, 32), the last feature layer at it: the usual taps for a
    /// feature pyramid or a segmentation decoder.
    public var featureStages: [FeatureStage] {
        var stages: [FeatureStage] = []
        var reduction = 1
        for (index, stride) in featureStrides.enumerated() {
            reduction *= stride
            let stage = FeatureStage(index: index, reduction: reduction, channels: featureChannels[index])
            if let last = stages.last, last.reduction == reduction {
                stages[stages.count - 1] = stage
            } else {
                stages.append(stage)
            }
        }
        return stages
    }
}

/// Builds the model a configuration describes.
///
/// With a `seed`, the weights are initialized as torchvision does (Kaiming normal convolutions,
/// unit batch norm, normal(0, 0.01) classifier); with `nil` they stay zero, for a model whose
/// weights are about to be loaded.
public func makeModel(_ configuration: ModelConfiguration, seed: UInt64? = 0) throws -> any ImageClassifier {
    try configuration.validate()
    let model: any ImageClassifier = switch configuration.architecture {
    case .v1: MobileNetV1(configuration)
    case .v2: MobileNetV2(configuration)
    case .v3Large, .v3Small: MobileNetV3(configuration)
    }
    if let seed {
        model.resetParameters(seed: seed)
    }
    return model
}
