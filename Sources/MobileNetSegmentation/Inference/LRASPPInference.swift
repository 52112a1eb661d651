import MobileNetData
import MobileNetIO
import MobileNetNN
import MobileNetTensor

/// LR-ASPP compiled for fast inference: the dilated backbone and the head lowered to one
/// ``InferenceGraph`` (batch norm folded into the convolutions, activations, residual adds and
/// squeeze-and-excitation fused, as the classifiers' fused path runs), run by one
/// ``InferenceSession``. The head is six steps: the 1x1 branch with its ReLU, the gate's pooling
/// and its 1x1 convolution with the sigmoid, the channel product, a bilinear resize to the low
/// features' size, the low classifier, and the high classifier with the low scores added as its
/// post-op. Every map stays in oneDNN's blocked layout from the first layer to the scores.
/// ``logits(_:)`` resizes the scores to the input's size as the model does (they equal the
/// modules' logits: a test); ``segment(_:baseSize:)`` goes from the scores to the photo's class
/// map without the full-size logits (``ClassMapSampling``).
///
/// A snapshot of the weights when it was made; build a new one after training further.
public final class LRASPPInference: @unchecked Sendable {
    public let model: LRASPP
    /// The compiled network: normalized NHWC images `[N, H, W, 3]` to the scores at the low
    /// features' size, `[N, h, w, classes]` (stride 8).
    public let session: InferenceSession

    public init(_ model: LRASPP) throws {
        self.model = model
        var graph = InferenceGraph()
        let image = graph.input(channels: 3)
        var x = image
        var low: InferenceGraph.Value?
        for (index, layer) in model.backbone.layers.enumerated() where index <= model.highIndex {
            guard let lowerable = layer as? InferenceLowering else {
                throw LoweringError.notLowerable(layer: "\(type(of: layer))", container: "the LR-ASPP backbone")
            }
            x = try lowerable.lower(x, into: &graph)
            if index == model.lowIndex { low = x }
        }
        let head = model.classifier
        guard let low, head.cbr.layers.count == 3, head.scale.layers.count == 3,
              let branch = head.cbr.layers[0] as? Conv2D, let norm = head.cbr.layers[1] as? BatchNorm2D,
              let branchActivation = head.cbr.layers[2] as? ActivationLayer,
              head.scale.layers[0] is GlobalAveragePool2D, let gate = head.scale.layers[1] as? Conv2D,
              let gateActivation = head.scale.layers[2] as? ActivationLayer
        else { throw LoweringError.notLowerable(layer: "\(type(of: head))", container: "LR-ASPP") }
        let me = ObjectIdentifier(head)
        let branched = try graph.convolution(x, branch, norm: norm, post: [.activation(branchActivation.kind)], kind: .taskHead)
        let pooled = graph.globalAveragePool(x, label: .init(layer: ObjectIdentifier(head.scale), part: "0", kind: .taskHead))
        let scale = try graph.convolution(pooled, gate, norm: nil, post: [.activation(gateActivation.kind)], kind: .taskHead)
        let gated = graph.multiplyChannels(branched, by: scale, label: .init(layer: me, part: "gate", kind: .taskHead))
        let resized = graph.resizeBilinear(gated, toSizeOf: low, label: .init(layer: me, part: "resize", kind: .resize))
        let lowScores = try graph.convolution(low, head.lowClassifier, norm: nil, kind: .taskHead)
        _ = try graph.convolution(resized, head.highClassifier, norm: nil, post: [.add(lowScores)], kind: .taskHead)
        graph.name(using: Dictionary(model.namedModules().map { (ObjectIdentifier($0.module), $0.path) }, uniquingKeysWith: { a, _ in a }))
        session = InferenceSession(graph: graph)
    }

    /// Per-pixel class logits `[N, H, W, classes]` for a normalized NHWC batch, as
    /// ``LRASPP/callAsFunction(_:)`` gives them.
    public func logits(_ images: Tensor) throws -> Tensor {
        try resizeBilinear(scores(images), height: images.shape[1], width: images.shape[2])
    }

    /// The scores at the low features' size, `[N, h, w, classes]`, for a normalized NHWC batch.
    public func scores(_ images: Tensor) throws -> Tensor {
        try LRASPP.validateInput(images)
        return try session.run(images)
    }

    /// Each photo's class map at the photo's own size, as ``LRASPP/segment(_:baseSize:)`` makes
    /// it: the photo resized so that its shorter side is `baseSize` and normalized, its scores,
    /// and the map sampled from them (``ClassMapSampling``).
    public func segment(_ photos: [RGBImage], baseSize: Int) throws -> [[UInt8]] {
        try photos.map { photo in
            let resized = try ImageTransforms.resizeShorterSide(photo, to: baseSize)
            return try classMap(scores(SegmentationEvaluation.normalized([resized])), inputSize: (resized.width, resized.height),
                                photoSize: (photo.width, photo.height))[0]
        }
    }

    /// Each image's class map at `photoSize` from its ``scores(_:)`` for a network input of
    /// `inputSize` (width, height); the same map as the full-size logits' arg-max resized to the
    /// photo by nearest neighbour.
    public func classMap(_ scores: Tensor, inputSize: (width: Int, height: Int), photoSize: (width: Int, height: Int)) throws -> [[UInt8]] {
        try scores.expectRank(4, layout: "NHWC scores", for: "LR-ASPP class map")
        let (batch, height, width, classes) = (scores.shape[0], scores.shape[1], scores.shape[2], scores.shape[3])
        guard inputSize.width >= 1, inputSize.height >= 1, photoSize.width >= 1, photoSize.height >= 1 else {
            throw TensorError.invalidArgument(
                operation: "LR-ASPP class map", argument: "size",
                reason: "input \(inputSize.width)x\(inputSize.height) and photo \(photoSize.width)x\(photoSize.height) need sides of at least 1")
        }
        return scores.withUnsafeBufferPointer { values in
            (0..<batch).map { n in
                ClassMapSampling.labels(
                    scores: values.baseAddress! + n * height * width * classes, scoreHeight: height, scoreWidth: width, classes: classes,
                    inputHeight: inputSize.height, inputWidth: inputSize.width, photoHeight: photoSize.height,
                    photoWidth: photoSize.width, threads: CPUEngine.threadCount)
            }
        }
    }
}
