import MobileNetData
import MobileNetIO

/// A picture and its class map changed together: resized (the picture bilinearly, as Pillow
/// does; the map by nearest neighbour, so labels stay labels), flipped, padded and cropped.
public enum SegmentationTransforms {
    /// Both to `width` x `height`; a label is the one at the centre of the source pixel the
    /// output pixel's centre falls in (Pillow's `NEAREST`).
    public static func resize(_ sample: SegmentationSample, width: Int, height: Int) throws -> SegmentationSample {
        let image = try ImageTransforms.resize(sample.image, width: width, height: height)
        let labels = resizeLabels(sample.labels, width: sample.image.width, height: sample.image.height, to: width, height)
        return SegmentationSample(image: image, labels: labels)
    }

    /// A `width` x `height` class map alone resized to `newWidth` x `newHeight` by nearest
    /// neighbour, as ``resize(_:width:height:)`` resizes a sample's (a predicted map going back
    /// to its photo's size has no picture to resize with it).
    public static func resizeLabels(_ labels: [UInt8], width: Int, height: Int, to newWidth: Int, _ newHeight: Int) -> [UInt8] {
        precondition(labels.count == width * height, "one label per pixel")
        let columns = nearestSources(input: width, output: newWidth)
        var resized = [UInt8](repeating: 0, count: newWidth * newHeight)
        for (y, row) in nearestSources(input: height, output: newHeight).enumerated() {
            for x in 0..<newWidth { resized[y * newWidth + x] = labels[row * width + columns[x]] }
        }
        return resized
    }

    /// The input index each output index of a nearest-neighbour resize along one axis reads:
    /// the input pixel that the output pixel's centre falls in.
    public static func nearestSources(input: Int, output: Int) -> [Int] {
        (0..<output).map { min(input - 1, Int((Double($0) + 0.5) * Double(input) / Double(output))) }
    }

    /// Both resized so that the shorter side is `size` (torchvision's `F.resize(image, size)`).
    public static func resizeShorterSide(_ sample: SegmentationSample, to size: Int) throws -> SegmentationSample {
        let (width, height) = ImageTransforms.shorterSideSize(width: sample.image.width, height: sample.image.height, shorterSide: size)
        return try resize(sample, width: width, height: height)
    }

    public static func horizontalFlip(_ sample: SegmentationSample) -> SegmentationSample {
        let width = sample.image.width
        var labels = sample.labels
        for y in 0..<sample.image.height {
            for x in 0..<width { labels[y * width + x] = sample.labels[y * width + width - 1 - x] }
        }
        return SegmentationSample(image: ImageTransforms.horizontalFlip(sample.image), labels: labels)
    }

    /// Both padded on the right and bottom to at least `width` x `height`: the picture with
    /// black, the map with ``SegmentationSample/ignoredLabel`` (torchvision's `pad_if_smaller`).
    public static func padIfSmaller(_ sample: SegmentationSample, width: Int, height: Int) -> SegmentationSample {
        let (oldWidth, oldHeight) = (sample.image.width, sample.image.height)
        guard oldWidth < width || oldHeight < height else { return sample }
        let (newWidth, newHeight) = (max(width, oldWidth), max(height, oldHeight))
        var pixels = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        var labels = [UInt8](repeating: SegmentationSample.ignoredLabel, count: newWidth * newHeight)
        for y in 0..<oldHeight {
            pixels.replaceSubrange(
                (y * newWidth * 3)..<(y * newWidth * 3 + oldWidth * 3), with: sample.image.pixels[(y * oldWidth * 3)..<((y + 1) * oldWidth * 3)])
            labels.replaceSubrange((y * newWidth)..<(y * newWidth + oldWidth), with: sample.labels[(y * oldWidth)..<((y + 1) * oldWidth)])
        }
        return SegmentationSample(image: RGBImage(width: newWidth, height: newHeight, pixels: pixels), labels: labels)
    }

    /// The `width` x `height` window at (`left`, `top`) of both, which must lie inside.
    public static func crop(_ sample: SegmentationSample, left: Int, top: Int, width: Int, height: Int) throws -> SegmentationSample {
        let image = try ImageTransforms.crop(sample.image, left: left, top: top, width: width, height: height)
        var labels: [UInt8] = []
        labels.reserveCapacity(width * height)
        for y in top..<(top + height) {
            labels += sample.labels[(y * sample.image.width + left)..<(y * sample.image.width + left + width)]
        }
        return SegmentationSample(image: image, labels: labels)
    }
}
