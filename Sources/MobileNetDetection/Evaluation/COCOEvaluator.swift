/// COCO's box-detection metrics exactly as pycocotools' `COCOeval(gt, dt, "bbox")` computes
/// them with `evaluate()`, `accumulate()` and `summarize()`: the same matching, the same
/// precision envelope and recall sampling, the same float64 arithmetic, so that the 12 numbers
/// agree with pycocotools' to the last bit (`Scripts/generate_coco_eval_fixtures.py` and
/// `COCOEvaluationTests` check it).
///
/// The evaluator holds a ground truth indexed by image and category; ``evaluate(_:)`` scores one
/// set of detections against it and can be called for each new set (each epoch).
///
/// ```swift
/// let evaluator = try COCOEvaluator(groundTruths: annotations, imageIDs: images)
/// let evaluation = try evaluator.evaluate(detections)
/// print(evaluation.summary)             // pycocotools' table
/// let ap = evaluation.summary.averagePrecision
/// ```
///
/// Where pycocotools would fail or give a silent surprise, the evaluator throws a
/// ``COCOEvaluationError`` instead (two annotations with one id, a detection on an image not
/// evaluated, a negative width, a NaN score). Where pycocotools has a defined behaviour the
/// evaluator keeps it: annotations and detections of categories not in ``categoryIDs`` are
/// left out; an empty set of detections (on which pycocotools' `loadRes` fails) gives AP and
/// AR 0 for every category with ground truth.
public struct COCOEvaluator: Sendable {
    public let parameters: COCOEvaluationParameters
    /// The evaluated images, sorted, without repeats (pycocotools' `np.unique(params.imgIds)`).
    public let imageIDs: [Int]
    /// The evaluated categories, sorted, without repeats.
    public let categoryIDs: [Int]
    /// The ground truth of each (image, category) with any, in the order it was given.
    let groundTruths: [Cell: [COCOGroundTruth]]
    /// Where each id lies in ``imageIDs`` and ``categoryIDs``.
    let imageIndex: [Int: Int]
    let categoryIndex: [Int: Int]

    /// An (image, category) pair by its indices in `imageIDs` and `categoryIDs`.
    struct Cell: Hashable {
        var image: Int
        var category: Int
    }

    /// Indexes a ground truth.
    ///
    /// - Parameters:
    ///   - groundTruths: the annotations, in the annotation file's order (the order decides
    ///     which of two equally good ground truths a detection takes).
    ///   - imageIDs: the images evaluated, as `cocoGt.getImgIds()`: pass the dataset's image
    ///     list so that images without annotations count (their detections are false
    ///     positives). By default the images that have annotations.
    ///   - categoryIDs: the categories evaluated, as `cocoGt.getCatIds()`. By default those with
    ///     annotations; a category without any has AP -1 and does not enter the means.
    public init(groundTruths: [COCOGroundTruth], imageIDs: [Int]? = nil, categoryIDs: [Int]? = nil) throws {
        parameters = .boundingBox
        self.imageIDs = Array(Set(imageIDs ?? groundTruths.map(\.imageID))).sorted()
        self.categoryIDs = Array(Set(categoryIDs ?? groundTruths.map(\.categoryID))).sorted()
        imageIndex = Dictionary(uniqueKeysWithValues: self.imageIDs.enumerated().map { ($1, $0) })
        categoryIndex = Dictionary(uniqueKeysWithValues: self.categoryIDs.enumerated().map { ($1, $0) })

        var seenIDs = Set<Int>()
        var cells: [Cell: [COCOGroundTruth]] = [:]
        for groundTruth in groundTruths {
            guard seenIDs.insert(groundTruth.id).inserted else {
                throw COCOEvaluationError.duplicateAnnotationID(groundTruth.id)
            }
            guard groundTruth.box.isValid else {
                throw COCOEvaluationError.invalidAnnotationBox(annotationID: groundTruth.id, box: groundTruth.box)
            }
            guard groundTruth.area.isFinite, groundTruth.area >= 0 else {
                throw COCOEvaluationError.invalidArea(annotationID: groundTruth.id, area: groundTruth.area)
            }
            guard let image = imageIndex[groundTruth.imageID] else {
                throw COCOEvaluationError.annotationImageNotListed(annotationID: groundTruth.id, imageID: groundTruth.imageID)
            }
            guard let category = categoryIndex[groundTruth.categoryID] else { continue }
            cells[Cell(image: image, category: category), default: []].append(groundTruth)
        }
        self.groundTruths = cells
    }

