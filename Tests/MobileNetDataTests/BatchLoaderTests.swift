import Foundation
import MobileNetIO
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetData

/// Seeded order, background decoding, exact resumption and skipped pictures.
final class BatchLoaderTests: XCTestCase {
    private let augmenting = ImagePipeline(
        steps: [.randomCrop(width: 4, height: 4, padding: 1), .randomHorizontalFlip(probability: 0.5)],
        mean: [0.5, 0.5, 0.5], standardDeviation: [0.25, 0.25, 0.25])

    private func loader(_ dataset: any ImageDataset, batchSize: Int = 8, workers: Int = 2, seed: UInt64 = 42,
                        dropsLast: Bool = false, onSkip: (@Sendable (SkippedSample) -> Void)? = nil) throws -> BatchLoader {
        try BatchLoader(dataset: dataset, pipeline: augmenting, batchSize: batchSize, dropsLast: dropsLast, seed: seed,
                        workerCount: workers, prefetchCount: 3, onSkip: onSkip)
    }

    private func all(_ batches: EpochBatches) throws -> [Batch] {
        var result: [Batch] = []
        while let batch = try batches.next() { result.append(batch) }
        return result
    }

    func testOrderIsAPermutationFixedBySeedAndEpoch() throws {
        let dataset = LabelledDataset(labels: (0..<50).map { $0 % 5 })
        let first = try loader(dataset)
        XCTAssertEqual(first.order(epoch: 0).sorted(), Array(0..<50))
        XCTAssertEqual(first.order(epoch: 3), try loader(dataset).order(epoch: 3))
        XCTAssertNotEqual(first.order(epoch: 0), first.order(epoch: 1))
        XCTAssertNotEqual(first.order(epoch: 0), try loader(dataset, seed: 43).order(epoch: 0))
        let ordered = try BatchLoader(dataset: dataset, pipeline: augmenting, batchSize: 8, shuffles: false, seed: 1)
        XCTAssertEqual(ordered.order(epoch: 5), Array(0..<50))
    }

    func testBackgroundBatchesEqualSynchronousOnesBitForBit() throws {
        let dataset = LabelledDataset(labels: (0..<45).map { $0 % 3 })
        let threaded = try all(try loader(dataset, workers: 3).batches(epoch: 2))
        let synchronous = try all(try loader(dataset, workers: 0).batches(epoch: 2))
        XCTAssertEqual(threaded.count, 6)
        XCTAssertEqual(threaded.map(\.step), Array(0..<6))
        XCTAssertEqual(threaded.map(\.count), [8, 8, 8, 8, 8, 5])
        for (a, b) in zip(threaded, synchronous) {
            XCTAssertEqual(a.indices, b.indices)
            XCTAssertEqual(a.labels, b.labels)
            XCTAssertEqual(a.images.scalars, b.images.scalars)
        }
        // Together the batches visit the epoch's order exactly once, labels matching.
        let loaderForOrder = try loader(dataset)
        XCTAssertEqual(threaded.flatMap(\.indices), loaderForOrder.order(epoch: 2))
        XCTAssertEqual(threaded.flatMap(\.labels), loaderForOrder.order(epoch: 2).map { $0 % 3 })
        XCTAssertEqual(threaded[0].images.shape, [8, 4, 4, 3])
    }

    func testAugmentationDependsOnEpochAndSampleOnly() throws {
        let dataset = LabelledDataset(labels: Array(repeating: 0, count: 16))
        let big = try loader(dataset, batchSize: 16, workers: 0)
        let small = try loader(dataset, batchSize: 4, workers: 1)
        // The same sample gets the same crop and flip whichever batch (and batch size) holds it.
        let whole = try XCTUnwrap(try big.batch(epoch: 1, step: 0))
        for part in try all(small.batches(epoch: 1)) {
            for (row, index) in part.indices.enumerated() {
                let position = try XCTUnwrap(whole.indices.firstIndex(of: index))
                XCTAssertEqual(try sample(part.images, row), try sample(whole.images, position))
            }
        }
        let nextEpoch = try XCTUnwrap(try big.batch(epoch: 2, step: 0))
        XCTAssertNotEqual(nextEpoch.images.scalars, whole.images.scalars)
    }

    func testResumingMidEpochContinuesExactly() throws {
        let dataset = LabelledDataset(labels: (0..<37).map { $0 % 4 })
        let full = try all(try loader(dataset, batchSize: 5).batches(epoch: 4))
        let resumed = try all(try loader(dataset, batchSize: 5).batches(epoch: 4, startingAt: 3))
        XCTAssertEqual(resumed.map(\.step), Array(3..<8))
        for (a, b) in zip(full.suffix(5), resumed) {
            XCTAssertEqual(a.indices, b.indices)
            XCTAssertEqual(a.images.scalars, b.images.scalars)
        }
        XCTAssertEqual(try all(try loader(dataset, batchSize: 5).batches(epoch: 4, startingAt: 8)).count, 0)
    }

