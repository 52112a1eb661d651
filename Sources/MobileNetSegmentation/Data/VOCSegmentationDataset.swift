import Foundation
import MobileNetIO

/// Pascal VOC's segmentation layout, the way people hold their own masks: a split list
/// `ImageSets/Segmentation/<split>.txt` (one image id per line), the pictures
/// `JPEGImages/<id>.jpg` and the class maps `SegmentationClass/<id>.png` (8-bit palette PNGs of
/// class indices, 255 on the borders to ignore). VOC's 21 classes, background first.
///
/// The list is read when the dataset is made; a picture and its mask when a sample is asked for,
/// with one-line errors naming the file (``SegmentationDataError``).
public struct VOCSegmentationDataset: SegmentationDataset {
    public let root: URL
    public let split: String
    public let ids: [String]
    public let classNames: [String]

    /// VOC 2012's classes.
    public static let vocClassNames = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
        "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    /// - Throws: ``SegmentationDataError/missingSplitList(path:)`` or
    ///   ``SegmentationDataError/emptySplit(path:)`` for the split list.
    public init(root: URL, split: String, classNames: [String] = Self.vocClassNames) throws {
        let list = root.appendingPathComponent("ImageSets/Segmentation/\(split).txt")
        guard let text = try? String(contentsOf: list, encoding: .utf8) else {
            throw SegmentationDataError.missingSplitList(path: list.path)
        }
        ids = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !ids.isEmpty else { throw SegmentationDataError.emptySplit(path: list.path) }
        self.root = root
        self.split = split
        self.classNames = classNames
    }

    public var count: Int { ids.count }

    public func imageURL(at index: Int) -> URL { root.appendingPathComponent("JPEGImages/\(ids[index]).jpg") }
    public func maskURL(at index: Int) -> URL { root.appendingPathComponent("SegmentationClass/\(ids[index]).png") }

    public func sample(at index: Int) throws -> SegmentationSample {
        let image = try ImageDecoder.decode(contentsOf: imageURL(at: index), applyingExifOrientation: false)
        let mask = maskURL(at: index)
        let map: (width: Int, height: Int, labels: [UInt8])
        do {
            map = try LabelMapPNG.read(contentsOf: mask)
        } catch ImageError.fileNotFound {
            throw SegmentationDataError.missingMask(path: mask.path, image: imageURL(at: index).path)
        }
        guard map.width == image.width, map.height == image.height else {
            throw SegmentationDataError.sizeMismatch(
                path: mask.path, maskWidth: map.width, maskHeight: map.height, imageWidth: image.width, imageHeight: image.height)
        }
        if let bad = map.labels.first(where: { Int($0) >= classNames.count && $0 != SegmentationSample.ignoredLabel }) {
            throw SegmentationDataError.labelOutOfRange(path: mask.path, label: Int(bad), classCount: classNames.count)
        }
        return SegmentationSample(image: image, labels: map.labels)
    }

    public func sourceName(at index: Int) -> String { imageURL(at: index).path }
}

/// A segmentation dataset that does not hold what it should; each names the file.
public enum SegmentationDataError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingSplitList(path: String)
    case emptySplit(path: String)
    case missingMask(path: String, image: String)
    case sizeMismatch(path: String, maskWidth: Int, maskHeight: Int, imageWidth: Int, imageHeight: Int)
    case labelOutOfRange(path: String, label: Int, classCount: Int)

    public var description: String {
        switch self {
        case let .missingSplitList(path): "\(path): no such split list (expected ImageSets/Segmentation/<split>.txt, one image id per line)"
        case let .emptySplit(path): "\(path): the split lists no image ids"
        case let .missingMask(path, image): "\(path): no class map for \(image)"
        case let .sizeMismatch(path, maskWidth, maskHeight, imageWidth, imageHeight):
            "\(path): the class map is \(maskWidth)x\(maskHeight), its picture \(imageWidth)x\(imageHeight)"
        case let .labelOutOfRange(path, label, classCount):
            "\(path): label \(label) is beyond the \(classCount) classes (0...\(classCount - 1), or 255 to ignore)"
        }
    }
}
