/// Greedy non-maximum suppression: visit boxes from the highest score down, keep a box unless
/// it overlaps one already kept by an IoU above the threshold (torchvision's `nms`, strictly
/// greater). Scores that tie are taken in index order.
///
/// Two implementations with the same output: ``keep(boxes:scores:iouThreshold:)`` precomputes the
/// areas and compares each kept box with all later ones in a loop without branches over flat
/// coordinate arrays (``keep(orderedBoxes:iouThreshold:)`` is that loop, for boxes already in order); ``referenceKeep(boxes:scores:iouThreshold:)`` is the definition, one IoU at a time,
/// for tests and readers.
public enum NonMaximumSuppression {
    /// Indices of the boxes kept, by descending score.
    public static func keep(boxes: [BoundingBox], scores: [Float], iouThreshold: Float) -> [Int] {
        precondition(boxes.count == scores.count, "one score per box")
        let order = descendingOrder(scores)
        return keep(orderedBoxes: order.map { boxes[$0] }, iouThreshold: iouThreshold).map { order[$0] }
    }

    /// Positions of the boxes kept among `orderedBoxes`, boxes already in visiting order (by
    /// descending score, ties by index), ascending.
    public static func keep(orderedBoxes boxes: [BoundingBox], iouThreshold: Float) -> [Int] {
        precondition(iouThreshold >= 0, "an IoU threshold is at least 0")
        let count = boxes.count
        // Flat coordinates, so that the inner loop reads memory in sequence.
        var x1 = [Float](), y1 = [Float](), x2 = [Float](), y2 = [Float](), area = [Float]()
        for box in boxes {
            x1.append(box.x1); y1.append(box.y1); x2.append(box.x2); y2.append(box.y2)
            area.append((box.x2 - box.x1) * (box.y2 - box.y1))
        }
        var suppressed = [UInt8](repeating: 0, count: count)
        var kept: [Int] = []
        x1.withUnsafeBufferPointer { x1 in y1.withUnsafeBufferPointer { y1 in
        x2.withUnsafeBufferPointer { x2 in y2.withUnsafeBufferPointer { y2 in
        area.withUnsafeBufferPointer { area in suppressed.withUnsafeMutableBufferPointer { suppressed in
            for i in 0..<count where suppressed[i] == 0 {
                kept.append(i)
                let (left, top, right, bottom, size) = (x1[i], y1[i], x2[i], y2[i], area[i])
                // Without branches, so that it runs several boxes at a time: a pair that does not
                // overlap has intersection 0 and IoU 0 (or NaN for two empty boxes), never above
                // a threshold ≥ 0; a box already suppressed is marked again.
                for j in (i + 1)..<count {
                    let width = max(min(right, x2[j]) - max(left, x1[j]), 0)
                    let height = max(min(bottom, y2[j]) - max(top, y1[j]), 0)
                    let overlap = width * height
                    suppressed[j] |= overlap / (size + area[j] - overlap) > iouThreshold ? 1 : 0
                }
            }
        } }
        } }
        } }
        return kept
    }

    /// The same selection as ``keep(boxes:scores:iouThreshold:)``, written as its definition.
    public static func referenceKeep(boxes: [BoundingBox], scores: [Float], iouThreshold: Float) -> [Int] {
        precondition(boxes.count == scores.count, "one score per box")
        precondition(iouThreshold >= 0, "an IoU threshold is at least 0")
        var remaining = descendingOrder(scores)
        var kept: [Int] = []
        while let best = remaining.first {
            kept.append(best)
            remaining = remaining.dropFirst().filter { !(boxes[best].intersectionOverUnion(boxes[$0]) > iouThreshold) }
        }
        return kept
    }

    /// Suppression within each class only (torchvision's `batched_nms`): indices kept, by
    /// descending score across classes.
    public static func batchedKeep(
        boxes: [BoundingBox], scores: [Float], classes: [Int], iouThreshold: Float, reference: Bool = false
    ) -> [Int] {
        precondition(boxes.count == scores.count && scores.count == classes.count, "one score and class per box")
        var members: [Int: [Int]] = [:]
        for (index, label) in classes.enumerated() { members[label, default: []].append(index) }
        var kept: [Int] = []
        for label in members.keys.sorted() {
            let indices = members[label]!
            let suppress = reference ? referenceKeep(boxes:scores:iouThreshold:) : keep(boxes:scores:iouThreshold:)
            let selected = suppress(indices.map { boxes[$0] }, indices.map { scores[$0] }, iouThreshold)
            kept += selected.map { indices[$0] }
        }
        return kept.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    /// Indices by descending score, ties by ascending index.
    static func descendingOrder(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }
}
