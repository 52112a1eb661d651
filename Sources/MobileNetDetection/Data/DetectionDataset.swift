import MobileNetIO

/// Pictures with labelled boxes that a detector trains on and is evaluated against, in the spirit
/// of `ImageDataset`: annotations are known without decoding a pixel, pictures are produced on
/// demand, from any thread.
///
/// Labels are contiguous, `0` for the background and `1…K` for the object classes, and
/// ``classNames`` lists all `K + 1`, `"background"` first, as torchvision's detection models count
/// their `num_classes`; so `classNames[label]` names a label and `classNames.count` is the
/// classifier head's width.
public protocol DetectionDataset: Sendable {
    /// The number of pictures.
    var count: Int { get }
    /// `"background"`, then the name of each object class in label order.
    var classNames: [String] { get }
    /// The objects of picture `index` and its size, without decoding it.
    func annotation(at index: Int) -> DetectionAnnotation
    /// Picture `index`, 8-bit RGB, of the annotation's size.
    ///
    /// - Throws: whatever reading or decoding throws (an `ImageError` naming the file for a
    ///   corrupt one); a loader reports it and skips the sample.
    func image(at index: Int) throws -> RGBImage
    /// Picture `index` with its objects.
    func sample(at index: Int) throws -> DetectionSample
    /// A short name of picture `index` for warnings: a file path, or the dataset name and index.
    func sourceName(at index: Int) -> String
}

extension DetectionDataset {
    /// The name every detection dataset gives label 0.
    public static var backgroundName: String { "background" }

    public func sample(at index: Int) throws -> DetectionSample {
        let annotation = annotation(at: index)
        let image = try image(at: index)
        guard image.width == annotation.width, image.height == annotation.height else {
            throw DetectionDataError.imageSizeMismatch(
                path: sourceName(at: index), expectedWidth: annotation.width, expectedHeight: annotation.height,
                width: image.width, height: image.height)
        }
        return DetectionSample(image: image, annotation: annotation)
    }

    /// The number of labels, background included: the `num_classes` of a detector's head.
    public var labelCount: Int { classNames.count }

    /// Every picture's annotation, in order.
    public var annotations: [DetectionAnnotation] { (0..<count).map(annotation(at:)) }
}
