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

    /// The backbone, global average pooling, then the head (its `Linear`s with their activations
    /// fused). The backbone's first unit is the stem, its last the head convolution.
    public func lower(_ input: InferenceGraph.Value, into graph: inout InferenceGraph) throws -> InferenceGraph.Value {
        var x = input
        for (index, layer) in features.layers.enumerated() {
            switch (layer, index) {
            case let (unit as ConvNormActivation, 0): x = try unit.lower(x, into: &graph, kind: .stem)
            case let (unit as ConvNormActivation, features.count - 1): x = try unit.lower(x, into: &graph, kind: .head)
            case let (lowerable as InferenceLowering, _): x = try lowerable.lower(x, into: &graph)
            default: throw LoweringError.notLowerable(layer: "\(type(of: layer))", container: "features")
            }
        }
        return try classifier.lower(graph.globalAveragePool(x), into: &graph)
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
