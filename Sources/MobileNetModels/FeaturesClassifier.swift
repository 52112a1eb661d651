import MobileNetNN
import MobileNetTensor

/// The shape MobileNetV2 and V3 share with torchvision: `features` (the stem, the blocks, a last
/// 1x1 convolution) and a `classifier` head, children named so (`features.3.conv.1.0.weight`,
/// `classifier.1.weight`). Conforming gives the module tree, the backbone, the head and the
/// lowering; a model only builds its two `Sequential`s.
public protocol FeaturesClassifier: ImageClassifier, InferenceLowering {
    var features: Sequential { get }
    var classifier: Sequential { get }
}

extension FeaturesClassifier {
    public var children: [(name: String, module: any Module)] {
        [("features", features), ("classifier", classifier)]
    }

    public var featureLayers: [any Layer] { features.layers }

    public func classify(pooled: Tensor) throws -> Tensor {
        try classifier(pooled)
    }

    /// The backbone, global average pooling, then the head (its `Linear`s with their activations fused).
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        try classifier.lower(graph.globalAveragePool(features.lower(input, into: &graph)), into: &graph)
    }
}

/// The feature layers of a backbone as they are built, with the stride and output channels of
/// each (``ImageClassifier/featureStrides``, ``ImageClassifier/featureChannels``).
struct FeatureStack {
    private(set) var layers: [any Layer] = []
    private(set) var strides: [Int] = []
    private(set) var channels: [Int] = []

    /// The output channels of the last layer appended.
    var outputChannels: Int { channels.last ?? 3 }

    mutating func append(_ layer: any Layer, stride: Int, outputChannels: Int) {
        layers.append(layer)
        strides.append(stride)
        channels.append(outputChannels)
    }
}
