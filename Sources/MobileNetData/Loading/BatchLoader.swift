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
    /// Which samples each batch holds, and how far ahead they are built.
    let schedule: BatchSchedule
    let onSkip: (@Sendable (SkippedSample) -> Void)?

    /// - Throws: ``DatasetError/invalidSplit(reason:)`` for an empty dataset or a batch size,
    ///   worker count or prefetch count out of range.
    public init(
        dataset: any ImageDataset, pipeline: ImagePipeline, batchSize: Int, shuffles: Bool = true, dropsLast: Bool = false,
        seed: UInt64, workerCount: Int = 2, prefetchCount: Int = 4, onSkip: (@Sendable (SkippedSample) -> Void)? = nil
    ) throws {
        schedule = try BatchSchedule(
            sampleCount: dataset.count, batchSize: batchSize, shuffles: shuffles, dropsLast: dropsLast, seed: seed,
            workerCount: workerCount, prefetchCount: prefetchCount)
        self.dataset = dataset
        self.pipeline = pipeline
        self.onSkip = onSkip
    }

    public var batchSize: Int { schedule.batchSize }
    /// Whether each epoch visits the samples in a fresh seeded order; otherwise in dataset order.
    public var shuffles: Bool { schedule.shuffles }
    /// Whether a last, smaller batch is left out (it would give batch norm few samples).
    public var dropsLast: Bool { schedule.dropsLast }
    public var seed: UInt64 { schedule.seed }
    /// Background threads decoding and transforming; 0 builds every batch on the caller's thread.
    public var workerCount: Int { schedule.workerCount }
    /// How many finished batches may wait for the consumer: memory stays bounded while the
    /// workers stay ahead.
    public var prefetchCount: Int { schedule.prefetchCount }

    /// The number of batches in every epoch.
    public var batchesPerEpoch: Int { schedule.batchesPerEpoch }

    /// The number of samples an epoch visits (all, or all but the dropped remainder).
    public var samplesPerEpoch: Int { schedule.samplesPerEpoch }

    /// The dataset indices in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] { schedule.order(epoch: epoch) }

    /// Batch `step` of epoch `epoch`, built on the calling thread; `nil` when every one of its
    /// pictures failed to load. ``batches(epoch:startingAt:)`` runs this on its workers.
    public func batch(epoch: Int, step: Int) throws -> Batch? {
        try batch(epoch: epoch, step: step, order: order(epoch: epoch))
    }

    func batch(epoch: Int, step: Int, order: [Int]) throws -> Batch? {
        let members = schedule.members(of: step, in: order)
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
            var generator = BatchSchedule.augmentationGenerator(seed: seed, epoch: epoch, index: index)
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
        EpochBatches(loader: self, epoch: epoch, steps: schedule.steps(startingAt: step))
    }
}
