import Foundation
import MobileNetTensor

/// The objects a training image holds, in the network input's pixels.
public struct DetectionTarget: Hashable, Sendable {
    public var boxes: [BoundingBox]
    /// 1...classes-1, one per box.
    public var labels: [Int]

    public init(boxes: [BoundingBox], labels: [Int]) {
        self.boxes = boxes
        self.labels = labels
    }
}

/// SSD's training loss as torchvision's `SSD.compute_loss` computes it.
///
/// Anchors are matched to ground truth (``match(anchors:boxes:)``); matched anchors regress
/// their box's offsets (smooth L1 with β = 1, summed), and every anchor is classified
/// (cross-entropy against its box's label, or background), of which the loss keeps the
/// positives and the `negativesPerPositive` × positives hardest negatives of each image
/// (hard-negative mining). Both sums are divided by the batch's number of positives (at
/// least 1).
///
/// The loss and its gradient are one operation, like ``crossEntropy(logits:labels:labelSmoothing:)``:
/// the gradient is the closed form (softmax minus target on the kept anchors, the clamped
/// difference on the matched ones), so the mining's selection is fixed for the backward pass
/// as it is in PyTorch's.
public struct SSDLoss: Hashable, Sendable {
    public var iouThreshold: Float
    public var negativesPerPositive: Int
    public var boxCoder: BoxCoder

    public init(iouThreshold: Float = 0.5, negativesPerPositive: Int = 3, boxCoder: BoxCoder = BoxCoder()) {
        self.iouThreshold = iouThreshold
        self.negativesPerPositive = negativesPerPositive
        self.boxCoder = boxCoder
    }

    /// The two terms, each a scalar tensor on the tape when the outputs are.
    public struct Terms {
        public var boxRegression: Tensor
        public var classification: Tensor
        /// Matched anchors over the batch.
        public var positives: Int
        /// How many of them score their box's class highest.
        public var correctPositives: Int

        /// Their sum, the objective.
        public func total() throws -> Tensor { try add(boxRegression, classification) }
    }

    /// For each anchor, the index of the box it is matched to, or -1 (background): torchvision's
    /// `SSDMatcher`. An anchor takes the box it overlaps most if that IoU reaches the threshold;
    /// then each box claims the anchor it overlaps most, whatever the IoU (so no box goes
    /// unmatched; a later box wins an anchor two boxes claim).
    public func match(anchors: [BoundingBox], boxes: [BoundingBox]) -> [Int] {
        var matches = [Int](repeating: -1, count: anchors.count)
        guard !boxes.isEmpty else { return matches }
        var bestAnchor = [(anchor: Int, iou: Float)](repeating: (0, -1), count: boxes.count)
        for (a, anchor) in anchors.enumerated() {
            var best = (box: -1, iou: -Float.infinity)
            for (b, box) in boxes.enumerated() {
                let iou = box.intersectionOverUnion(anchor)
                if iou > best.iou { best = (b, iou) }
                if iou > bestAnchor[b].iou { bestAnchor[b] = (a, iou) }
            }
            if best.iou >= iouThreshold { matches[a] = best.box }
        }
        for (b, best) in bestAnchor.enumerated() { matches[best.anchor] = b }
        return matches
    }

