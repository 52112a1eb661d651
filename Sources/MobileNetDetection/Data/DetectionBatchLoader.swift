import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTensor

/// Turns a detection dataset into batches as `BatchLoader` does for classification: a seeded
/// order per epoch, each sample augmented by its own generator keyed by `(seed, epoch, index)`,
/// and decoding on background threads while the model trains on the previous batch.
///
/// ```swift
/// let loader = try DetectionBatchLoader(
///     dataset: FashionMNISTScenes(split: .train, count: 10_000, seed: 1),
///     augmentation: .ssdliteTraining(resolution: 320), batchSize: 32, seed: 42, onSkip: { print($0) })
/// let batches = loader.batches(epoch: epoch, startingAt: step)
/// while let batch = try batches.next() { /* batch.images [N, 320, 320, 3], batch.annotations */ }
/// ```
///
/// The order, the schedule and the threads are `BatchLoader`'s own (one shared implementation),
/// so resuming at `(epoch, step)` continues exactly. A picture that cannot be read is left out of
/// its batch and reported through `onSkip` and ``DetectionBatch/skipped``; any other failure ends
/// the epoch with its error.
public final class DetectionBatchLoader: Sendable {
    public let dataset: any DetectionDataset
    public let augmentation: DetectionAugmentation
    /// Per-channel normalization of the tensor: SSDLite's 0.5 and 0.5 by default.
    public let mean: [Float]
    public let standardDeviation: [Float]
    let schedule: BatchSchedule
    let onSkip: (@Sendable (SkippedSample) -> Void)?

    /// - Throws: `DatasetError.invalidSplit(reason:)` for an empty dataset or a batch size,
    ///   worker count or prefetch count out of range.
    public init(
        dataset: any DetectionDataset, augmentation: DetectionAugmentation, batchSize: Int, shuffles: Bool = true,
        dropsLast: Bool = false, seed: UInt64, workerCount: Int = 2, prefetchCount: Int = 4,
        mean: [Float] = [0.5, 0.5, 0.5], standardDeviation: [Float] = [0.5, 0.5, 0.5],
        onSkip: (@Sendable (SkippedSample) -> Void)? = nil
    ) throws {
        schedule = try BatchSchedule(
            sampleCount: dataset.count, batchSize: batchSize, shuffles: shuffles, dropsLast: dropsLast, seed: seed,
            workerCount: workerCount, prefetchCount: prefetchCount)
        self.dataset = dataset
        self.augmentation = augmentation
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.onSkip = onSkip
    }

    public var batchSize: Int { schedule.batchSize }
    public var seed: UInt64 { schedule.seed }
    public var workerCount: Int { schedule.workerCount }
    /// The number of batches in every epoch.
    public var batchesPerEpoch: Int { schedule.batchesPerEpoch }

    /// The dataset indices in the order epoch `epoch` visits them.
    public func order(epoch: Int) -> [Int] { schedule.order(epoch: epoch) }

    /// Batch `step` of epoch `epoch`, built on the calling thread; `nil` when every one of its
    /// pictures failed to load.
    public func batch(epoch: Int, step: Int) throws -> DetectionBatch? {
        try batch(epoch: epoch, step: step, order: order(epoch: epoch))
    }

    func batch(epoch: Int, step: Int, order: [Int]) throws -> DetectionBatch? {
        var images: [RGBImage] = []
        var annotations: [DetectionAnnotation] = []
        var indices: [Int] = []
        var skipped: [SkippedSample] = []
        for index in schedule.members(of: step, in: order) {
            let sample: DetectionSample
            do {
                sample = try dataset.sample(at: index)
            } catch {
                let skip = SkippedSample(
                    index: index, source: dataset.sourceName(at: index), reason: String(describing: error), epoch: epoch, step: step)
                onSkip?(skip)
                skipped.append(skip)
                continue
            }
            let augmented = try augmentation.apply(sample, seed: seed, epoch: epoch, index: index)
            images.append(augmented.image)
            annotations.append(augmented.annotation)
            indices.append(index)
        }
        guard !images.isEmpty else { return nil }
        let tensor = try ImageTransforms.normalizedTensor(images, mean: mean, standardDeviation: standardDeviation)
        return DetectionBatch(images: tensor, annotations: annotations, indices: indices, epoch: epoch, step: step, skipped: skipped)
    }

    /// The batches of epoch `epoch` from position `step` on, built ahead on ``workerCount``
    /// background threads, handed out in order by `next()`.
    public func batches(epoch: Int, startingAt step: Int = 0) -> DetectionEpochBatches {
        let order = order(epoch: epoch)
        return DetectionEpochBatches(
            PrefetchedSteps(
                steps: schedule.steps(startingAt: step), workerCount: schedule.workerCount, capacity: schedule.prefetchCount,
                threadName: "DetectionBatchLoader epoch \(epoch)"
            ) { [self] step in
                try batch(epoch: epoch, step: step, order: order)
            })
    }
}

/// The batches of one epoch, in order (see ``DetectionBatchLoader/batches(epoch:startingAt:)``).
/// Releasing it before the end stops its threads after the batch each is on.
public final class DetectionEpochBatches {
    private let steps: PrefetchedSteps<DetectionBatch>

    init(_ steps: PrefetchedSteps<DetectionBatch>) {
        self.steps = steps
    }

    /// The next batch, waiting for it if a worker is still building it; `nil` after the last.
    ///
    /// - Throws: the first error that building a batch raised (other than an unreadable
    ///   picture, which is skipped); the epoch stops there.
    public func next() throws -> DetectionBatch? {
        try steps.next()
    }
}
