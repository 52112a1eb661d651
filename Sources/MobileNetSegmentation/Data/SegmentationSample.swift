import MobileNetIO

/// A picture and its class map: one label per pixel, row by row, ``ignoredLabel`` where the
/// pixel counts for nothing (VOC's object borders, the padding of a crop).
public struct SegmentationSample: Hashable, Sendable {
    public var image: RGBImage
    /// `image.width * image.height` class indices.
    public var labels: [UInt8]

    /// The label of a pixel the loss and the metrics leave out: 255, as VOC writes it and
    /// torchvision's reference ignores it.
    public static let ignoredLabel: UInt8 = 255

    public init(image: RGBImage, labels: [UInt8]) {
        precondition(labels.count == image.width * image.height, "one label per pixel")
        self.image = image
        self.labels = labels
    }
}

/// Pictures with class maps, by index; safe to read from several threads at once.
public protocol SegmentationDataset: Sendable {
    var count: Int { get }
    /// The classes' names, background first: label `k` is `classNames[k]`.
    var classNames: [String] { get }
    /// - Throws: the reader's error (a missing or malformed file, a mask of another size than
    ///   its picture, a label beyond the classes), naming the file.
    func sample(at index: Int) throws -> SegmentationSample
    /// Where sample `index` comes from, for messages.
    func sourceName(at index: Int) -> String
}

extension SegmentationDataset {
    /// The first `limit` samples (all if nil or larger).
    public func prefix(_ limit: Int?) -> any SegmentationDataset {
        guard let limit, limit < count else { return self }
        return SegmentationSubset(base: self, count: limit)
    }
}

/// The first `count` samples of another dataset.
struct SegmentationSubset: SegmentationDataset {
    let base: any SegmentationDataset
    let count: Int
    var classNames: [String] { base.classNames }
    func sample(at index: Int) throws -> SegmentationSample { try base.sample(at: index) }
    func sourceName(at index: Int) -> String { base.sourceName(at: index) }
}
