import Foundation
import MobileNetData
import MobileNetIO
import MobileNetNN
import MobileNetTensor
import MobileNetTraining

/// A detector's training run: SSDLite from scratch on a detection dataset with SSD's loss,
/// evaluated each epoch with COCO's average precision, and resumable bit for bit from its last
/// checkpoint, as ``Trainer`` is for classifiers (the same checkpoint files, `metrics.csv`
/// with `ap,ap50,ap75`, `curves.svg`, progress line and folder rules).
///
/// Each step: the batch's augmented pictures through the detector on a gradient tape, the loss
/// against the boxes (crowd boxes left out, as torchvision's reference does), the backward pass,
/// the optimizer's update. The learning rate warms up linearly, then decays along a cosine, per
/// step.
public final class DetectionTrainer {
    public let configuration: DetectionTrainingConfiguration
    public let output: URL
    public let detector: SSDLite
    public let classNames: [String]
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public private(set) var state: TrainingState
    public let loss = SSDLoss()
    private let loader: DetectionBatchLoader
    private let test: any DetectionDataset
    private let anchors: [BoundingBox]
    private let title: String
    private var checkpoints: RunCheckpoints
    /// The last epoch's evaluation, for the caller's report and picture.
    public private(set) var lastEvaluation: DetectionEvaluation?

    /// Prepares a run into `output`, or continues the one there with `resume`.
    ///
    /// - Throws: ``TrainingError`` for a bad setting, an output that already holds a run (without
    ///   `resume`) or a resume whose settings differ; ``RunFolderError`` and dataset and
    ///   checkpoint errors as they come.
    public init(
        configuration: DetectionTrainingConfiguration, output: URL, resume: Bool = false,
        warnings: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        try configuration.validate()
        let existing = try RunFolder.checkpointToResume(in: output, resume: resume)
        let (training, test) = try configuration.datasets()
        self.configuration = configuration
        self.output = output
        self.test = test.prefix(configuration.evaluationLimit)
        classNames = training.classNames
        detector = try SSDLite(
            SSDLiteConfiguration(
                backbone: configuration.backbone, widthMultiplier: configuration.widthMultiplier, classCount: training.labelCount,
                resolution: configuration.resolution),
            seed: configuration.seed)
        anchors = detector.anchors
        loader = try DetectionBatchLoader(
            dataset: training.prefix(configuration.limit),
            augmentation: .ssdliteTraining(resolution: configuration.resolution, photometricDistortion: configuration.photometricDistortion),
            batchSize: configuration.batchSize, dropsLast: true, seed: configuration.seed, workerCount: configuration.loaderThreads,
            onSkip: { warnings("skipped \($0.source): \($0.reason)") })
        guard loader.batchesPerEpoch > 0 else {
            throw TrainingError.invalidSetting(
                flag: "--batch-size", reason: "\(configuration.batchSize) exceeds the \(loader.dataset.count) training pictures")
        }
        let rate = configuration.effectiveLearningRate
        let parameters = detector.namedParameters()
        optimizer = switch configuration.optimizer {
        case .sgd: try SGD(parameters: parameters, learningRate: rate, momentum: 0.9, weightDecay: configuration.weightDecay)
        case .rmsprop: try RMSProp(parameters: parameters, learningRate: rate, weightDecay: configuration.weightDecay)
        case .adamw: try AdamW(parameters: parameters, learningRate: rate, weightDecay: configuration.weightDecay)
        }
        schedule = LearningRateSchedule(
            base: rate, decay: .cosine(minimum: 0), epochs: configuration.epochs, warmupEpochs: configuration.warmupEpochs,
            warmupStartFactor: 0.001, granularity: .step, stepsPerEpoch: loader.batchesPerEpoch)
        // What `detect` and `evaluate` need to rebuild the detector, beside what a resume compares.
        let runSettings = configuration.settings.merging(
            ["classes": String(training.labelCount), "class-names": training.classNames.joined(separator: "\n")]) { $1 }
        state = TrainingState(
            epoch: 0, step: 0, globalStep: 0, seed: configuration.seed, schedule: schedule, learningRate: rate, settings: runSettings)
        title = "\(detector.configuration) on \(configuration.dataset)"
        checkpoints = RunCheckpoints(output: output)
        try checkpoints.startOrResume(
            existing: existing, model: detector, optimizer: optimizer, settings: configuration.settings,
            stepsPerEpoch: loader.batchesPerEpoch, state: &state, warnings: warnings)
    }

