import Foundation
import MobileNetData
import MobileNetDetection
import MobileNetNN
import MobileNetSegmentation
import MobileNetTensor
import MobileNetTestSupport
import MobileNetTraining
import XCTest

/// The segmenter's training run as `mobilenet train --task segmentation` runs it, on real
/// Fashion-MNIST scenes: it learns, and a run stopped mid-epoch and resumed ends with the same
/// weights as one that never stopped.
final class SegmentationTrainerTests: XCTestCase {
    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: FashionMNIST.files(for: .train).images.path),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    private func tinyConfiguration(train: Int, test: Int, resolution: Int, epochs: Int, batch: Int) -> SegmentationTrainingConfiguration {
        var configuration = SegmentationTrainingConfiguration(
            dataset: .fashionMNISTScenes(train: train, test: test), resolution: resolution, epochs: epochs, batchSize: batch)
        configuration.widthMultiplier = 0.5
        configuration.optimizer = .adamw
        configuration.learningRate = TinyRun.learningRate
        configuration.weightDecay = 1e-4
        configuration.warmupEpochs = 0
        configuration.seed = 5
        configuration.sceneCanvas = TinyRun.canvas
        return configuration
    }

    /// The tiny run's settings and the mean IoU it must reach (see the test).
    enum TinyRun {
        static let trainScenes = 320, testScenes = 32, epochs = 6, canvas = 128, resolution = 96
        static let learningRate = 3e-3
        static let bound = 0.2
    }

    /// A short real run: the test scenes' mean IoU after training must be far above what the
    /// same model scores untrained (one class everywhere: about 0.07 of 11 classes at best).
    func testATinyRunLearnsToSegment() throws {
        try requireFashionMNIST()
        let configuration = tinyConfiguration(
            train: TinyRun.trainScenes, test: TinyRun.testScenes, resolution: TinyRun.resolution, epochs: TinyRun.epochs, batch: 16)
        let folder = try TemporaryFolder()
        let trainer = try SegmentationTrainer(configuration: configuration, output: folder.url.appendingPathComponent("run"))
        let test = FashionMNISTSceneMasks(try FashionMNISTScenes(
            split: .test, count: TinyRun.testScenes, seed: configuration.seed &+ 1,
            configuration: .init(canvasWidth: TinyRun.canvas, canvasHeight: TinyRun.canvas, itemSide: 16...64)))
        let untrained = try SegmentationEvaluation.run(trainer.model, on: test, baseSize: TinyRun.resolution)
        let history = try trainer.run()
        let before = untrained.meanIntersectionOverUnion, after = try XCTUnwrap(history.last?.meanIoU)
        XCTAssertLessThan(before, 0.1, "an untrained segmenter tells no garment apart")
        XCTAssertGreaterThanOrEqual(after, TinyRun.bound, "mean IoU \(after) after \(TinyRun.epochs) epochs (untrained: \(before))")
        let metrics = try MetricsLog.read(from: folder.url.appendingPathComponent("run/metrics.csv"))
        XCTAssertEqual(metrics.map(\.meanIoU), history.map(\.meanIoU))
    }

    func testStoppedAndResumedRunEqualsAnUninterruptedOne() throws {
        try requireFashionMNIST()
        let configuration = tinyConfiguration(train: 24, test: 4, resolution: 48, epochs: 2, batch: 8)
        let folder = try TemporaryFolder()
        let whole = folder.url.appendingPathComponent("whole"), parts = folder.url.appendingPathComponent("parts")
        let uninterrupted = try SegmentationTrainer(configuration: configuration, output: whole)
        try uninterrupted.run()

        var steps = 0
        let first = try SegmentationTrainer(configuration: configuration, output: parts)
        XCTAssertThrowsError(try first.run(shouldStop: { steps == 4 }, progress: { _ in steps += 1 })) { error in
            XCTAssertTrue(error is TrainingStopped, "\(error)")
        }
        XCTAssertThrowsError(try SegmentationTrainer(configuration: configuration, output: parts))
        let resumed = try SegmentationTrainer(configuration: configuration, output: parts, resume: true)
        XCTAssertEqual(resumed.state.epoch, 1)
        XCTAssertEqual(resumed.state.step, 1)
        try resumed.run()
        let expected = uninterrupted.model.stateDictionary(), actual = resumed.model.stateDictionary()
        XCTAssertEqual(Set(expected.keys), Set(actual.keys))
        for (key, value) in expected {
            XCTAssertEqual(actual[key]?.scalars, value.scalars, key)
        }
        XCTAssertEqual(resumed.state.history.map(\.meanIoU), uninterrupted.state.history.map(\.meanIoU))
        var other = configuration
        other.batchSize = 4
        XCTAssertThrowsError(try SegmentationTrainer(configuration: other, output: parts, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("batch-size"), "\(error)")
        }
    }

    func testSettingsAreCheckedBeforeAnythingIsRead() {
        var configuration = tinyConfiguration(train: 10, test: 10, resolution: 8, epochs: 1, batch: 4)
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".hasPrefix("--resolution"), "\($0)") }
        configuration.resolution = 64
        configuration.baseSize = 4
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".hasPrefix("--base-size"), "\($0)") }
        configuration.baseSize = nil
        configuration.dataset = .fashionMNISTScenes(train: 0, test: 10)
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".hasPrefix("--scenes"), "\($0)") }
    }
}
