import Foundation
import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

@testable import MobileNetTraining

/// The pieces wired together as `mobilenet train` wires them: loader, model, tape, optimizer,
/// schedule, average, checkpoint. Real Fashion-MNIST images, a small model, a few hundred steps'
/// worth of work at most, so it stays quick in a debug build.
final class TrainingRunTests: XCTestCase {
    /// One training run's live objects.
    struct Run {
        let model: any ImageClassifier
        let optimizer: any Optimizer
        let average: ExponentialMovingAverage
        let schedule: LearningRateSchedule
        let loader: BatchLoader
    }

    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: FashionMNIST.files(for: .train).images.path),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    private func makeRun(samples: Int, epochs: Int, initializationSeed: UInt64, architecture: Architecture = .v3Small) throws -> Run {
        // No dropout: its generator lives inside the layer, and this run must be resumable bit for bit.
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: 0.25, classCount: 10, dropout: 0), seed: initializationSeed)
        let loader = try BatchLoader(
            dataset: FashionMNIST(split: .train).prefix(samples), pipeline: .fashionMNISTTraining(resolution: 32),
            batchSize: 64, dropsLast: true, seed: 2024, workerCount: 2)
        let schedule = LearningRateSchedule(
            base: 0.2, decay: .cosine(minimum: 0), epochs: epochs, warmupEpochs: 1, warmupStartFactor: 0.1, granularity: .step,
            stepsPerEpoch: loader.batchesPerEpoch)
        let optimizer = try SGD(parameters: model.namedParameters(), learningRate: schedule.base, momentum: 0.9, nesterov: true, weightDecay: 4e-5)
        return Run(model: model, optimizer: optimizer, average: ExponentialMovingAverage(model, decay: 0.9, warmup: true), schedule: schedule, loader: loader)
    }

    /// Trains epoch `epoch` from batch `start`, stopping before batch `stop` when given.
    @discardableResult
    private func train(_ run: Run, epoch: Int, from start: Int = 0, stopBefore stop: Int? = nil) throws -> RunningMetrics {
        var running = RunningMetrics()
        run.model.setTraining(true)
        let batches = run.loader.batches(epoch: epoch, startingAt: start)
        while let batch = try batches.next() {
            if let stop, batch.step >= stop { break }
            run.optimizer.learningRate = run.schedule.learningRate(epoch: epoch, step: batch.step)
            run.model.clearGradients()
            let tape = GradientTape()
            var logits = Tensor.zeros([0])
            let loss = try tape.record {
                logits = try run.model(batch.images)
                return try crossEntropy(logits: logits, labels: batch.labels, labelSmoothing: 0.1)
            }
            try DivergenceError.check(loss: loss.scalars[0], epoch: epoch, step: batch.step, learningRate: run.optimizer.learningRate)
            try tape.backward(from: loss)
            clipGradientNorm(run.optimizer.groups, maxNorm: 10)
            try run.optimizer.step()
            run.average.update()
            try running.add(loss: loss.scalars[0], logits: logits, labels: batch.labels)
        }
        return running
    }

    private func evaluate(_ model: any ImageClassifier, samples: Int) throws -> ConfusionMatrix {
        let loader = try BatchLoader(
            dataset: FashionMNIST(split: .test).prefix(samples), pipeline: .fashionMNISTEvaluation(resolution: 32), batchSize: 100,
            shuffles: false, seed: 0, workerCount: 1)
        model.setTraining(false)
        var matrix = ConfusionMatrix(classCount: 10)
        let batches = loader.batches(epoch: 0)
        while let batch = try batches.next() { try matrix.add(logits: model(batch.images), labels: batch.labels) }
        return matrix
    }

    func testShortFashionMNISTRunLearns() throws {
        try requireFashionMNIST()
        // MobileNetV1 at α = 0.25 learns fastest per step of the families (PyTorch's V2 at the same
        // size reaches about 60 % after these 150 steps; V1 about 65 % here).
        let run = try makeRun(samples: 4800, epochs: 2, initializationSeed: 1, architecture: .v1)
        var history: [EpochMetrics] = []
        for epoch in 0..<2 {
            let running = try train(run, epoch: epoch)
            let matrix = try evaluate(run.model, samples: 500)
            history.append(EpochMetrics(
                epoch: epoch + 1, trainLoss: running.meanLoss, trainAccuracy: running.accuracy, validationAccuracy: matrix.accuracy,
                learningRate: run.optimizer.learningRate, seconds: 0, imagesPerSecond: 0))
        }
        let averaged = try run.average.withAveragedWeights { try evaluate(run.model, samples: 500) }
        print("short run:", history.map { "epoch \($0.epoch) loss \($0.trainLoss) accuracy \($0.validationAccuracy!)" }, "average", averaged.accuracy)
        XCTAssertLessThan(history[1].trainLoss, history[0].trainLoss)
        XCTAssertGreaterThan(history[1].validationAccuracy!, 0.45, "chance is 0.1")
    }

    func testInterruptedRunResumesBitIdentical() throws {
        try requireFashionMNIST()
        let folder = try TemporaryFolder()
        // The uninterrupted run: two epochs of 4 batches.
        let whole = try makeRun(samples: 256, epochs: 2, initializationSeed: 1)
        try train(whole, epoch: 0)
        try train(whole, epoch: 1)

        // The same run stopped after batch 2 of epoch 1 and saved…
        let first = try makeRun(samples: 256, epochs: 2, initializationSeed: 1)
        try train(first, epoch: 0)
        let running = try train(first, epoch: 1, stopBefore: 2)
        let state = TrainingState(epoch: 1, step: 2, globalStep: 6, seed: 2024, schedule: first.schedule, learningRate: first.optimizer.learningRate, running: running)
        try TrainingCheckpoint.save(model: first.model, optimizer: first.optimizer, average: first.average, state: state, in: folder.url, name: "step-6")

        // …then continued by a fresh process with other initial weights.
        let resumed = try makeRun(samples: 256, epochs: 2, initializationSeed: 99)
        let checkpoint = try TrainingCheckpoint.load(from: XCTUnwrap(try TrainingCheckpoint.latest(in: folder.url)))
        try checkpoint.restore(model: resumed.model, optimizer: resumed.optimizer, average: resumed.average)
        try train(resumed, epoch: checkpoint.state.epoch, from: checkpoint.state.step)

        var differing: [String] = []
        for ((key, expected), (_, actual)) in zip(whole.model.namedState(), resumed.model.namedState())
        where expected.value.scalars.map(\.bitPattern) != actual.value.scalars.map(\.bitPattern) {
            differing.append(key)
        }
        XCTAssertEqual(differing, [], "tensors that differ after resuming")
        for (key, tensor) in whole.average.averages {
            XCTAssertEqual(tensor.scalars.map(\.bitPattern), resumed.average.averages[key]?.scalars.map(\.bitPattern), "average of \(key)")
        }
    }

    /// A user's folder of pictures, one of them corrupt: listed, split, augmented, trained on,
    /// the corrupt file skipped with a warning, and the two colours told apart.
    func testImageFolderRunSkipsTheCorruptPicture() throws {
        let folder = try TemporaryFolder()
        try writeTwoColourPictures(in: folder.url)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: folder.url.appendingPathComponent("red/broken.png"))

        let dataset = try ImageFolder(root: folder.url)
        XCTAssertEqual(dataset.classNames, ["blue", "red"])
        let (train, validation) = try dataset.split(ValidationSplit(fraction: 0.25, seed: 3))
        let warnings = SkipLog()
        let loader = try BatchLoader(
            dataset: train, pipeline: .imageFolderTraining(resolution: 32), batchSize: 10, seed: 5, workerCount: 2,
            onSkip: { warnings.append($0) })
        let model = try makeModel(ModelConfiguration(.v1, widthMultiplier: 0.25, classCount: 2, dropout: 0), seed: 2)
        let optimizer = try AdamW(parameters: model.namedParameters(), learningRate: 0.01, weightDecay: 0.01)
        model.setTraining(true)
        for epoch in 0..<15 {
            let batches = loader.batches(epoch: epoch)
            while let batch = try batches.next() {
                model.clearGradients()
                let tape = GradientTape()
                let loss = try tape.record { try crossEntropy(logits: model(batch.images), labels: batch.labels) }
                try tape.backward(from: loss)
                try optimizer.step()
            }
        }
        // The split (seed 3) puts the corrupt file on the training side: skipped once an epoch, not fatal.
        let brokenPath = dataset.root.path + "/red/broken.png"
        XCTAssertTrue(train.indices.contains { dataset.paths[$0] == brokenPath })
        XCTAssertEqual(warnings.all.count, 15, "one warning per epoch")
        XCTAssertTrue(warnings.all.allSatisfy { $0.source == brokenPath && $0.reason.contains("broken.png") })

        let evaluation = try BatchLoader(
            dataset: validation, pipeline: .imageFolderEvaluation(resolution: 32), batchSize: 32, shuffles: false, seed: 0, workerCount: 0)
        model.setTraining(false)
        var matrix = ConfusionMatrix(classCount: 2)
        let batches = evaluation.batches(epoch: 0)
        while let batch = try batches.next() { try matrix.add(logits: model(batch.images), labels: batch.labels) }
        XCTAssertEqual(matrix.total, validation.count)
        XCTAssertGreaterThanOrEqual(matrix.accuracy, 0.9, "red and blue pictures: \(matrix.counts)")
    }
}