    public var stepsPerEpoch: Int { loader.batchesPerEpoch }
    public var imagesPerEpoch: Int { loader.batchesPerEpoch * configuration.batchSize }
    public var testPictures: Int { test.count }

    /// One optimization step on `batch`; returns its loss terms and their total (before the update).
    func train(on batch: DetectionBatch) throws -> (terms: SSDLoss.Terms, loss: Float) {
        detector.clearGradients()
        let targets = batch.annotations.map { annotation in
            let kept = annotation.isCrowd.indices.filter { !annotation.isCrowd[$0] }
            return DetectionTarget(boxes: kept.map { annotation.boxes[$0] }, labels: kept.map { annotation.labels[$0] })
        }
        let tape = GradientTape()
        var terms: SSDLoss.Terms?
        let total = try tape.record {
            let computed = try loss(detector(batch.images), targets: targets, anchors: anchors)
            terms = computed
            return try computed.total()
        }
        try DivergenceError.check(
            loss: total.scalars[0], epoch: state.epoch, step: batch.step, learningRate: optimizer.learningRate)
        try tape.backward(from: total)
        try optimizer.step()
        return (terms!, total.scalars[0])
    }

    /// Trains from where the run stands to the last epoch; `progress` hears every step,
    /// `finished` every epoch (with the test set's average precision).
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
            // Loss summed over positives, matched anchors classified right, over the epoch so far.
            var running = state.running ?? RunningMetrics()
            var images = 0
            detector.setTraining(true)
            let batches = loader.batches(epoch: epoch, startingAt: state.step)
            while let batch = try batches.next() {
                if shouldStop() { throw try stop(running: running) }
                optimizer.learningRate = schedule.learningRate(epoch: epoch, step: batch.step)
                let (terms, lossValue) = try train(on: batch)
                running.add(loss: lossValue, correct: terms.correctPositives, samples: max(terms.positives, 1))
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
            let evaluation: DetectionEvaluation
            do {
                evaluation = try DetectionEvaluation.run(detector, on: test, batchSize: 16, shouldStop: shouldStop)
            } catch is CancellationError {
                throw try stop(running: running)
            }
            lastEvaluation = evaluation
            let summary = evaluation.coco.summary
            let metrics = EpochMetrics(
                epoch: epoch + 1, trainLoss: running.meanLoss, trainAccuracy: running.accuracy,
                learningRate: optimizer.learningRate, seconds: seconds, imagesPerSecond: Double(images) / max(seconds, 1e-9),
                averagePrecision: summary.averagePrecision, averagePrecision50: summary.averagePrecision50,
                averagePrecision75: summary.averagePrecision75)
            state.history.append(metrics)
            state.epoch += 1
            state.step = 0
            state.running = nil
            try MetricsLog.write(state.history, to: output.appendingPathComponent("metrics.csv"))
            try TrainingCurves.write(state.history, title: title, to: output.appendingPathComponent("curves.svg"))
            try checkpoints.save(model: detector, optimizer: optimizer, state: state)
            finished(metrics)
            if state.epoch < configuration.epochs, shouldStop() { throw try stop(running: nil) }
        }
        return state.history
    }

    private func stop(running: RunningMetrics?) throws -> TrainingStopped {
        try checkpoints.stop(model: detector, optimizer: optimizer, state: &state, running: running, steps: stepsPerEpoch)
    }
}
