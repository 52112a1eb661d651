import Foundation
import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetPretrained
import MobileNetTensor

/// A training run: data, model, optimizer, schedule and checkpoints, wired as the MobileNet
/// papers train (cross-entropy, SGD or RMSProp, decaying learning rate, weight decay), and
/// resumable bit for bit from its last checkpoint.
///
/// Each epoch writes, into the output folder: a checkpoint (`epoch-N.safetensors` with the
/// optimizer state and `epoch-N.json` beside it, `latest.json` last), `metrics.csv` and
/// `curves.svg`; the end of the run adds `confusion_matrix.svg` and `.png`.
///
/// A run asked to stop (``run(shouldStop:progress:finished:)``) saves a snapshot where it stands,
/// `epoch-N-step-S` (S steps of epoch N done), from which resuming continues bit for bit; the
/// next epoch's checkpoint replaces it. The folder follows the rules of ``RunFolder``.
///
/// The trainer composes the parts a variant of it would change: each batch goes through a
/// ``TrainingStep`` (``step``, whose gradient hook a data-parallel trainer sets), and everything
/// written goes through a ``TrainingRecorder`` (``recorder``, which writes nothing on ranks other
/// than the first).
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let output: URL
    public let model: any ImageClassifier
    public let classNames: [String]
    public let optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public let average: ExponentialMovingAverage?
    public private(set) var state: TrainingState
    /// One optimization step; set its ``TrainingStep/gradientHook`` before ``run(shouldStop:progress:finished:)``.
    public let step: TrainingStep
    /// The run's files; pass `writes: false` to ``init(configuration:output:resume:writes:warnings:)`` for none.
    public let recorder: TrainingRecorder
    private let loader: BatchLoader
    private let evaluationLoader: BatchLoader
    private let warnings: @Sendable (String) -> Void

    /// Prepares a run into `output`, or continues the one there with `resume`.
    ///
    /// A new run needs a folder that does not exist yet or is empty (``RunFolder``); either way,
    /// temporary files that a killed run left behind are removed.
    ///
    /// - Throws: ``TrainingError`` for a bad setting, an output folder that already holds a run
    ///   (without `resume`), or a resume whose settings differ; ``RunFolderError`` for an output
    ///   that is a file, cannot be created or holds other files; dataset and checkpoint errors as they come.
    /// - Parameter writes: whether this process writes the run's files (``TrainingRecorder``);
    ///   `false` for the ranks of a data-parallel run other than the first, which only read a
    ///   checkpoint to resume.
    public init(
        configuration: TrainingConfiguration, output: URL, resume: Bool = false, writes: Bool = true,
        warnings: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        try configuration.validate()
        // The folder first: a wrong --output is reported before any data is read.
        let existing = try RunFolder.checkpointToResume(in: output, resume: resume, writes: writes)
        let (training, validation, names, trainingPipeline, evaluationPipeline) = try Self.datasets(configuration)
        // The dataset decides the class count.
        var configuration = configuration
        configuration.model.classCount = names.count
        self.configuration = configuration
        self.output = output
        self.warnings = warnings
        classNames = names
        model = try makeModel(configuration.model, seed: configuration.seed)
        if configuration.pretrained { try Self.loadPretrainedBackbone(into: model) }

        loader = try BatchLoader(
            dataset: training.prefix(configuration.limit), pipeline: trainingPipeline, batchSize: configuration.batchSize,
            dropsLast: true, seed: configuration.seed, workerCount: configuration.loaderThreads,
            onSkip: { warnings("skipped \($0.source): \($0.reason)") })
        // Evaluation takes larger batches (no gradients are kept), within the pixels a batch may hold.
        let evaluationBatch = min(max(configuration.batchSize, 100), ModelConfiguration.maximumBatch(resolution: configuration.resolution))
        evaluationLoader = try BatchLoader(
            dataset: validation, pipeline: evaluationPipeline, batchSize: evaluationBatch, shuffles: false,
            seed: 0, workerCount: configuration.loaderThreads, onSkip: { warnings("skipped \($0.source): \($0.reason)") })
        guard loader.batchesPerEpoch > 0 else {
            throw TrainingError.invalidSetting(
                flag: "--batch-size", reason: "\(configuration.batchSize) exceeds the \(loader.dataset.count) training images")
        }

        let trained = configuration.freezeBackbone
            ? model.namedParameters().filter { $0.key.hasPrefix("classifier.") }
            : model.namedParameters()
        let rate = configuration.effectiveLearningRate
        optimizer = switch configuration.optimizer {
        case .sgd: try SGD(parameters: trained, learningRate: rate, momentum: 0.9, nesterov: true, weightDecay: configuration.weightDecay)
        case .rmsprop: try RMSProp(parameters: trained, learningRate: rate, weightDecay: configuration.weightDecay)
        case .adamw: try AdamW(parameters: trained, learningRate: rate, weightDecay: configuration.weightDecay)
        }
        let decay: LearningRateSchedule.Decay = switch configuration.schedule {
        case .cosine: .cosine(minimum: 0)
        // The papers' recipes: ×0.98 per epoch (V2) and ×0.1 at fixed steps; here a third and two thirds through.
        case .step: .step(every: max(1, configuration.epochs / 3), factor: 0.1)
        case .exponential: .exponential(factor: 0.98)
        }
        schedule = LearningRateSchedule(
            base: rate, decay: decay, epochs: configuration.epochs, warmupEpochs: configuration.warmupEpochs,
            warmupStartFactor: 0.1, granularity: .step, stepsPerEpoch: loader.batchesPerEpoch)
        let model = self.model
        average = configuration.averageDecay.map { ExponentialMovingAverage(model, decay: $0, warmup: true) }
        state = TrainingState(
            epoch: 0, step: 0, globalStep: 0, seed: configuration.seed, schedule: schedule, learningRate: rate,
            settings: configuration.settings)
        step = TrainingStep(
            model: model, optimizer: optimizer, average: average, labelSmoothing: Float(configuration.labelSmoothing),
            clipNorm: configuration.clipNorm, seed: configuration.seed)
        let title = "MobileNet \(configuration.model.architecture) α=\(configuration.model.widthMultiplier) on \(configuration.dataset)"

        if let existing {
            let checkpoint = try TrainingCheckpoint.loadForResume(
                from: existing, settings: configuration.settings, stepsPerEpoch: loader.batchesPerEpoch)
            try checkpoint.restore(model: model, optimizer: optimizer, average: average)
            state = checkpoint.state
            state.schedule = schedule
            state.settings = configuration.settings
            recorder = TrainingRecorder(
                output: output, title: title, classNames: names, writes: writes, resumedFrom: (existing, state))
            if writes {
                let removed = try RunFolder.removeStalePartialFiles(in: output)
                if !removed.isEmpty { warnings("removed \(removed.count) temporary file(s) of an interrupted write: \(removed.joined(separator: ", "))") }
            }
        } else {
            recorder = TrainingRecorder(output: output, title: title, classNames: names, writes: writes)
            if writes { try RunFolder.prepareForNewRun(at: output) }
        }
    }

    /// Steps per epoch and training images per epoch.
    public var stepsPerEpoch: Int { loader.batchesPerEpoch }
    public var imagesPerEpoch: Int { loader.samplesPerEpoch }

    /// Trains from where the run stands to the last epoch. `progress` hears every step,
    /// `finished` every epoch (with the validation accuracy).
    ///
    /// `shouldStop` is asked before every step, between evaluation batches and after each
    /// epoch's files are written; once it answers `true`, the run saves a snapshot of where it
    /// stands (unless the last one already is) and throws ``TrainingStopped``. It may be called
    /// from a signal handler's flag or another thread's request; no file is left half written.
    @discardableResult
    public func run(
        shouldStop: () -> Bool = { false },
        progress: (TrainingProgress) -> Void = { _ in }, finished: (EpochMetrics) -> Void = { _ in }
    ) throws -> [EpochMetrics] {
        var meter = ThroughputMeter()
        while state.epoch < configuration.epochs {
            let epoch = state.epoch
            let started = ThroughputMeter.now()
            var running = state.running ?? RunningMetrics()
            // A resumed epoch's speed counts only the images of this process.
            let resumedSamples = running.samples
            setTrainingMode()
            let batches = loader.batches(epoch: epoch, startingAt: state.step)
            while let batch = try batches.next() {
                if shouldStop() { throw try stop(running: running) }
                optimizer.learningRate = schedule.learningRate(epoch: epoch, step: batch.step)
                let result = try step(images: batch.images, labels: batch.labels, globalStep: state.globalStep) { loss in
                    try DivergenceError.check(loss: loss, epoch: epoch, step: batch.step, learningRate: optimizer.learningRate)
                }
                try running.add(loss: result.loss, logits: result.logits, labels: batch.labels)
                state.step = batch.step + 1
                state.globalStep += 1
                state.learningRate = optimizer.learningRate

                meter.record(images: batch.labels.count, at: ThroughputMeter.now())
                let remainingImages = (stepsPerEpoch - state.step + (configuration.epochs - epoch - 1) * stepsPerEpoch) * configuration.batchSize
                progress(TrainingProgress(
                    epoch: epoch, epochs: configuration.epochs, step: batch.step, steps: stepsPerEpoch, loss: running.meanLoss,
                    accuracy: running.accuracy, imagesPerSecond: meter.imagesPerSecond,
                    secondsRemaining: meter.secondsRemaining(images: remainingImages)))
            }
            let seconds = ThroughputMeter.now() - started
            let matrix: ConfusionMatrix, validationLoss: Double, averaged: (ConfusionMatrix, loss: Double)?
            do {
                (matrix, validationLoss) = try evaluate(shouldStop: shouldStop)
                // With a weight average, the averaged model too (what the V3 recipe evaluates).
                averaged = try average.map { average in try average.withAveragedWeights { try evaluate(shouldStop: shouldStop) } }
            } catch is CancellationError {
                // The epoch's steps are done: the snapshot resumes at its evaluation.
                throw try stop(running: running)
            }
            let metrics = EpochMetrics(
                epoch: epoch + 1, trainLoss: running.meanLoss, trainAccuracy: running.accuracy, validationLoss: validationLoss,
                validationAccuracy: matrix.accuracy, learningRate: optimizer.learningRate, seconds: seconds,
                imagesPerSecond: Double(running.samples - resumedSamples) / max(seconds, 1e-9),
                averageValidationLoss: averaged?.loss, averageValidationAccuracy: averaged?.0.accuracy)
            state.history.append(metrics)
            state.epoch += 1
            state.step = 0
            state.running = nil
            try recorder.recordEpoch(self, finalMatrix: state.epoch == configuration.epochs ? matrix : nil)
            finished(metrics)
            if state.epoch < configuration.epochs, shouldStop() { throw try stop(running: nil) }
        }
        return state.history
    }

    /// Records a snapshot of where the run stands (unless the last one already is) and returns
    /// what to throw.
    private func stop(running: RunningMetrics?) throws -> TrainingStopped {
        if state.globalStep != recorder.savedGlobalStep { state.running = running }
        try recorder.recordStop(self)
        return TrainingStopped(epoch: state.epoch, step: state.step, steps: stepsPerEpoch, checkpoint: recorder.latestCheckpoint)
    }

    /// Accuracy and mean loss on the validation (or test) set, with the current weights.
    ///
    /// - Throws: `CancellationError` once `shouldStop` answers `true` (asked before each batch).
    public func evaluate(shouldStop: () -> Bool = { false }) throws -> (ConfusionMatrix, loss: Double) {
        try Self.evaluate(model, loader: evaluationLoader, classCount: classNames.count, shouldStop: shouldStop)
    }

    /// Runs `model` as it stands over every batch of `loader`, through the fused inference path
    /// (batch norm folded with the current running statistics).
    ///
    /// - Throws: `CancellationError` once `shouldStop` answers `true` (asked before each batch).
    public static func evaluate(
        _ model: any ImageClassifier, loader: BatchLoader, classCount: Int, shouldStop: () -> Bool = { false }
    ) throws -> (ConfusionMatrix, loss: Double) {
        try evaluate(InferenceModel(model).session, loader: loader, classCount: classCount, shouldStop: shouldStop)
    }

    /// Runs a compiled inference session (fp32, or an int8 model's) over every batch of `loader`.
    ///
    /// - Throws: `CancellationError` once `shouldStop` answers `true` (asked before each batch).
    public static func evaluate(
        _ inference: InferenceSession, loader: BatchLoader, classCount: Int, shouldStop: () -> Bool = { false }
    ) throws -> (ConfusionMatrix, loss: Double) {
        var matrix = ConfusionMatrix(classCount: classCount)
        var lossSum = 0.0
        let batches = loader.batches(epoch: 0)
        while let batch = try batches.next() {
            if shouldStop() { throw CancellationError() }
            let logits = try inference.run(batch.images)
            lossSum += try Double(crossEntropy(logits: logits, labels: batch.labels).scalars[0]) * Double(batch.labels.count)
            try matrix.add(logits: logits, labels: batch.labels)
        }
        return (matrix, matrix.total == 0 ? 0 : lossSum / Double(matrix.total))
    }

    /// Training mode, except a frozen backbone, whose batch norms keep their running statistics.
    private func setTrainingMode() {
        if configuration.freezeBackbone {
            model.setTraining(false)
            for (path, module) in model.namedModules() where path.hasPrefix("classifier") {
                (module as? ModeDependent)?.isTraining = true
            }
        } else {
            model.setTraining(true)
        }
    }

    /// The training and validation sets with their pipelines.
    static func datasets(_ configuration: TrainingConfiguration) throws
        -> (any ImageDataset, any ImageDataset, [String], ImagePipeline, ImagePipeline)
    {
        let resolution = configuration.resolution
        switch configuration.dataset {
        case .fashionMNIST:
            let training = try FashionMNIST(split: .train), test = try FashionMNIST(split: .test)
            return (training, test, FashionMNIST.classNames,
                    .fashionMNISTTraining(resolution: resolution), .fashionMNISTEvaluation(resolution: resolution))
        case let .folder(root):
            let folder = try ImageFolder(root: root)
            let (training, validation) = try folder.split(ValidationSplit(fraction: configuration.validationFraction, seed: configuration.seed))
            return (training, validation, folder.classNames,
                    .imageFolderTraining(resolution: resolution), .imageFolderEvaluation(resolution: resolution))
        }
    }

    /// The published ImageNet weights for everything but the classifier, whose class count differs.
    static func loadPretrainedBackbone(into model: any ImageClassifier) throws {
        guard let weights = PretrainedWeights.default(for: model.configuration.architecture) else {
            throw TrainingError.invalidSetting(flag: "--pretrained", reason: "no published weights for \(model.configuration.architecture)")
        }
        let url = try WeightsCache.locate(weights.fileName)
        let state = try readStateDictionary(contentsOf: url)
        do {
            // A classifier for other classes keeps its fresh initialization; everything else must match.
            let newHead = model.configuration.classCount != weights.configuration.classCount
            try model.load(state, excluding: newHead ? ["classifier."] : [])
        } catch let error as StateError {
            throw ModelLoadingError(file: url.path, configuration: model.configuration, reason: error)
        }
    }
}
