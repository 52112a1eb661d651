import MobileNetDetection
import MobileNetTensor
import XCTest

final class NonMaximumSuppressionTests: XCTestCase {
    func testKeepsTheBestOfEachOverlappingGroup() {
        let boxes = [
            BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10),  // best of the first group
            BoundingBox(x1: 1, y1: 1, x2: 11, y2: 11),  // IoU 81/119 = 0.68 with 0: suppressed
            BoundingBox(x1: 5, y1: 0, x2: 15, y2: 10),  // IoU 50/150 = 0.33 with 0: kept
            BoundingBox(x1: 20, y1: 20, x2: 30, y2: 30),  // alone
        ]
        let scores: [Float] = [0.9, 0.95, 0.5, 0.1]
        // Box 1 scores highest, so it suppresses box 0 (IoU 0.68); box 2 overlaps box 1 by 54/146.
        XCTAssertEqual(NonMaximumSuppression.keep(boxes: boxes, scores: scores, iouThreshold: 0.5), [1, 2, 3])
        XCTAssertEqual(NonMaximumSuppression.keep(boxes: boxes, scores: scores, iouThreshold: 0.3), [1, 3])
        // Only within a class: boxes 0 and 1 in different classes both stay.
        XCTAssertEqual(
            NonMaximumSuppression.batchedKeep(boxes: boxes, scores: scores, classes: [1, 2, 2, 1], iouThreshold: 0.5), [1, 0, 2, 3])
        XCTAssertEqual(NonMaximumSuppression.keep(boxes: [], scores: [], iouThreshold: 0.5), [])
    }

    /// The fast version against the definition on crowded random boxes, ties and empty boxes
    /// included, at several thresholds.
    func testFastEqualsReference() {
        var generator = SplitMix64(seed: 55)
        for trial in 0..<20 {
            let count = 50 + trial * 20
            let boxes = (0..<count).map { index -> BoundingBox in
                let x = Float.random(in: 0...100, using: &generator), y = Float.random(in: 0...100, using: &generator)
                let side = index % 17 == 0 ? 0 : Float.random(in: 5...40, using: &generator)
                return BoundingBox(x1: x, y1: y, x2: x + side, y2: y + side * Float.random(in: 0.5...2, using: &generator))
            }
            let scores = (0..<count).map { _ in Float(Int.random(in: 0..<40, using: &generator)) / 40 }  // many ties
            let classes = (0..<count).map { _ in Int.random(in: 1...3, using: &generator) }
            for threshold: Float in [0, 0.3, 0.55, 0.9] {
                XCTAssertEqual(
                    NonMaximumSuppression.keep(boxes: boxes, scores: scores, iouThreshold: threshold),
                    NonMaximumSuppression.referenceKeep(boxes: boxes, scores: scores, iouThreshold: threshold),
                    "trial \(trial), threshold \(threshold)")
                XCTAssertEqual(
                    NonMaximumSuppression.batchedKeep(boxes: boxes, scores: scores, classes: classes, iouThreshold: threshold),
                    NonMaximumSuppression.batchedKeep(
                        boxes: boxes, scores: scores, classes: classes, iouThreshold: threshold, reference: true))
            }
        }
    }

    /// The post-processor's selection (threshold, top-k per class, per-class NMS, at most N),
    /// fast against reference, on crowded boxes with probabilities that tie within and across
    /// classes, exactly 0 included, with limits that cut (top-k 40, 60 detections) and that do not.
    func testFastSelectionEqualsReference() {
        var generator = SplitMix64(seed: 56)
        for trial in 0..<12 {
            let anchors = 100 + trial * 40, classes = 2 + trial % 5
            let boxes = (0..<anchors).map { _ -> BoundingBox in
                let x = Float.random(in: 0...200, using: &generator), y = Float.random(in: 0...200, using: &generator)
                return BoundingBox(x1: x, y1: y, x2: x + Float.random(in: 0...60, using: &generator), y2: y + Float.random(in: 1...60, using: &generator))
            }
            let probabilities = (0..<(anchors * classes)).map { _ in Float(Int.random(in: 0..<25, using: &generator)) / 24 }
            for (topK, limit, threshold) in [(40, 60, Float(0.001)), (300, 300, 0), (300, 300, 0.5)] {
                let postprocessor = SSDPostprocessor(scoreThreshold: threshold, detectionsPerImage: limit, topKCandidates: topK)
                let fast = postprocessor.select(boxes: boxes, probabilities: probabilities, classes: classes)
                let reference = postprocessor.select(boxes: boxes, probabilities: probabilities, classes: classes, reference: true)
                XCTAssertFalse(reference.isEmpty)
                XCTAssertEqual(fast, reference, "trial \(trial), top \(topK), at most \(limit), threshold \(threshold)")
            }
        }
    }

    func testBoxCodingRoundTrips() {
        let coder = BoxCoder()
        let anchor = BoundingBox(x1: 10, y1: 20, x2: 50, y2: 40)
        let box = BoundingBox(x1: 12, y1: 18, x2: 70, y2: 45)
        let offsets = coder.encode(box, anchor: anchor)
        // (10 · (41 - 30) / 40, 10 · (31.5 - 30) / 20, 5 · log(58 / 40), 5 · log(27 / 20))
        XCTAssertEqual(offsets.0, 2.75, accuracy: 1e-6)
        XCTAssertEqual(offsets.1, 0.75, accuracy: 1e-6)
        XCTAssertEqual(offsets.2, 5 * log(58 / 40), accuracy: 1e-6)
        let decoded = coder.decode(offsets, anchor: anchor)
        for (a, b) in zip([decoded.x1, decoded.y1, decoded.x2, decoded.y2], [box.x1, box.y1, box.x2, box.y2]) {
            XCTAssertEqual(a, b, accuracy: 1e-4)
        }
        // A huge log-scale is clipped at log(1000 / 16).
        XCTAssertEqual(coder.decode((0, 0, 1000, 0), anchor: anchor).width, 40 * 1000 / 16, accuracy: 0.01)
    }
}
