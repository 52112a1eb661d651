import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetDetection

/// Batches of detection samples: each sample augmented by its own (seed, epoch, index)
/// generator, the same on background threads as on the caller's, resumable at any step.
final class DetectionBatchLoaderTests: XCTestCase {
    private func scenes() throws -> FashionMNISTScenes {
        let (images, _) = FashionMNIST.files(for: .test)
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: images.path), "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        let small = FashionMNISTScenes.Configuration(canvasWidth: 64, canvasHeight: 64, itemsPerScene: 1...3, itemSide: 20...40)
        return try FashionMNISTScenes(split: .test, count: 10, seed: 2, configuration: small)
    }

    private func all(_ batches: DetectionEpochBatches) throws -> [DetectionBatch] {
        var collected: [DetectionBatch] = []
        while let batch = try batches.next() { collected.append(batch) }
        return collected
    }

    func testBatchesHoldEachSampleAugmentedAloneOnAnyThread() throws {
        let dataset = try scenes()
        let augmentation = DetectionAugmentation.ssdliteTraining(resolution: 48)
        let threaded = try DetectionBatchLoader(dataset: dataset, augmentation: augmentation, batchSize: 4, seed: 5, workerCount: 2)
        let inline = try DetectionBatchLoader(dataset: dataset, augmentation: augmentation, batchSize: 4, seed: 5, workerCount: 0)
        let batches = try all(threaded.batches(epoch: 1))
        XCTAssertEqual(batches.map(\.count), [4, 4, 2])
        XCTAssertEqual(batches.map(\.step), [0, 1, 2])
        XCTAssertEqual(batches.flatMap(\.indices), threaded.order(epoch: 1))
        XCTAssertNotEqual(threaded.order(epoch: 1), threaded.order(epoch: 2))

        for batch in batches {
            XCTAssertEqual(batch.images.shape, [batch.count, 48, 48, 3])
            let alone = try batch.indices.map { try augmentation.apply(dataset.sample(at: $0), seed: 5, epoch: 1, index: $0) }
            XCTAssertEqual(batch.annotations, alone.map(\.annotation))
            let expected = try ImageTransforms.normalizedTensor(alone.map(\.image), mean: [0.5, 0.5, 0.5], standardDeviation: [0.5, 0.5, 0.5])
            XCTAssertEqual(batch.images.scalars, expected.scalars)
            XCTAssertEqual(batch.images.scalars.min()!, -1, accuracy: 1e-6, "black canvas is -1 after normalization")
        }

        let inlineBatches = try all(inline.batches(epoch: 1))
        XCTAssertEqual(inlineBatches.map(\.annotations), batches.map(\.annotations))
        XCTAssertEqual(inlineBatches.map(\.images.scalars), batches.map(\.images.scalars))
        let resumed = try all(threaded.batches(epoch: 1, startingAt: 1))
        XCTAssertEqual(resumed.map(\.annotations), batches[1...].map(\.annotations))
    }

    func testUnreadablePictureIsSkippedAndReported() throws {
        let folder = try TemporaryFolder()
        try PNGEncoder.encode(RGBImage(width: 6, height: 6, red: 9, green: 9, blue: 9)).write(to: folder.url.appendingPathComponent("good.png"))
        try Data("garbage".utf8).write(to: folder.url.appendingPathComponent("bad.png"))
        let file = folder.url.appendingPathComponent("instances.json")
        try Data(
            """
            {"images": [{"id": 1, "file_name": "good.png", "width": 6, "height": 6}, {"id": 2, "file_name": "bad.png", "width": 6, "height": 6}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3]}],
             "categories": [{"id": 1, "name": "thing"}]}
            """.utf8
        ).write(to: file)
        let coco = try COCODetectionDataset(annotationsFile: file, imageFolder: folder.url)
        let log = SkipLog()
        let loader = try DetectionBatchLoader(
            dataset: coco, augmentation: .evaluation(resolution: 12), batchSize: 2, shuffles: false, seed: 1, onSkip: log.append)
        let batches = try all(loader.batches(epoch: 0))
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(batches[0].indices, [0])
        XCTAssertEqual(batches[0].annotations[0].boxes, [BoundingBox(x1: 2, y1: 2, x2: 8, y2: 8)])
        XCTAssertEqual(batches[0].skipped.map(\.index), [1])
        XCTAssertEqual(log.all.map(\.source), [coco.sourceName(at: 1)])
        XCTAssertThrowsError(try DetectionBatchLoader(dataset: coco, augmentation: .evaluation(), batchSize: 0, seed: 1))
    }
}
