import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTensor

/// A batch of augmented pictures and their class maps.
public struct SegmentationBatch: Sendable {
    /// Normalized NHWC pictures `[N, H, W, 3]`.
    public var images: Tensor
    /// `N * H * W` labels, picture by picture, row by row; 255 where ignored.
    public var labels: [UInt8]
    /// The dataset indices of the pictures, in order.
    public var indices: [Int]
    public var epoch: Int
    public var step: Int
    /// Pictures of the batch that could not be read.
    public var skipped: [SkippedSample]
    public var count: Int { indices.count }
}

/// Turns a segmentation dataset into batches as `BatchLoader` does for classification (one
/// shared schedule): a seeded order per epoch, each sample augmented by its own generator keyed
/// by `(seed, epoch, index)`, built on background threads while the model trains on the
/// previous batch, so resuming at `(epoch, step)` continues exactly. Pictures are normalized
/// with ImageNet's mean and standard deviation, as torchvision's segmentation presets do.
///
/// Every sample of a batch must come out of the augmentation at one size (a training crop does
/// that); a picture that cannot be read is left out and reported through `onSkip`.
public final class SegmentationBatchLoader: Sendable {
    public let dataset: any SegmentationDataset
    public let augmentation: SegmentationAugmentation
    public let mean: [Float]
    public let standardDeviation: [Float]
    let schedule: BatchSchedule
    let onSkip: (@Sendable (SkippedSample) -> Void)?

    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStandardDeviation: [Float] = [0.229, 0.224, 0.225]

    /// - Throws: `DatasetError.invalidSplit(reason:)` for an empty dataset or a batch size,
    ///   worker count or prefetch count out of range.
    public init(
        dataset: any SegmentationDataset, augmentation: SegmentationAugmentation, batchSize: Int, shuffles: Bool = true,
        dropsLast: Bool = false, seed: UInt64, workerCount: Int = 2, prefetchCount: Int = 4,
        onSkip: (@Sendable (SkippedSample) -> Void)? = nil
    ) throws {
        schedule = try BatchSchedule(
            sampleCount: dataset.count, batchSize: batchSize, shuffles: shuffles, dropsLast: dropsLast, seed: seed,
            workerCount: workerCount, prefetchCount: prefetchCount)
        self.dataset = dataset
        self.augmentation = augmentation
        mean = Self.imageNetMean
        standardDeviation = Self.imageNetStandardDeviation
        self.onSkip = onSkip
    }

    public var batchSize: Int { schedule.batchSize }
    public var seed: UInt64 { schedule.seed }
    public var batchesPerEpoch: Int { schedule.batchesPerEpoch }

    /// Batch `step` of epoch `epoch`, built on the calling thread; `nil` when every one of its
    /// pictures failed to load.
    public func batch(epoch: Int, step: Int) throws -> SegmentationBatch? {
        try batch(epoch: epoch, step: step, order: schedule.order(epoch: epoch))
    }

    func batch(epoch: Int, step: Int, order: [Int]) throws -> SegmentationBatch? {
        var images: [RGBImage] = [], labels: [UInt8] = [], indices: [Int] = [], skipped: [SkippedSample] = []
        for index in schedule.members(of: step, in: order) {
            let sample: SegmentationSample
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
            labels += augmented.labels
            indices.append(index)
        }
        guard !images.isEmpty else { return nil }
        let tensor = try ImageTransforms.normalizedTensor(images, mean: mean, standardDeviation: standardDeviation)
        return SegmentationBatch(images: tensor, labels: labels, indices: indices, epoch: epoch, step: step, skipped: skipped)
    }

    /// The batches of epoch `epoch` from position `step` on, built ahead on background threads,
    /// handed out in order by `next()`.
    public func batches(epoch: Int, startingAt step: Int = 0) -> SegmentationEpochBatches {
        let order = schedule.order(epoch: epoch)
        return SegmentationEpochBatches(
            PrefetchedSteps(
                steps: schedule.steps(startingAt: step), workerCount: schedule.workerCount, capacity: schedule.prefetchCount,
                threadName: "SegmentationBatchLoader epoch \(epoch)"
            ) { [self] step in
                try batch(epoch: epoch, step: step, order: order)
            })
    }
}

/// The batches of one epoch, in order; releasing it before the end stops its threads.
public final class SegmentationEpochBatches {
    private let steps: PrefetchedSteps<SegmentationBatch>

    init(_ steps: PrefetchedSteps<SegmentationBatch>) {
        self.steps = steps
    }

    /// The next batch, waiting for it if a worker is still building it; `nil` after the last.
    public func next() throws -> SegmentationBatch? {
        try steps.next()
    }
}