    func testCorruptPicturesAreSkippedWithAWarning() throws {
        let dataset = LabelledDataset(labels: Array(repeating: 1, count: 20), failing: [3, 11])
        let warnings = SkipLog()
        let batches = try all(try loader(dataset, batchSize: 10, onSkip: { warnings.append($0) }).batches(epoch: 0))
        XCTAssertEqual(batches.map(\.count).reduce(0, +), 18)
        XCTAssertEqual(Set(batches.flatMap(\.skipped).map(\.index)), [3, 11])
        XCTAssertEqual(Set(warnings.all.map(\.index)), [3, 11])
        let warning = try XCTUnwrap(warnings.all.first)
        XCTAssertTrue(warning.description.hasPrefix("warning: skipped sample \(warning.index) in epoch 0, step \(warning.step): generated #"))
        XCTAssertFalse(batches.flatMap(\.indices).contains(3))
    }

    func testBatchOfOnlyCorruptPicturesIsDropped() throws {
        let dataset = LabelledDataset(labels: [0, 0, 0, 0], failing: [0, 1])
        let ordered = try BatchLoader(dataset: dataset, pipeline: augmenting, batchSize: 2, shuffles: false, seed: 1, workerCount: 2)
        let batches = try all(ordered.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.step), [1])
        XCTAssertEqual(batches.first?.indices, [2, 3])
    }

    func testTransformErrorsEndTheEpoch() throws {
        let tooBig = ImagePipeline(steps: [.randomCrop(width: 9, height: 9, padding: 0)], mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        let dataset = LabelledDataset(labels: Array(repeating: 0, count: 30))
        for workers in [0, 2] {
            let loader = try BatchLoader(dataset: dataset, pipeline: tooBig, batchSize: 4, seed: 1, workerCount: workers)
            let batches = loader.batches(epoch: 0)
            XCTAssertThrowsError(try batches.next()) { error in
                XCTAssertEqual(
                    error as? ImageTransformError,
                    .regionOutsideImage(left: 0, top: 0, width: 9, height: 9, imageWidth: 4, imageHeight: 4))
            }
        }
    }

    func testDropLastLimitAndCounts() throws {
        let dataset = LabelledDataset(labels: (0..<23).map { $0 % 2 })
        let dropping = try loader(dataset, batchSize: 5, dropsLast: true)
        XCTAssertEqual(dropping.batchesPerEpoch, 4)
        XCTAssertEqual(dropping.samplesPerEpoch, 20)
        XCTAssertEqual(try all(dropping.batches(epoch: 0)).map(\.count), [5, 5, 5, 5])
        let limited = try loader(dataset.prefix(7), batchSize: 5)
        XCTAssertEqual(limited.batchesPerEpoch, 2)
        XCTAssertEqual(Set(try all(limited.batches(epoch: 0)).flatMap(\.indices)), Set(0..<7))

        XCTAssertThrowsError(try loader(dataset, batchSize: 0)) { error in
            XCTAssertEqual(error as? DatasetError, .invalidSplit(reason: "the batch size must be positive, got 0"))
        }
        XCTAssertThrowsError(try loader(dataset.prefix(0))) { error in
            XCTAssertEqual(error as? DatasetError, .invalidSplit(reason: "the dataset has no samples"))
        }
        XCTAssertThrowsError(try loader(dataset, batchSize: 30, dropsLast: true))
    }

    func testAbandonedEpochStopsItsWorkers() throws {
        let dataset = LabelledDataset(labels: Array(repeating: 0, count: 400))
        let loader = try loader(dataset, batchSize: 4, workers: 2)
        for _ in 0..<20 {
            let batches = loader.batches(epoch: 0)
            _ = try batches.next()
        }
        // Nothing to assert beyond getting here: twenty abandoned epochs neither deadlock nor crash.
    }

    func testFashionMNISTBatchesOnTheRealFiles() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: FashionMNIST.files(for: .test).images.path))
        let test = try FashionMNIST(split: .test).prefix(300)
        let loader = try BatchLoader(dataset: test, pipeline: .fashionMNISTTraining(resolution: 32), batchSize: 128, seed: 7)
        let batches = try all(loader.batches(epoch: 0))
        XCTAssertEqual(batches.map(\.count), [128, 128, 44])
        XCTAssertEqual(batches[0].images.shape, [128, 32, 32, 3])
        // Gray in, gray out: the three channels of every pixel are equal.
        let values = batches[0].images.scalars
        let pixels = stride(from: 0, to: values.count, by: 3)
        XCTAssertTrue(pixels.allSatisfy { (offset: Int) -> Bool in values[offset] == values[offset + 1] && values[offset] == values[offset + 2] })
    }

    /// Row `row` of an NHWC batch.
    private func sample(_ images: Tensor, _ row: Int) throws -> [Float] {
        let size = images.shape[1] * images.shape[2] * images.shape[3]
        return Array(images.scalars[(row * size)..<((row + 1) * size)])
    }
}
