extension COCOEvaluator {
    /// What pycocotools' `evaluateImg` keeps of one category over all images, for `accumulate`.
    struct CategoryEvaluation {
        /// Each image's ranked detections' scores, the images (with ground truth or
        /// detections of the category) in image order.
        var scores: [Double] = []
        /// Each detection's rank on its image, 0 for the highest score.
        var ranks: [Int] = []
        /// Per area range, detection-major (`isMatched[area][detection * T + threshold]`): the
        /// detection matched a ground truth whose id is not 0 (pycocotools stores the matched
        /// id and tests it for 0).
        var isMatched: [[Bool]]
        /// Same layout: matched an ignored ground truth, or unmatched with its area outside the range.
        var isIgnored: [[Bool]]
        /// Per area range, the ground truths that count: neither crowd nor outside the range.
        var countedGroundTruths: [Int]

        init(areaCount: Int, detectionCount: Int, thresholdCount: Int) {
            scores.reserveCapacity(detectionCount)
            ranks.reserveCapacity(detectionCount)
            isMatched = Array(repeating: Array(repeating: false, count: detectionCount * thresholdCount), count: areaCount)
            isIgnored = isMatched
            countedGroundTruths = Array(repeating: 0, count: areaCount)
        }
    }

    /// Matches one image's ranked detections of a category to its ground truths, greedily by
    /// score, at each IoU threshold, as pycocotools' `evaluateImg`; writes the detections' flags
    /// (detection-major) from `start` on, and returns how many ground truths count.
    ///
    /// A ground truth is ignored when it is a crowd or its area is outside `area`; ignored ones
    /// are tried last (a stable sort on the flag). Each detection takes the ground truth of
    /// highest IoU, at least the threshold (capped at 1 - 1e-10), not yet taken unless a crowd
    /// (crowds take any number); on equal IoUs the later one in that order; an ignored ground
    /// truth only when no counted one qualifies. A detection that matches an ignored ground
    /// truth is ignored, so is an unmatched one whose own area (width × height) is outside `area`.
    static func match(
        _ detections: [COCODetection], _ groundTruths: [COCOGroundTruth], overlaps: [Double],
        area: COCOEvaluationParameters.AreaRange, iouThresholds: [Double],
        from start: Int, isMatched: inout [Bool], isIgnored: inout [Bool]
    ) -> Int {
        let ignores = groundTruths.map { $0.isCrowd || !area.contains($0.area) }
        let order = groundTruths.indices.filter { !ignores[$0] } + groundTruths.indices.filter { ignores[$0] }
        let thresholdCount = iouThresholds.count
        var taken = [Bool](repeating: false, count: order.count)

        for t in 0..<thresholdCount {
            for position in 0..<taken.count { taken[position] = false }
            for d in 0..<detections.count {
                let flag = start + d * thresholdCount + t
                var best = min(iouThresholds[t], 1 - 1e-10)
                var match: Int?  // a position in `order`
                for position in 0..<order.count {
                    let g = order[position]
                    if taken[position] && !groundTruths[g].isCrowd { continue }
                    // Once matched to a counted ground truth, stop at the first ignored one.
                    if let m = match, !ignores[order[m]], ignores[g] { break }
                    let overlap = overlaps[d * groundTruths.count + g]
                    if overlap < best { continue }
                    best = overlap
                    match = position
                }
                if let m = match {
                    taken[m] = true
                    isIgnored[flag] = ignores[order[m]]
                    isMatched[flag] = groundTruths[order[m]].id != 0
                }
                if !isMatched[flag] && !area.contains(detections[d].box.area) { isIgnored[flag] = true }
            }
        }
        return ignores.count { !$0 }
    }
}
