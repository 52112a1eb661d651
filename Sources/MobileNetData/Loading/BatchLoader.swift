import Foundation
import MobileNetIO
import MobileNetTensor

/// Turns a dataset into batches: a seeded order per epoch, per-sample augmentation, and decoding
/// on background threads while the model trains on the previous batch.
///
/// ```swift
/// let loader = try BatchLoader(
///     dataset: FashionMNIST(split: .train).prefix(limit), pipeline: .fashionMNISTTraining(resolution: 32),
///     batchSize: 128, seed: 42, onSkip: { print($0) })
/// for epoch in startEpoch..<epochs {
///     let batches = loader.batches(epoch: epoch, startingAt: epoch == startEpoch ? startStep : 0)
///     while let batch = try batches.next() { /* batch.images [N, 32, 32, 3], batch.labels */ }
/// }
/// ```
///
/// Everything random is a function of `(seed, epoch, sample)`: the order of epoch `e` comes from
/// a generator derived from `(seed, e)`, and sample `i`'s augmentation in epoch `e` from one
/// derived from `(seed, e, i)`. So batch `s` of epoch `e` is the same whether it is built first or
/// after a restart, on any thread, and resuming at `(epoch, step)` continues exactly; no
/// generator state needs saving.
///
/// A picture that cannot be read is left out of its batch (so that batch is smaller) and
/// reported through `onSkip` and ``Batch/skipped``; a batch whose every picture fails is
/// dropped. Any other failure (a transform that cannot apply to the data, say) ends the epoch
/// with that error from ``EpochBatches/next()``.
public final class BatchLoader: Sendable {
    public let dataset: any ImageDataset
    public let pipeline: ImagePipeline
    public let batchSize: Int
    /// Whether each epoch visits the samples in a fresh seeded order; otherwise in dataset order.
    public let shuffles: Bool
    /// Whether a last, smaller batch is left out (it would give batch norm few samples).
    public let dropsLast: Bool
    public let seed: UInt64
    /// Background threads decoding and transforming; 0 builds every batch on the caller's thread.
    public let workerCount: Int
    /// How many finished batches may wait for the consumer: memory stays bounded while the
    /// workers stay ahead.
    public let prefetchCount: Int
    let onSkip: (@Sendable (SkippedSample) -> Void)?

    /// Stream labels for ``SplitMix64/init(seed:path:)``, so shuffling and augmentation never
    /// share random numbers.
    static let orderStream: UInt64 = 1
    static let augmentationStream: UInt64 = 2

    /// - Throws: ``DatasetError/invalidSplit(reason:)`` for an empty dataset or a batch size,
    ///   worker count or prefetch count out of range.
    public init(
        dataset: any ImageDataset, pipeline: ImagePipeline, batchSize: Int, shuffles: Bool = true, dropsLast: Bool = false,
        seed: UInt64, workerCount: Int = 2, prefetchCount: Int = 4, onSkip: (@Sendable (SkippedSample) -> Void)? = nil
    ) throws {
        guard dataset.count > 0 else { throw DatasetError.invalidSplit(reason: "the dataset has no samples") }
        guard batchSize > 0 else { throw DatasetError.invalidSplit(reason: "the batch size must be positive, got \(batchSize)") }
        guard workerCount >= 0, prefetchCount > 0 else {
            throw DatasetError.invalidSplit(
                reason: "expected at least 0 workers and 1 prefetched batch, got \(workerCount) and \(prefetchCount)")
        }
        guard !dropsLast || dataset.count >= batchSize else {
            throw DatasetError.invalidSplit(
                reason: "\(dataset.count) samples do not fill one batch of \(batchSize), and the last batch is dropped")
        }
        self.dataset = dataset
        self.pipeline = pipeline
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.dropsLast = dropsLast
        self.seed = seed
        self.workerCount = workerCount
        self.prefetchCount = prefetchCount
        self.onSkip = onSkip
    }

    /// The number of batches in every epoch.
    public var batchesPerEpoch: Int {
        dropsLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The number of samples an epoch visits (all, or all but the dropped remainder).
    public var samplesPerEpoch: Int {
        dropsLast ? batchesPerEpoch * batchSize : dataset.count
    }

    /// The dataset indices in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<dataset.count)
        if shuffles {
            var generator = SplitMix64(seed: seed, path: [Self.orderStream, UInt64(epoch)])
            indices.seededShuffle(using: &generator)
        }
        return indices
    }

    /// Batch `step` of epoch `epoch`, built on the calling thread; `nil` when every one of its
    /// pictures failed to load. ``batches(epoch:startingAt:)`` runs this on its workers.
    public func batch(epoch: Int, step: Int) throws -> Batch? {
        try batch(epoch: epoch, step: step, order: order(epoch: epoch))
    }

    func batch(epoch: Int, step: Int, order: [Int]) throws -> Batch? {
        precondition(step >= 0 && step < batchesPerEpoch, "step \(step) outside 0..<\(batchesPerEpoch)")
        let members = order[(step * batchSize)..<min((step + 1) * batchSize, order.count)]
        var images: [RGBImage] = []
        var labels: [Int] = []
        var indices: [Int] = []
        var skipped: [SkippedSample] = []
        images.reserveCapacity(members.count)
        for index in members {
            let picture: RGBImage
            do {
                picture = try dataset.image(at: index)
            } catch {
                let sample = SkippedSample(
                    index: index, source: dataset.sourceName(at: index), reason: String(describing: error), epoch: epoch, step: step)
                onSkip?(sample)
                skipped.append(sample)
                continue
            }
            var generator = SplitMix64(seed: seed, path: [Self.augmentationStream, UInt64(epoch), UInt64(index)])
            images.append(try pipeline.apply(picture, using: &generator))
            labels.append(dataset.label(at: index))
            indices.append(index)
        }
        guard !images.isEmpty else { return nil }
        return Batch(images: try pipeline.tensor(images), labels: labels, indices: indices, epoch: epoch, step: step, skipped: skipped)
    }

    /// The batches of epoch `epoch` from position `step` on, built ahead on ``workerCount``
    /// background threads (at most ``prefetchCount`` waiting), handed out in order.
    ///
    /// Dropping the returned object before the end stops its threads after the batch each is on.
    public func batches(epoch: Int, startingAt step: Int = 0) -> EpochBatches {
        EpochBatches(loader: self, epoch: epoch, steps: min(max(step, 0), batchesPerEpoch)..<batchesPerEpoch)
    }
}
