extension COCOEvaluator {
    /// pycocotools' `accumulate` for one category: per area range and detection limit, the
    /// images' top detections ranked together, precision at each recall threshold and the final
    /// recall, written into `precision` (T × R × K × A × M) and `recall` (T × K × A × M), which
    /// keep -1 where the category has no counted ground truth in an area range.
    static func accumulate(
        _ evaluation: CategoryEvaluation, category: Int, parameters: COCOEvaluationParameters,
        layout: COCOEvaluation.Layout, precision: inout [Double], recall: inout [Double]
    ) {
        let thresholdCount = layout.thresholdCount
        // Ranked by score, ties in image order then rank (a stable sort of the concatenation).
        // The ranking of any subset, such as each image's first 10, is this one filtered.
        let ranking = Self.ranking(evaluation.scores)

        for area in 0..<layout.areaCount {
            let counted = evaluation.countedGroundTruths[area]
            if counted == 0 { continue }
            let isMatched = evaluation.isMatched[area], isIgnored = evaluation.isIgnored[area]
            for (limitIndex, limit) in parameters.maxDetections.enumerated() {
                let kept = ranking.filter { evaluation.ranks[$0] < limit }
                // Threshold-major running recall and precision.
                var recalls = [Double](repeating: 0, count: thresholdCount * kept.count)
                var precisions = recalls
                var truePositives = [Double](repeating: 0, count: thresholdCount)
                var falsePositives = truePositives
                for position in 0..<kept.count {
                    for t in 0..<thresholdCount {
                        let flag = kept[position] * thresholdCount + t
                        if !isIgnored[flag] {
                            if isMatched[flag] { truePositives[t] += 1 } else { falsePositives[t] += 1 }
                        }
                        recalls[t * kept.count + position] = truePositives[t] / Double(counted)
                        // np.spacing(1) keeps 0/0 at 0 (and makes a lone true positive's 1 - 2⁻⁵²).
                        precisions[t * kept.count + position] =
                            truePositives[t] / (falsePositives[t] + truePositives[t] + Double.ulpOfOne)
                    }
                }
                for t in 0..<thresholdCount {
                    let first = t * kept.count, end = first + kept.count
                    recall[layout.recallIndex(t, category, area, limitIndex)] = kept.isEmpty ? 0 : recalls[end - 1]
                    // The envelope: the best precision at this recall or any higher one.
                    var i = end - 1
                    while i > first {
                        if precisions[i] > precisions[i - 1] { precisions[i - 1] = precisions[i] }
                        i -= 1
                    }
                    // At each recall threshold the first detection reaching it
                    // (np.searchsorted(rc, recThrs, side="left")), 0 past the last recall.
                    var position = first
                    for r in 0..<layout.recallCount {
                        while position < end && recalls[position] < parameters.recallThresholds[r] { position += 1 }
                        precision[layout.precisionIndex(t, r, category, area, limitIndex)] = position < end ? precisions[position] : 0
                    }
                }
            }
        }
    }
}
