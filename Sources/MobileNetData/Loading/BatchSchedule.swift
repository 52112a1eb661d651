import MobileNetTensor

/// Which samples each batch of each epoch holds, and how far ahead batches are built: the part of
/// a loader that does not depend on what a sample is, shared by ``BatchLoader`` and the loaders
/// of other kinds of sample (detection's).
///
/// The order of epoch `e` is a shuffle by a generator keyed by `(seed, e)` on its own stream, so
/// it never shares random numbers with a sample's augmentation.
package struct BatchSchedule: Hashable, Sendable {
    package let sampleCount: Int
    package let batchSize: Int
    package let shuffles: Bool
    package let dropsLast: Bool
    package let seed: UInt64
    package let workerCount: Int
    package let prefetchCount: Int

    /// The stream labels in ``SplitMix64/init(seed:path:)`` of epoch orders and of sample
    /// augmentation, so shuffling and augmentation never share random numbers.
    package static let orderStream: UInt64 = 1
    package static let augmentationStream: UInt64 = 2

    /// The generator of sample `index`'s augmentation in epoch `epoch`: a function of these three
    /// alone, so the sample is augmented the same on any thread, in any order, after a restart.
    package static func augmentationGenerator(seed: UInt64, epoch: Int, index: Int) -> SplitMix64 {
        SplitMix64(seed: seed, path: [augmentationStream, UInt64(epoch), UInt64(index)])
    }

    /// - Throws: ``DatasetError/invalidSplit(reason:)`` for no samples or a batch size, worker
    ///   count or prefetch count out of range.
    package init(
        sampleCount: Int, batchSize: Int, shuffles: Bool, dropsLast: Bool, seed: UInt64, workerCount: Int, prefetchCount: Int
    ) throws {
        guard sampleCount > 0 else { throw DatasetError.invalidSplit(reason: "the dataset has no samples") }
        guard batchSize > 0 else { throw DatasetError.invalidSplit(reason: "the batch size must be positive, got \(batchSize)") }
        guard workerCount >= 0, prefetchCount > 0 else {
            throw DatasetError.invalidSplit(
                reason: "expected at least 0 workers and 1 prefetched batch, got \(workerCount) and \(prefetchCount)")
        }
        guard !dropsLast || sampleCount >= batchSize else {
            throw DatasetError.invalidSplit(
                reason: "\(sampleCount) samples do not fill one batch of \(batchSize), and the last batch is dropped")
        }
        self.sampleCount = sampleCount
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.dropsLast = dropsLast
        self.seed = seed
        self.workerCount = workerCount
        self.prefetchCount = prefetchCount
    }

    /// The number of batches in every epoch.
    package var batchesPerEpoch: Int {
        dropsLast ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize
    }

    /// The number of samples an epoch visits (all, or all but the dropped remainder).
    package var samplesPerEpoch: Int {
        dropsLast ? batchesPerEpoch * batchSize : sampleCount
    }

    /// The sample indices in the order epoch `epoch` visits them.
    package func order(epoch: Int) -> [Int] {
        var indices = Array(0..<sampleCount)
        if shuffles {
            var generator = SplitMix64(seed: seed, path: [Self.orderStream, UInt64(epoch)])
            indices.seededShuffle(using: &generator)
        }
        return indices
    }

    /// The sample indices of batch `step`, given the epoch's `order`.
    package func members(of step: Int, in order: [Int]) -> ArraySlice<Int> {
        precondition(step >= 0 && step < batchesPerEpoch, "step \(step) outside 0..<\(batchesPerEpoch)")
        return order[(step * batchSize)..<min((step + 1) * batchSize, order.count)]
    }

    /// The steps from `step` (clamped) to the end of an epoch.
    package func steps(startingAt step: Int) -> Range<Int> {
        min(max(step, 0), batchesPerEpoch)..<batchesPerEpoch
    }
}
