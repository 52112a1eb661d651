/// Greedy non-maximum suppression: visit boxes from the highest score down, keep a box unless
/// it overlaps one already kept by an IoU above the threshold (torchvision's `nms`, strictly
/// greater). Scores that tie are taken in index order.
///
/// Two implementations with the same output: ``keep(boxes:scores:iouThreshold:)`` precomputes the
/// areas, works on flat coordinate arrays and skips a pair as soon as the boxes' x extents do not
/// overlap; ``referenceKeep(boxes:scores:iouThreshold:)`` is the definition, one IoU at a time,
/// for tests and readers.
public enum NonMaximumSuppression {
    /// Indices of the boxes kept, by descending score.
    public static func keep(boxes: [BoundingBox], scores: [Float], iouThreshold: Float) -> [Int] {
        precondition(boxes.count == scores.count, "one score per box")
        precondition(iouThreshold >= 0, "an IoU threshold is at least 0")
        let order = descendingOrder(scores)
        let count = order.count
        // Coordinates in visiting order, so that the inner loop reads memory in sequence.
        var x1 = [Float](), y1 = [Float](), x2 = [Float](), y2 = [Float](), area = [Float]()
        for index in order {
            let box = boxes[index]
            x1.append(box.x1); y1.append(box.y1); x2.append(box.x2); y2.append(box.y2)
            area.append((box.x2 - box.x1) * (box.y2 - box.y1))
        }
        var suppressed = [Bool](repeating: false, count: count)
        var kept: [Int] = []
        for i in 0..<count where !suppressed[i] {
            kept.append(order[i])
            for j in (i + 1)..<count where !suppressed[j] {
                let width = min(x2[i], x2[j]) - max(x1[i], x1[j])
                if !(width > 0) { continue }  // no overlap: IoU 0, never above a threshold ≥ 0
                let height = min(y2[i], y2[j]) - max(y1[i], y1[j])
                if !(height > 0) { continue }
                let overlap = width * height
                if overlap / (area[i] + area[j] - overlap) > iouThreshold { suppressed[j] = true }
            }
        }
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
