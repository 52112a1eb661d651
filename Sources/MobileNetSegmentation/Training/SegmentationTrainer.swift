import Foundation
import MobileNetData
import MobileNetIO
import MobileNetNN
import MobileNetTensor
import MobileNetTraining

/// A segmenter's training run: LR-ASPP from scratch with per-pixel cross-entropy (ignoring
/// label 255), evaluated each epoch with the confusion matrix's pixel accuracy and mean IoU, and
/// resumable bit for bit from its last checkpoint, as ``Trainer`` is for classifiers (the same
/// checkpoint files, `metrics.csv` with `mean_iou`, `curves.svg`, progress line and folder
/// rules).
///
/// Each step: the batch's augmented crops through the model on a gradient tape, the loss over
/// their pixels, the backward pass, the optimizer's update. The learning rate warms up
/// linearly, then decays along a cosine, per step.
public final class SegmentationTrainer {
    public let configuration: SegmentationTrainingConfiguration
    public let output: URL
    public let model: LRASPP
    public let classNames: [String]
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public private(set) var state: TrainingState
    private let loader: SegmentationBatchLoader
    private let test: any SegmentationDataset
    private let title: String
    private var checkpoints: RunCheckpoints
    /// The last epoch's evaluation, for the caller's report and picture.
    public private(set) var lastEvaluation: SegmentationEvaluation?

    /// Prepares a run into `output`, or continues the one there with `resume`.
    ///
    /// - Throws: ``TrainingError`` for a bad setting, an output that already holds a run (without
    ///   `resume`) or a resume whose settings differ; ``RunFolderError`` and dataset and
    ///   checkpoint errors as they come.
    public init(
        configuration: SegmentationTrainingConfiguration, output: URL, resume: Bool = false,
        warnings: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        try configuration.validate()
        let existing = try RunFolder.checkpointToResume(in: output, resume: resume)
        let (training, test) = try configuration.datasets()
        self.configuration = configuration
        self.output = output
        self.test = test.prefix(configuration.evaluationLimit)
        classNames = training.classNames
        model = try LRASPP(
            LRASPPConfiguration(
                backbone: configuration.backbone, widthMultiplier: configuration.widthMultiplier, classCount: training.classNames.count,
                normMomentum: configuration.normMomentum),
            seed: configuration.seed)
        loader = try SegmentationBatchLoader(
            dataset: training.prefix(configuration.limit),
            augmentation: .training(baseSize: configuration.effectiveBaseSize, cropSize: configuration.resolution),
            batchSize: configuration.batchSize, dropsLast: true, seed: configuration.seed, workerCount: configuration.loaderThreads,
            onSkip: { warnings("skipped \($0.source): \($0.reason)") })
        guard loader.batchesPerEpoch > 0 else {
            throw TrainingError.invalidSetting(
                flag: "--batch-size", reason: "\(configuration.batchSize) exceeds the \(loader.dataset.count) training pictures")
        }
        let rate = configuration.effectiveLearningRate
        let parameters = model.namedParameters()
        optimizer = switch configuration.optimizer {
        case .sgd: try SGD(parameters: parameters, learningRate: rate, momentum: 0.9, weightDecay: configuration.weightDecay)
        case .rmsprop: try RMSProp(parameters: parameters, learningRate: rate, weightDecay: configuration.weightDecay)
        case .adamw: try AdamW(parameters: parameters, learningRate: rate, weightDecay: configuration.weightDecay)
        }
        schedule = LearningRateSchedule(
            base: rate, decay: .cosine(minimum: 0), epochs: configuration.epochs, warmupEpochs: configuration.warmupEpochs,
            warmupStartFactor: 0.001, granularity: .step, stepsPerEpoch: loader.batchesPerEpoch)
        // What `segment` and `evaluate` need to rebuild the model, beside what a resume compares.
        let runSettings = configuration.settings.merging(
            ["classes": String(training.classNames.count), "class-names": training.classNames.joined(separator: "\n")]) { $1 }
        state = TrainingState(
            epoch: 0, step: 0, globalStep: 0, seed: configuration.seed, schedule: schedule, learningRate: rate, settings: runSettings)
        title = "\(model.configuration) on \(configuration.dataset)"
        checkpoints = RunCheckpoints(output: output)
        try checkpoints.startOrResume(
            existing: existing, model: model, optimizer: optimizer, settings: configuration.settings,
            stepsPerEpoch: loader.batchesPerEpoch, state: &state, warnings: warnings)
    }

    public var stepsPerEpoch: Int { loader.batchesPerEpoch }
    public var imagesPerEpoch: Int { loader.batchesPerEpoch * configuration.batchSize }
    public var testPictures: Int { test.count }

