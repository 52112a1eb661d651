import MobileNetNN

/// A detector run over a labelled dataset and scored as COCO scores it.
public struct DetectionEvaluation {
    /// COCO's numbers, with the dataset's labels as category ids.
    public var coco: COCOEvaluation
    /// What the detector found in each picture, in its pixels, in dataset order.
    public var detections: [[Detection]]

    /// Runs `detector` (in evaluation mode, compiled as ``SSDLiteInference``, through its own
    /// transform and post-processing, as `detect` does) over every picture of `dataset`, `batchSize` at a time, and evaluates the
    /// detections against the dataset's boxes (crowd boxes as COCO treats them).
    ///
    /// - Throws: `CancellationError` once `shouldStop` answers `true` (asked before each batch);
    ///   reading and model errors as they come.
    public static func run(
        _ detector: SSDLite, on dataset: any DetectionDataset, batchSize: Int = 16, shouldStop: () -> Bool = { false }
    ) throws -> DetectionEvaluation {
        let wasTraining = detector.namedModules().contains { ($0.module as? ModeDependent)?.isTraining == true }
        detector.setTraining(false)
        defer { if wasTraining { detector.setTraining(true) } }
        let compiled = try SSDLiteInference(detector)
        var detections: [[Detection]] = []
        detections.reserveCapacity(dataset.count)
        for start in stride(from: 0, to: dataset.count, by: max(batchSize, 1)) {
            if shouldStop() { throw CancellationError() }
            let images = try (start..<min(start + batchSize, dataset.count)).map { try dataset.image(at: $0) }
            detections += try compiled.detect(images)
        }
        let annotations = dataset.annotations
        var groundTruths: [COCOGroundTruth] = []
        for annotation in annotations {
            for index in 0..<annotation.count {
                let box = annotation.boxes[index]
                groundTruths.append(COCOGroundTruth(
                    id: groundTruths.count + 1, imageID: annotation.imageID, categoryID: annotation.labels[index],
                    box: COCOBox(box), area: Double(annotation.areas[index]), isCrowd: annotation.isCrowd[index]))
            }
        }
        let results = zip(annotations, detections).flatMap { annotation, found in
            found.map { COCODetection(imageID: annotation.imageID, categoryID: $0.label, box: COCOBox($0.box), score: Double($0.score)) }
        }
        let evaluator = try COCOEvaluator(
            groundTruths: groundTruths, imageIDs: annotations.map(\.imageID), categoryIDs: Array(1..<dataset.labelCount))
        return DetectionEvaluation(coco: try evaluator.evaluate(results), detections: detections)
    }
}