    /// Scores `detections` against the ground truth: pycocotools' `evaluate()` and
    /// `accumulate()`, with `summarize()`'s numbers in the result's ``COCOEvaluation/summary``.
    ///
    /// Detections may come in any order; only their scores rank them, and among equal scores
    /// the one given first ranks first (pycocotools' stable sort).
    public func evaluate(_ detections: [COCODetection]) throws -> COCOEvaluation {
        var cells: [Cell: [COCODetection]] = [:]
        for (index, detection) in detections.enumerated() {
            guard let image = imageIndex[detection.imageID] else {
                throw COCOEvaluationError.detectionImageNotListed(detectionIndex: index, imageID: detection.imageID)
            }
            guard detection.box.isValid else {
                throw COCOEvaluationError.invalidDetectionBox(detectionIndex: index, box: detection.box)
            }
            guard !detection.score.isNaN else {
                throw COCOEvaluationError.invalidScore(detectionIndex: index, score: detection.score)
            }
            guard let category = categoryIndex[detection.categoryID] else { continue }
            cells[Cell(image: image, category: category), default: []].append(detection)
        }

        let parameters = self.parameters, maxDetections = parameters.maxDetections.last ?? 0
        let layout = COCOEvaluation.Layout(parameters: parameters, categoryCount: categoryIDs.count)
        var precision = [Double](repeating: -1, count: layout.precisionTableCount)
        var recall = [Double](repeating: -1, count: layout.recallTableCount)
        for category in categoryIDs.indices {
            // The images with ground truth or detections of the category, their detections ranked.
            var images: [(groundTruths: [COCOGroundTruth], detections: [COCODetection])] = []
            for image in imageIDs.indices {
                let cell = Cell(image: image, category: category)
                let groundTruths = self.groundTruths[cell] ?? [], found = cells[cell] ?? []
                if groundTruths.isEmpty && found.isEmpty { continue }
                images.append((groundTruths, Self.ranked(found, limit: maxDetections)))
            }
            var evaluation = CategoryEvaluation(
                areaCount: parameters.areaRanges.count, detectionCount: images.reduce(0) { $0 + $1.detections.count },
                thresholdCount: parameters.iouThresholds.count)
            for (groundTruths, detections) in images {
                let start = evaluation.scores.count * parameters.iouThresholds.count
                evaluation.scores.append(contentsOf: detections.map(\.score))
                evaluation.ranks.append(contentsOf: detections.indices)
                let overlaps = Self.overlaps(detections, groundTruths)
                for (area, range) in parameters.areaRanges.enumerated() {
                    evaluation.countedGroundTruths[area] += Self.match(
                        detections, groundTruths, overlaps: overlaps, area: range, iouThresholds: parameters.iouThresholds,
                        from: start, isMatched: &evaluation.isMatched[area], isIgnored: &evaluation.isIgnored[area])
                }
            }
            Self.accumulate(
                evaluation, category: category, parameters: parameters, layout: layout, precision: &precision, recall: &recall)
        }
        return COCOEvaluation(
            parameters: parameters, imageIDs: imageIDs, categoryIDs: categoryIDs, precision: precision, recall: recall)
    }

    /// The detections by score, highest first, equal scores in the given order
    /// (`np.argsort(-scores, kind="mergesort")`), the first `limit` of them.
    static func ranked(_ detections: [COCODetection], limit: Int) -> [COCODetection] {
        ranking(detections.map(\.score)).prefix(limit).map { detections[$0] }
    }

    /// The indices of `scores` from the highest score to the lowest, equal scores in index
    /// order: numpy's stable `argsort(-scores, kind="mergesort")`.
    static func ranking(_ scores: [Double]) -> [Int] {
        scores.indices.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a < b }
    }

    /// The IoU of every detection with every ground truth, detection-major
    /// (`overlaps[d * groundTruths.count + g]`), as pycocotools' `computeIoU`.
    static func overlaps(_ detections: [COCODetection], _ groundTruths: [COCOGroundTruth]) -> [Double] {
        var overlaps = [Double](repeating: 0, count: detections.count * groundTruths.count)
        for (d, detection) in detections.enumerated() {
            for (g, groundTruth) in groundTruths.enumerated() {
                overlaps[d * groundTruths.count + g] = detection.box.intersectionOverUnion(
                    groundTruth: groundTruth.box, isCrowd: groundTruth.isCrowd)
            }
        }
        return overlaps
    }
}
