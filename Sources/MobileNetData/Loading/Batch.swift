import MobileNetTensor

/// Samples ready for a forward pass: their pictures as one normalized NHWC tensor and their labels.
public struct Batch: Sendable {
    /// `[N, height, width, 3]`, normalized.
    public var images: Tensor
    /// The class index of each picture, in the tensor's order.
    public var labels: [Int]
    /// The dataset index of each picture.
    public var indices: [Int]
    /// The epoch this batch belongs to.
    public var epoch: Int
    /// Its position within the epoch, from 0: what a checkpoint records to resume after it.
    public var step: Int
    /// Samples of this batch that could not be read and were left out.
    public var skipped: [SkippedSample]

    /// The number of pictures.
    public var count: Int { labels.count }
}

/// A sample left out of a batch because its picture could not be read or decoded.
public struct SkippedSample: Hashable, Sendable, CustomStringConvertible {
    /// Its index in the loader's dataset.
    public var index: Int
    /// Its file, or the dataset and index.
    public var source: String
    /// Why it was left out: the decoder's error, in one line.
    public var reason: String
    public var epoch: Int
    public var step: Int

    package init(index: Int, source: String, reason: String, epoch: Int, step: Int) {
        self.index = index
        self.source = source
        self.reason = reason
        self.epoch = epoch
        self.step = step
    }

    public var description: String {
        "warning: skipped sample \(index) in epoch \(epoch), step \(step): \(reason)"
    }
}
