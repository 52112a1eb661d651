/// Why `COCOEvaluator` refuses a ground truth or a set of detections. Each case names the
/// offending entry by its index in the array passed in (and its id where it has one).
public enum COCOEvaluationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Two annotations share an id (pycocotools would silently evaluate one of them twice).
    case duplicateAnnotationID(Int)
    /// An annotation for an image that is not in the evaluated image ids.
    case annotationImageNotListed(annotationID: Int, imageID: Int)
    /// A detection for an image that is not in the evaluated image ids (pycocotools' `loadRes`
    /// asserts "Results do not correspond to current coco set").
    case detectionImageNotListed(detectionIndex: Int, imageID: Int)
    /// A box with a coordinate that is not finite, or a negative width or height.
    case invalidAnnotationBox(annotationID: Int, box: COCOBox)
    case invalidDetectionBox(detectionIndex: Int, box: COCOBox)
    /// An annotation area that is negative or not finite.
    case invalidArea(annotationID: Int, area: Double)
    /// A score that is not a number, which has no place in a ranking.
    case invalidScore(detectionIndex: Int, score: Double)

    public var description: String {
        switch self {
        case let .duplicateAnnotationID(id):
            "two ground-truth annotations have the id \(id); annotation ids must be unique"
        case let .annotationImageNotListed(annotationID, imageID):
            "ground-truth annotation \(annotationID) is on image \(imageID), which is not among the evaluated images"
        case let .detectionImageNotListed(index, imageID):
            "detection \(index) is on image \(imageID), which is not among the evaluated images"
        case let .invalidAnnotationBox(annotationID, box):
            "ground-truth annotation \(annotationID) has the box \(box); "
                + "expected finite numbers and a width and height of at least 0"
        case let .invalidDetectionBox(index, box):
            "detection \(index) has the box \(box); expected finite numbers and a width and height of at least 0"
        case let .invalidArea(annotationID, area):
            "ground-truth annotation \(annotationID) has the area \(area); expected a finite number of at least 0"
        case let .invalidScore(index, score):
            "detection \(index) has the score \(score); expected a number"
        }
    }
}
