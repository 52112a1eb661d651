/// The result of ``COCOEvaluator/evaluate(_:)``: pycocotools' `eval["precision"]` and
/// `eval["recall"]`, and the 12 numbers of `summarize()`.
public struct COCOEvaluation: Sendable, CustomStringConvertible {
    public let parameters: COCOEvaluationParameters
    public let imageIDs: [Int]
    public let categoryIDs: [Int]
    /// Precision at each IoU threshold, recall threshold, category, area range and detection
    /// limit (T × R × K × A × M, row-major as numpy's C order), -1 where the category has no
    /// counted ground truth in the area range. See ``precision(iou:recall:category:area:maxDetections:)``.
    public let precision: [Double]
    /// The recall reached with all detections, T × K × A × M, -1 as in ``precision``.
    public let recall: [Double]
    /// `COCOeval.stats` with their labels.
    public let summary: COCOSummary
    /// Per category, in ``categoryIDs``' order: the AP over IoU 0.50:0.95 at area "all" and
    /// 100 detections (the mean of `precision[:, :, k, 0, -1]` above -1, as Detectron2's
    /// per-category table), -1 for a category without ground truth.
    public let categoryAveragePrecision: [Double]
    let layout: Layout

    init(parameters: COCOEvaluationParameters, imageIDs: [Int], categoryIDs: [Int], precision: [Double], recall: [Double]) {
        self.parameters = parameters
        self.imageIDs = imageIDs
        self.categoryIDs = categoryIDs
        self.precision = precision
        self.recall = recall
        layout = Layout(parameters: parameters, categoryCount: categoryIDs.count)
        let means = Means(layout: layout, precision: precision, recall: recall)
        summary = COCOSummary(parameters: parameters, means: means)
        categoryAveragePrecision = categoryIDs.indices.map { category in
            means.precision(
                thresholds: parameters.iouThresholds.indices, categories: category..<(category + 1),
                area: 0, maxDetections: parameters.maxDetections.count - 1)
        }
    }

    /// `eval["precision"][t, r, k, a, m]`, by indices into the parameters' thresholds and
    /// limits and into ``categoryIDs``.
    public func precision(iou t: Int, recall r: Int, category k: Int, area a: Int, maxDetections m: Int) -> Double {
        precision[layout.precisionIndex(t, r, k, a, m)]
    }

    /// `eval["recall"][t, k, a, m]`.
    public func recall(iou t: Int, category k: Int, area a: Int, maxDetections m: Int) -> Double {
        recall[layout.recallIndex(t, k, a, m)]
    }

    /// The AP of one category (``categoryAveragePrecision``), nil for one not evaluated.
    public func averagePrecision(categoryID: Int) -> Double? {
        categoryIDs.firstIndex(of: categoryID).map { categoryAveragePrecision[$0] }
    }

    /// pycocotools' summary table.
    public var description: String { summary.description }

    /// Where an entry of the precision and recall tables lies: numpy's C order of
    /// `[T, R, K, A, M]` and `[T, K, A, M]`.
    struct Layout {
        let thresholdCount: Int
        let recallCount: Int
        let categoryCount: Int
        let areaCount: Int
        let limitCount: Int

        init(parameters: COCOEvaluationParameters, categoryCount: Int) {
            thresholdCount = parameters.iouThresholds.count
            recallCount = parameters.recallThresholds.count
            self.categoryCount = categoryCount
            areaCount = parameters.areaRanges.count
            limitCount = parameters.maxDetections.count
        }

        var precisionTableCount: Int { thresholdCount * recallCount * categoryCount * areaCount * limitCount }
        var recallTableCount: Int { thresholdCount * categoryCount * areaCount * limitCount }

        func precisionIndex(_ t: Int, _ r: Int, _ k: Int, _ a: Int, _ m: Int) -> Int {
            (((t * recallCount + r) * categoryCount + k) * areaCount + a) * limitCount + m
        }

        func recallIndex(_ t: Int, _ k: Int, _ a: Int, _ m: Int) -> Int {
            ((t * categoryCount + k) * areaCount + a) * limitCount + m
        }
    }

    /// `np.mean(s[s > -1])` over slices of the precision and recall tables, the values taken in
    /// numpy's C order (threshold, recall threshold, category); -1 when none is above -1.
    struct Means {
        let layout: Layout
        let precision: [Double]
        let recall: [Double]

        /// `precision[thresholds, :, categories, area, maxDetections]`.
        func precision(thresholds: some Sequence<Int>, categories: Range<Int>? = nil, area: Int, maxDetections: Int) -> Double {
            var values: [Double] = []
            for t in thresholds {
                for r in 0..<layout.recallCount {
                    for k in categories ?? 0..<layout.categoryCount {
                        let value = precision[layout.precisionIndex(t, r, k, area, maxDetections)]
                        if value > -1 { values.append(value) }
                    }
                }
            }
            return values.isEmpty ? -1 : numpyMean(values)
        }

        /// `recall[thresholds, :, area, maxDetections]`.
        func recall(thresholds: some Sequence<Int>, area: Int, maxDetections: Int) -> Double {
            var values: [Double] = []
            for t in thresholds {
                for k in 0..<layout.categoryCount {
                    let value = recall[layout.recallIndex(t, k, area, maxDetections)]
                    if value > -1 { values.append(value) }
                }
            }
            return values.isEmpty ? -1 : numpyMean(values)
        }
    }
}
