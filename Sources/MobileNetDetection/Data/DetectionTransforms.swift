import MobileNetData
import MobileNetIO

/// The geometric transforms of a detection sample, moving its boxes with its pixels, as
/// torchvision's detection references (`references/detection/transforms.py`) define them. The
/// random ones, and the seeded pipeline that chains them, are in ``DetectionAugmentation``.
public enum DetectionTransforms {
    /// The sample mirrored left to right: box `[x1, x2]` becomes `[width - x2, width - x1]`.
    public static func horizontalFlip(_ sample: DetectionSample) -> DetectionSample {
        var annotation = sample.annotation
        let width = Float(annotation.width)
        annotation.boxes = annotation.boxes.map { BoundingBox(x1: width - $0.x2, y1: $0.y1, x2: width - $0.x1, y2: $0.y2) }
        return DetectionSample(image: ImageTransforms.horizontalFlip(sample.image), annotation: annotation)
    }

    /// The `region` of the sample, with the objects whose box centres lie strictly inside it:
    /// their boxes shifted by the region's origin and clipped to it (`RandomIoUCrop`'s cut). The
    /// other objects are dropped. A clipped object's area shrinks with its box.
    ///
    /// - Throws: `ImageTransformError` when the region does not lie inside the picture.
    public static func crop(_ sample: DetectionSample, to region: CropRegion) throws -> DetectionSample {
        let image = try ImageTransforms.crop(
            sample.image, left: region.left, top: region.top, width: region.width, height: region.height)
        let (left, top) = (Float(region.left), Float(region.top))
        let frame = BoundingBox(x: left, y: top, width: Float(region.width), height: Float(region.height))
        let inside = sample.boxes.indices.filter { sample.boxes[$0].hasCentre(strictlyInside: frame) }
        var annotation = sample.annotation.keeping(inside)
        annotation.width = region.width
        annotation.height = region.height
        for index in annotation.boxes.indices {
            let box = annotation.boxes[index]
            let moved = BoundingBox(x1: box.x1 - left, y1: box.y1 - top, x2: box.x2 - left, y2: box.y2 - top)
                .clipped(width: Float(region.width), height: Float(region.height))
            if box.area > 0 { annotation.areas[index] *= moved.area / box.area }
            annotation.boxes[index] = moved
        }
        return DetectionSample(image: image, annotation: annotation)
    }

    /// The sample resized to `width` x `height` (Pillow's bilinear filter, see
    /// `ImageTransforms.resize`), its boxes and areas scaled alongside.
    ///
    /// torchvision's SSD resizes inside the model, with `interpolate(mode="bilinear")`, which
    /// does not antialias; when shrinking, Pillow's filter averages every covered pixel instead,
    /// so the pixels differ there (not the boxes).
    ///
    /// - Throws: `ImageTransformError` for a size that is not positive.
    public static func resize(_ sample: DetectionSample, width: Int, height: Int) throws -> DetectionSample {
        let image = try ImageTransforms.resize(sample.image, width: width, height: height)
        var annotation = sample.annotation
        let (scaleX, scaleY) = (Float(width) / Float(annotation.width), Float(height) / Float(annotation.height))
        annotation.width = width
        annotation.height = height
        annotation.boxes = annotation.boxes.map { $0.scaled(x: scaleX, y: scaleY) }
        annotation.areas = annotation.areas.map { $0 * scaleX * scaleY }
        return DetectionSample(image: image, annotation: annotation)
    }
}

extension BoundingBox {
    /// Whether the box's centre lies strictly inside `frame`, the test by which a crop keeps a box.
    func hasCentre(strictlyInside frame: BoundingBox) -> Bool {
        let (centreX, centreY) = (0.5 * (x1 + x2), 0.5 * (y1 + y2))
        return frame.x1 < centreX && centreX < frame.x2 && frame.y1 < centreY && centreY < frame.y2
    }
}