    /// The loss of a batch's head outputs against its targets.
    ///
    /// - Throws: `TensorError` when the outputs' shapes disagree with each other, the anchors or
    ///   the targets, or a label is not an object class (1...classes-1).
    public func callAsFunction(_ outputs: SSDHeadOutputs, targets: [DetectionTarget], anchors: [BoundingBox]) throws -> Terms {
        let regression = outputs.boxRegression, logits = outputs.classLogits
        try logits.expectRank(3, layout: "[batch, anchors, classes]", for: "SSD loss logits")
        let (batch, anchorCount, classes) = (logits.shape[0], logits.shape[1], logits.shape[2])
        try regression.expectShape([batch, anchorCount, 4], for: "SSD loss box regression")
        guard anchors.count == anchorCount, targets.count == batch else {
            throw TensorError.invalidArgument(
                operation: "SSD loss", argument: "targets",
                reason: "\(targets.count) targets and \(anchors.count) anchors for \(batch) images of \(anchorCount) predictions")
        }
        for target in targets {
            guard target.boxes.count == target.labels.count, target.labels.allSatisfy({ (1..<classes).contains($0) }) else {
                throw TensorError.invalidArgument(
                    operation: "SSD loss", argument: "labels", reason: "one label in 1..<\(classes) per box, got \(target.labels)")
            }
        }
        let logProbabilities = try Engine.current.logSoftmax(logits.reshaped([batch * anchorCount, classes])).scalars
        let predicted = regression.scalars

        var regressionGradient = [Float](repeating: 0, count: predicted.count)
        var logitGradient = [Float](repeating: 0, count: logProbabilities.count)
        var boxLoss = 0.0, classLoss = 0.0, positives = 0, correctPositives = 0
        for (n, target) in targets.enumerated() {
            let matches = match(anchors: anchors, boxes: target.boxes)
            var classTargets = [Int](repeating: 0, count: anchorCount)
            for (a, box) in matches.enumerated() where box >= 0 {
                positives += 1
                classTargets[a] = target.labels[box]
                let goal = boxCoder.encode(target.boxes[box], anchor: anchors[a])
                for (k, value) in [goal.0, goal.1, goal.2, goal.3].enumerated() {
                    let index = (n * anchorCount + a) * 4 + k
                    let difference = predicted[index] - value
                    boxLoss += abs(difference) < 1 ? Double(0.5 * difference * difference) : Double(abs(difference) - 0.5)
                    regressionGradient[index] = min(max(difference, -1), 1)
                }
            }
            // Per-anchor cross-entropy; the positives and the hardest negatives count.
            let losses = (0..<anchorCount).map { -logProbabilities[(n * anchorCount + $0) * classes + classTargets[$0]] }
            let positiveCount = classTargets.count { $0 > 0 }
            let negatives = (0..<anchorCount).filter { classTargets[$0] == 0 }
                .sorted { losses[$0] > losses[$1] || (losses[$0] == losses[$1] && $0 < $1) }
                .prefix(negativesPerPositive * positiveCount)
            let kept = (0..<anchorCount).filter { classTargets[$0] > 0 } + negatives
            for a in kept {
                classLoss += Double(losses[a])
                let row = (n * anchorCount + a) * classes
                if classTargets[a] > 0 {
                    let best = (0..<classes).max { logProbabilities[row + $0] < logProbabilities[row + $1] }
                    if best == classTargets[a] { correctPositives += 1 }
                }
                for k in 0..<classes {
                    logitGradient[row + k] = Foundation.exp(logProbabilities[row + k]) - (k == classTargets[a] ? 1 : 0)
                }
            }
        }
        let divisor = Float(max(1, positives))
        let boxTerm = try Tensor(shape: [], values: [Float(boxLoss) / divisor])
        let classTerm = try Tensor(shape: [], values: [Float(classLoss) / divisor])
        guard let tape = GradientTape.current else {
            return Terms(boxRegression: boxTerm, classification: classTerm, positives: positives, correctPositives: correctPositives)
        }
        let regressionShape = regression.shape, logitShape = logits.shape
        let trackedBox = tape.recordOperation("ssdBoxLoss", inputs: [regression], output: boxTerm) { gradient, _ in
            let factor = gradient.scalars[0] / divisor
            return [try Tensor(shape: regressionShape, values: regressionGradient.map { $0 * factor })]
        }
        let trackedClass = tape.recordOperation("ssdClassLoss", inputs: [logits], output: classTerm) { gradient, _ in
            let factor = gradient.scalars[0] / divisor
            return [try Tensor(shape: logitShape, values: logitGradient.map { $0 * factor })]
        }
        return Terms(
            boxRegression: trackedBox, classification: trackedClass, positives: positives, correctPositives: correctPositives)
    }
}
