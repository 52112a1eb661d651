import Dispatch
import Synchronization
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
        @Sendable func image(_ n: Int) -> [Detection] {
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
        // The images of a batch on the engine's threads, each image on one.
        let results = Mutex([[Detection]](repeating: [], count: batch))
        let workers = max(1, min(CPUEngine.threadCount, batch))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for n in stride(from: worker, to: batch, by: workers) {
                let detections = image(n)
                results.withLock { $0[n] = detections }
            }
        }
        return results.withLock { $0 }
    }

    /// One image's selection from its decoded boxes and `[A, K]` class probabilities, in the
    /// network input's pixels.
    ///
    /// Two implementations with the same output. The reference collects every class's top
    /// candidates and hands them to ``NonMaximumSuppression/batchedKeep(boxes:scores:classes:iouThreshold:reference:)``,
    /// torchvision's order of work. The fast one orders candidates by one integer key per
    /// candidate (the score's bits, which order like the scores for probabilities ≥ 0, above the
    /// anchor's index: descending score, ties by index, as the reference sorts) and suppresses
    /// each class's candidates as soon as they are chosen, already in order.
    public func select(boxes: [BoundingBox], probabilities: [Float], classes: Int, reference: Bool = false) -> [Detection] {
        if reference { return referenceSelect(boxes: boxes, probabilities: probabilities, classes: classes) }
        var keys: [UInt64] = []
        keys.reserveCapacity(boxes.count)
        // The kept detections, with their keys by score and their place among all candidates.
        var kept: [Detection] = [], keptKeys: [UInt64] = []
        var candidates = 0
        for label in 1..<classes {
            keys.removeAll(keepingCapacity: true)
            probabilities.withUnsafeBufferPointer { p in
                var offset = label
                for anchor in 0..<boxes.count {
                    let score = p[offset]
                    if score > scoreThreshold { keys.append(Self.key(score, index: anchor)) }
                    offset += classes
                }
            }
            Self.sortSmallest(&keys, count: topKCandidates)
            let chosen = keys.prefix(topKCandidates)
            let chosenBoxes = chosen.map { boxes[Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF)] }
            for position in NonMaximumSuppression.keep(orderedBoxes: chosenBoxes, iouThreshold: nmsThreshold) {
                let score = Float(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: chosen[chosen.startIndex + position] >> 32))
                kept.append(Detection(box: chosenBoxes[position], label: label, score: score))
                keptKeys.append(Self.key(score, index: candidates + position))
            }
            candidates += chosen.count
        }
        // Across classes: by score, ties by the order the candidates were collected in.
        let order = keptKeys.indices.sorted { keptKeys[$0] < keptKeys[$1] }
        return order.prefix(detectionsPerImage).map { kept[$0] }
    }

    /// Sorts the `count` smallest of `keys` (distinct) into its first `count` places, the rest
    /// after them in no order: a quickselect (Hoare's partition, median-of-three pivot) for the
    /// cut, then a sort of what is before it; a full sort of thousands of anchors' keys per
    /// class would cost several times more.
    static func sortSmallest(_ keys: inout [UInt64], count: Int) {
        guard count < keys.count else { return keys.sort() }
        guard count > 0 else { return }
        keys.withUnsafeMutableBufferPointer { a in
            let target = count - 1
            var low = 0, high = a.count - 1
            while low < high {
                let (x, y, z) = (a[low], a[low + (high - low) / 2], a[high])
                let pivot = max(min(x, y), min(max(x, y), z))
                var i = low, j = high
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j {
                        a.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                // Now a[low...j] ≤ pivot ≤ a[i...high], and anything between them is the pivot.
                if target <= j { high = j } else if target >= i { low = i } else { break }
            }
            a[0..<count].sort()
        }
    }

    /// Orders like (score descending, index ascending) for scores ≥ 0 and indices below 2³².
    static func key(_ score: Float, index: Int) -> UInt64 {
        UInt64(UInt32.max - score.bitPattern) << 32 | UInt64(UInt32(truncatingIfNeeded: index))
    }

    /// ``select(boxes:probabilities:classes:reference:)`` as torchvision writes it.
    func referenceSelect(boxes: [BoundingBox], probabilities: [Float], classes: Int) -> [Detection] {
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
            iouThreshold: nmsThreshold, reference: true)
        return kept.prefix(detectionsPerImage).map { candidates[$0] }
    }
}
