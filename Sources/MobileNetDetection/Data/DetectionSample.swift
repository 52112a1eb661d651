import MobileNetIO

/// One picture and its objects: what a detection dataset yields and its augmentation transforms.
///
/// `image` and `annotation` describe the same picture (`annotation.width == image.width`, and
/// the same for the height); every transform keeps them so.
public struct DetectionSample: Hashable, Sendable {
    public var image: RGBImage
    public var annotation: DetectionAnnotation

    public init(image: RGBImage, annotation: DetectionAnnotation) {
        precondition(
            image.width == annotation.width && image.height == annotation.height,
            "DetectionSample: a \(image.width)x\(image.height) image with an annotation for \(annotation.width)x\(annotation.height)")
        self.image = image
        self.annotation = annotation
    }

    /// Each object's box, corner form, in the picture's pixels.
    public var boxes: [BoundingBox] { annotation.boxes }
    /// Each object's label, 1…K.
    public var labels: [Int] { annotation.labels }
    /// Each object's crowd flag.
    public var isCrowd: [Bool] { annotation.isCrowd }
    /// The picture's id (COCO's `image_id`).
    public var imageID: Int { annotation.imageID }
}
