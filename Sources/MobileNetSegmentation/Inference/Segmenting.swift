import MobileNetData
import MobileNetIO
import MobileNetNN
import MobileNetTensor

extension LRASPP {
    /// Each photo's class map at the photo's own size: the photo resized so that its shorter
    /// side is `baseSize` (as torchvision's evaluation preset does, 520 for its VOC weights),
    /// normalized with ImageNet's statistics, segmented, each pixel's arg-max class taken, and
    /// the map resized back by nearest neighbour.
    ///
    /// - Throws: image and model errors as they come.
    public func segment(_ photos: [RGBImage], baseSize: Int) throws -> [[UInt8]] {
        setTraining(false)
        let classes = configuration.classCount
        return try photos.map { photo in
            let resized = try ImageTransforms.resizeShorterSide(photo, to: baseSize)
            let logits = try self(SegmentationEvaluation.normalized([resized]))
            return SegmentationTransforms.resizeLabels(
                SegmentationEvaluation.argmax(logits, classes: classes), width: resized.width, height: resized.height,
                to: photo.width, photo.height)
        }
    }
}

/// Class maps as pictures: each class in Pascal VOC's colour (``LabelMapPNG/vocColor(_:)``), or
/// blended half and half onto the photo where a class other than the background is.
public enum SegmentationPicture {
    public static func colored(_ labels: [UInt8], width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for (index, label) in labels.enumerated() {
            let (r, g, b) = LabelMapPNG.vocColor(label)
            pixels[index * 3] = r
            pixels[index * 3 + 1] = g
            pixels[index * 3 + 2] = b
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    public static func overlay(_ labels: [UInt8], on photo: RGBImage) -> RGBImage {
        var picture = photo
        for (index, label) in labels.enumerated() where label != 0 {
            let color = LabelMapPNG.vocColor(label)
            for (channel, value) in [color.0, color.1, color.2].enumerated() {
                let offset = index * 3 + channel
                picture.pixels[offset] = UInt8((Int(photo.pixels[offset]) + Int(value) + 1) / 2)
            }
        }
        return picture
    }

    /// Pictures side by side in rows of `columns` (each scene, then its map, say), separated by
    /// a 4-pixel gray margin; all must have the first one's size.
    public static func grid(_ pictures: [RGBImage], columns: Int) -> RGBImage {
        guard let first = pictures.first else { return RGBImage(width: 1, height: 1, pixels: [0, 0, 0]) }
        let margin = 4, rows = (pictures.count + columns - 1) / columns
        let width = columns * first.width + (columns + 1) * margin, height = rows * first.height + (rows + 1) * margin
        var pixels = [UInt8](repeating: 128, count: width * height * 3)
        for (index, picture) in pictures.enumerated() where picture.width == first.width && picture.height == first.height {
            let left = margin + (index % columns) * (first.width + margin), top = margin + (index / columns) * (first.height + margin)
            for y in 0..<picture.height {
                let target = ((top + y) * width + left) * 3
                pixels.replaceSubrange(target..<(target + picture.width * 3), with: picture.pixels[(y * picture.width * 3)..<((y + 1) * picture.width * 3)])
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
