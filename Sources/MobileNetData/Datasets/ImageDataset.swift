import MobileNetIO

/// A labelled collection of pictures that a ``BatchLoader`` can draw from.
///
/// Labels are known without decoding (a split or a per-class count never touches the pixels);
/// pictures are produced on demand, from any thread, so that a loader can decode several at once.
public protocol ImageDataset: Sendable {
    /// The number of samples.
    var count: Int { get }
    /// The class names, in class-index order.
    var classNames: [String] { get }
    /// The class index of sample `index`.
    func label(at index: Int) -> Int
    /// The picture of sample `index`, 8-bit RGB.
    ///
    /// - Throws: whatever reading or decoding the sample throws (an ``ImageError`` for a corrupt
    ///   file); a loader reports it and skips the sample.
    func image(at index: Int) throws -> RGBImage
    /// A short name of sample `index` for warnings: a file path, or the dataset name and index.
    func sourceName(at index: Int) -> String
}

extension ImageDataset {
    /// The number of classes.
    public var classCount: Int { classNames.count }

    /// Every sample's label, in order.
    public var labels: [Int] { (0..<count).map(label(at:)) }

    /// How many samples each class has, indexed by class.
    public var samplesPerClass: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for index in 0..<count { counts[label(at: index)] += 1 }
        return counts
    }

    /// The first `limit` samples (all of them when `limit` is `nil` or at least ``count``): the
    /// `--limit N` of a quick run.
    public func prefix(_ limit: Int?) -> DatasetSubset {
        let end = limit.map { min(max($0, 0), count) } ?? count
        return DatasetSubset(self, indices: Array(0..<end))
    }
}