    /// One optimization step on `batch`; returns its loss and how many of its counted pixels
    /// were classified right, before the update.
    func train(on batch: SegmentationBatch) throws -> (loss: Float, correct: Int, pixels: Int) {
        model.clearGradients()
        let classes = model.configuration.classCount
        let labels = batch.labels.map(Int.init)
        let tape = GradientTape()
        var logits: Tensor?
        let loss = try tape.record {
            let scores = try model(batch.images)
            logits = scores
            return try crossEntropy(
                logits: scores.reshaped([labels.count, classes]), labels: labels, ignoreIndex: Int(SegmentationSample.ignoredLabel))
        }
        try DivergenceError.check(
            loss: loss.scalars[0], epoch: state.epoch, step: batch.step, learningRate: optimizer.learningRate)
        try tape.backward(from: loss)
        try optimizer.step()
        let predicted = SegmentationEvaluation.argmax(logits!, classes: classes)
        var correct = 0, pixels = 0
        for (truth, guess) in zip(batch.labels, predicted) where truth != SegmentationSample.ignoredLabel {
            pixels += 1
            if truth == guess { correct += 1 }
        }
        return (loss.scalars[0], correct, pixels)
    }

    /// Trains from where the run stands to the last epoch; `progress` hears every step,
    /// `finished` every epoch (with the test set's pixel accuracy and mean IoU).
    ///
    /// `shouldStop` is asked before every step and between evaluation batches; once it answers
    /// `true` the run saves a snapshot where it stands and throws ``TrainingStopped``.
    @discardableResult
    public func run(
        shouldStop: () -> Bool = { false }, progress: (TrainingProgress) -> Void = { _ in },
        finished: (EpochMetrics) -> Void = { _ in }
    ) throws -> [EpochMetrics] {
        var meter = ThroughputMeter()
        while state.epoch < configuration.epochs {
            let epoch = state.epoch
            let started = ThroughputMeter.now()
            // Loss over the epoch's pictures, and its counted pixels classified right.
            var running = state.running ?? RunningMetrics()
            var images = 0
            model.setTraining(true)
            let batches = loader.batches(epoch: epoch, startingAt: state.step)
            while let batch = try batches.next() {
                if shouldStop() { throw try stop(running: running) }
                optimizer.learningRate = schedule.learningRate(epoch: epoch, step: batch.step)
                let (loss, correct, pixels) = try train(on: batch)
                running.add(loss: loss, correct: correct, samples: max(pixels, 1))
                images += batch.count
                state.step = batch.step + 1
                state.globalStep += 1
                state.learningRate = optimizer.learningRate
                meter.record(images: batch.count, at: ThroughputMeter.now())
                let remaining = (stepsPerEpoch - state.step + (configuration.epochs - epoch - 1) * stepsPerEpoch) * configuration.batchSize
                progress(TrainingProgress(
                    epoch: epoch, epochs: configuration.epochs, step: batch.step, steps: stepsPerEpoch, loss: running.meanLoss,
                    accuracy: running.accuracy, imagesPerSecond: meter.imagesPerSecond,
                    secondsRemaining: meter.secondsRemaining(images: remaining)))
            }
            let seconds = ThroughputMeter.now() - started
            let evaluation: SegmentationEvaluation
            do {
                evaluation = try SegmentationEvaluation.run(
                    model, on: test, baseSize: configuration.effectiveBaseSize, batchSize: 8, keepingPredictions: 8, shouldStop: shouldStop)
            } catch is CancellationError {
                throw try stop(running: running)
            }
            lastEvaluation = evaluation
            let metrics = EpochMetrics(
                epoch: epoch + 1, trainLoss: running.meanLoss, trainAccuracy: running.accuracy, validationLoss: evaluation.loss,
                validationAccuracy: evaluation.pixelAccuracy, learningRate: optimizer.learningRate, seconds: seconds,
                imagesPerSecond: Double(images) / max(seconds, 1e-9), meanIoU: evaluation.meanIntersectionOverUnion)
            state.history.append(metrics)
            state.epoch += 1
            state.step = 0
            state.running = nil
            try MetricsLog.write(state.history, to: output.appendingPathComponent("metrics.csv"))
            try TrainingCurves.write(state.history, title: title, to: output.appendingPathComponent("curves.svg"))
            try checkpoints.save(model: model, optimizer: optimizer, state: state)
            finished(metrics)
            if state.epoch < configuration.epochs, shouldStop() { throw try stop(running: nil) }
        }
        return state.history
    }

    private func stop(running: RunningMetrics?) throws -> TrainingStopped {
        try checkpoints.stop(model: model, optimizer: optimizer, state: &state, running: running, steps: stepsPerEpoch)
    }
}
