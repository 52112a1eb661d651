import MobileNetTensor

/// SSD's post-processing (torchvision's `SSD.postprocess_detections` and the transform's box
/// rescaling): softmax over the classes, boxes decoded against the anchors and clipped to the
/// network's input, then per class the candidates above ``scoreThreshold``, at most
/// ``topKCandidates`` of them by score, non-maximum suppression within each class at
/// ``nmsThreshold``, at most ``detectionsPerImage`` by score, and the boxes scaled to the
/// original picture.
public struct SSDPostprocessor: Hashable, Sendable {
    public var scoreThreshold: Float
    public var nmsThreshold: Float
    public var detectionsPerImage: Int
    public var topKCandidates: Int
    public var boxCoder: BoxCoder

    /// torchvision's SSDLite defaults: 0.001, 0.55, 300, 300.
    public init(
        scoreThreshold: Float = 0.001, nmsThreshold: Float = 0.55, detectionsPerImage: Int = 300, topKCandidates: Int = 300,
        boxCoder: BoxCoder = BoxCoder()
    ) {
        self.scoreThreshold = scoreThreshold
        self.nmsThreshold = nmsThreshold
        self.detectionsPerImage = detectionsPerImage
        self.topKCandidates = topKCandidates
        self.boxCoder = boxCoder
    }

    /// The detections of every image of a batch.
    ///
    /// - Parameters:
    ///   - outputs: the head's outputs for the batch, `[N, A, 4]` and `[N, A, K]`.
    ///   - anchors: the A default boxes in the network input's pixels.
    ///   - inputSize: the network input's width and height (the boxes are clipped to it).
    ///   - originalSizes: each picture's width and height, to scale the boxes back to.
    public func detections(
        _ outputs: SSDHeadOutputs, anchors: [BoundingBox], inputSize: (width: Int, height: Int),
        originalSizes: [(width: Int, height: Int)]
    ) throws -> [[Detection]] {
        let (batch, anchorCount, classes) = (outputs.classLogits.shape[0], outputs.classLogits.shape[1], outputs.classLogits.shape[2])
        try outputs.boxRegression.expectShape([batch, anchorCount, 4], for: "SSD box regression")
        guard anchors.count == anchorCount, originalSizes.count == batch else {
            throw TensorError.invalidArgument(
                operation: "SSD post-processing", argument: "anchors",
                reason: "\(anchors.count) anchors and \(originalSizes.count) sizes for \(batch) images of \(anchorCount) predictions")
        }
        let probabilities = try softmax(outputs.classLogits.reshaped([batch * anchorCount, classes])).scalars
        let regression = outputs.boxRegression.scalars
        return (0..<batch).map { n in
            let boxes = (0..<anchorCount).map { a in
                let o = (n * anchorCount + a) * 4
                return boxCoder.decode((regression[o], regression[o + 1], regression[o + 2], regression[o + 3]), anchor: anchors[a])
                    .clipped(width: Float(inputSize.width), height: Float(inputSize.height))
            }
            let scores = probabilities[(n * anchorCount * classes)..<((n + 1) * anchorCount * classes)]
            return select(boxes: boxes, probabilities: Array(scores), classes: classes).map { detection in
                var scaled = detection
                scaled.box = detection.box.scaled(
                    x: Float(originalSizes[n].width) / Float(inputSize.width),
                    y: Float(originalSizes[n].height) / Float(inputSize.height))
                return scaled
            }
        }
    }

    /// One image's selection from its decoded boxes and `[A, K]` class probabilities, in the
    /// network input's pixels.
    public func select(boxes: [BoundingBox], probabilities: [Float], classes: Int, reference: Bool = false) -> [Detection] {
        var candidates: [Detection] = []
        for label in 1..<classes {
            var passing: [(anchor: Int, score: Float)] = []
            for anchor in boxes.indices {
                let score = probabilities[anchor * classes + label]
                if score > scoreThreshold { passing.append((anchor, score)) }
            }
            passing.sort { $0.score > $1.score || ($0.score == $1.score && $0.anchor < $1.anchor) }
            for candidate in passing.prefix(topKCandidates) {
                candidates.append(Detection(box: boxes[candidate.anchor], label: label, score: candidate.score))
            }
        }
        let kept = NonMaximumSuppression.batchedKeep(
            boxes: candidates.map(\.box), scores: candidates.map(\.score), classes: candidates.map(\.label),
            iouThreshold: nmsThreshold, reference: reference)
        return kept.prefix(detectionsPerImage).map { candidates[$0] }
    }
}
