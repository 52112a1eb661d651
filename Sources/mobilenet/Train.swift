import ArgumentParser
import Foundation
import MobileNet

extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}
extension TrainingConfiguration.ScheduleKind: ExpressibleByArgument {}

/// `fashion-mnist`, or a folder with one sub-folder of pictures per class.
func datasetSource(_ argument: String) -> TrainingConfiguration.DatasetSource {
    argument == "fashion-mnist" ? .fashionMNIST : .folder(URL(fileURLWithPath: argument, isDirectory: true))
}

/// Writes a line to standard output at once, so a log file that is being followed stays current
/// (`print` holds output back in a buffer when it is not a terminal).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// `mobilenet train`: trains a MobileNet from scratch or fine-tunes the pretrained V2.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a MobileNet on Fashion-MNIST or a folder of pictures (one sub-folder per class).",
        discussion: """
            A new run needs an --output folder that does not exist yet or is empty; an existing run \
            continues with --resume and the same settings (a larger --epochs extends it).

            SIGINT (Ctrl-C) or SIGTERM stops the run after the step in progress: it saves a checkpoint \
            there (epoch-N-step-S), prints where it stopped on standard error and exits with status \
            \(stoppedStatus) (EX_TEMPFAIL); --resume continues from that checkpoint, bit for bit. A second \
            signal stops at once (the previous checkpoint then holds the run).
            """)

    /// The exit status of a run stopped by SIGINT or SIGTERM.
    static let stoppedStatus = StopSignals.exitStatus

    @Option(name: .long, help: "classification, detection (SSDLite on MobileNetV3) or segmentation (LR-ASPP on MobileNetV3).")
    var task: Task = .classification

    @Option(name: .long, help: """
        fashion-mnist, or a folder with one sub-folder of pictures per class; for --task detection \
        fashion-mnist-scenes, or coco:DIR (DIR/train and DIR/val, each an instances.json and images/); for \
        --task segmentation fashion-mnist-scenes, or voc:DIR (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/).
        """)
    var dataset: String

    @Option(name: .long, help: "The family: v1, v2, v3-large or v3-small (default: v2; v3-large for detection).")
    var variant: Architecture?

    @Option(name: .long, help: "--task detection or segmentation on fashion-mnist-scenes: training scenes (from the training split).")
    var trainScenes: Int = 8_000

    @Option(name: .long, help: "--task detection or segmentation on fashion-mnist-scenes: test scenes (from the test split).")
    var testScenes: Int = 1_000

    @Option(name: .long, help: "--task detection or segmentation on fashion-mnist-scenes: the side of the square canvas (garments an eighth to a half of it).")
    var sceneCanvas: Int = 320

    @Option(name: .long, help: "--task detection or segmentation: evaluate each epoch on the first N test pictures only.")
    var evaluationLimit: Int?

    @Flag(name: .long, help: "--task detection: no brightness, contrast, saturation and hue jitter.")
    var noPhotometricDistortion = false

    @Option(name: .long, help: "--task segmentation: the shorter side for evaluation and the centre of the training resize (default: --resolution, the crop).")
    var baseSize: Int?

    @Option(name: .long, help: "--task segmentation: the backbone's batch-norm momentum, in (0, 1] (default: torchvision's 0.01; larger suits short runs).")
    var normMomentum: Float?

    @Option(name: .long, help: "The width multiplier α, in (0, \(ModelConfiguration.maximumWidthMultiplier)].")
    var width: Double = 1

    @Option(name: .long, help: "The input resolution (default: 32 for fashion-mnist, 224 for a folder).")
    var resolution: Int?

    @Option(name: .long, help: "Passes over the training set, at most \(TrainingConfiguration.maximumEpochs).")
    var epochs: Int

    @Option(name: .long, help: "Images per step, \(FlagChecks.batchBoundHelp).")
    var batchSize: Int

    @Option(name: .long, help: "sgd (Nesterov momentum 0.9), rmsprop (TensorFlow form) or adamw.")
    var optimizer: TrainingConfiguration.OptimizerKind = .sgd

    @Option(name: .long, help: "Peak learning rate (default: SGD 0.1 and RMSProp 0.016 per 256 images of batch, AdamW 0.001).")
    var lr: Double?

    @Option(name: .long, help: "Weight decay on weights (not on batch-norm parameters or biases).")
    var weightDecay: Double = 4e-5

    @Option(name: .long, help: "Learning-rate decay: cosine, step or exponential.")
    var schedule: TrainingConfiguration.ScheduleKind = .cosine

    @Option(name: .long, help: "Epochs of linear warm-up from a tenth of the rate.")
    var warmupEpochs: Int = 0

    @Option(name: .long, help: "Label smoothing of the cross-entropy, in [0, 1).")
    var labelSmoothing: Double = 0

    @Option(name: .long, help: "Train on the first N training images only.")
    var limit: Int?

    @Option(name: .long, help: "Seed of initialization, shuffling, augmentation and dropout.")
    var seed: UInt64 = 0

    @OptionGroup var engine: EngineOptions

    @Flag(name: .long, help: "Start from the published ImageNet weights (v2), with a new classifier.")
    var pretrained = false

    @Flag(name: .long, help: "With --pretrained: train only the classifier.")
    var freezeBackbone = false

    @Option(name: .long, help: "Keep an exponential moving average of the weights with this decay, in (0, 1) (e.g. 0.9999).")
    var ema: Double?

    @Option(name: .long, help: "Clip the gradients' global norm to this.")
    var clipNorm: Double?

    @Option(name: .long, help: "The run's folder: checkpoints, metrics.csv, curves.svg.")
    var output: String

    @Flag(name: .long, help: "Continue the run in --output from its last checkpoint.")
    var resume = false

    /// Every numeric flag, checked by the library's own rules (``TrainingConfiguration/validate()``)
    /// before a dataset is opened or a model built.
    func validate() throws {
        do {
            if task == .detection {
                try checkDetectionFlags()
                try detectionConfiguration().validate()
            } else if task == .segmentation {
                try checkSegmentationFlags()
                try segmentationConfiguration().validate()
            } else {
                try checkClassificationFlags()
                try configuration.validate()
            }
        } catch let error as TrainingError {
            throw ValidationError(error.description)
        }
    }

    /// The run the flags describe.
    var configuration: TrainingConfiguration {
        let source = datasetSource(dataset)
        var settings = TrainingConfiguration(
            dataset: source, model: ModelConfiguration(variant ?? .v2, widthMultiplier: width),
            resolution: resolution ?? (source == .fashionMNIST ? 32 : 224), epochs: epochs, batchSize: batchSize)
        settings.optimizer = optimizer
        settings.learningRate = lr
        settings.weightDecay = weightDecay
        settings.schedule = schedule
        settings.warmupEpochs = warmupEpochs
        settings.labelSmoothing = labelSmoothing
        settings.limit = limit
        settings.seed = seed
        settings.pretrained = pretrained
        settings.freezeBackbone = freezeBackbone
        settings.averageDecay = ema
        settings.clipNorm = clipNorm
        return settings
    }

    func run() throws {
        engine.apply()
        if task == .detection { return try runDetection() }
        if task == .segmentation { return try runSegmentation() }
        let settings = configuration

        // From here on SIGINT and SIGTERM stop the run between steps, its files whole.
        let interactive = isatty(STDOUT_FILENO) != 0
        let stop = StopSignals(onFirst: { signal in
            emit((interactive ? "\n" : "") + "\(signal): stopping after the step in progress (again to stop at once)")
        })
        let trainer: Trainer
        do {
            trainer = try Trainer(
                configuration: settings, output: URL(fileURLWithPath: output, isDirectory: true), resume: resume,
                warnings: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) })
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        emit("training \(trainer.configuration.model) on \(settings.dataset) at \(settings.resolution)x\(settings.resolution): "
              + "\(trainer.stepsPerEpoch) steps of \(settings.batchSize) per epoch, \(settings.optimizer.rawValue) "
              + "at \(settings.effectiveLearningRate), \(CPUEngine.threadCount) thread(s)"
              + (trainer.state.epoch > 0 || trainer.state.step > 0 ? ", resuming at epoch \(trainer.state.epoch + 1)" : ""))
        do {
            try train(trainer, stop: stop, interactive: interactive, settings: settings)
        } catch let stopped as TrainingStopped {
            throw Self.stoppedError(stopped, stop: stop)
        } catch let error as RunFolderError {
            throw CommandError(description: "--output: \(error)")
        }
        emit("done: \(output)/metrics.csv, curves.svg, confusion_matrix.svg, checkpoints epoch-N.safetensors")
    }

    /// The one line a run stopped by a signal ends with: where it stopped and how to continue.
    static func stoppedError(_ stopped: TrainingStopped, stop: StopSignals) -> CommandError {
        let signal = stop.signalName ?? "a stop request"
        let next = stopped.checkpoint.map { "\($0.path) holds the run; continue with the same command and --resume" }
            ?? "nothing was saved; run the command again to start"
        return CommandError(description: "\(signal): stopped \(stopped.position); \(next)", status: stoppedStatus)
    }

    /// Prints the progress line as the classification run does: in place on a terminal, every
    /// 30 s (and at an epoch's end) into a log.
    func progressPrinter(interactive: Bool) -> (TrainingProgress) -> Void {
        var lastPrinted = ThroughputMeter.now()
        return { progress in
            let now = ThroughputMeter.now()
            if interactive {
                FileHandle.standardOutput.write(Data(("\r" + progress.line + "   ").utf8))
            } else if now - lastPrinted >= 30 || progress.step + 1 == progress.steps {
                emit(progress.line)
                lastPrinted = now
            }
        }
    }

    private func train(_ trainer: Trainer, stop: StopSignals, interactive: Bool, settings: TrainingConfiguration) throws {
        try trainer.run(
            shouldStop: { stop.requested },
            progress: progressPrinter(interactive: interactive),
            finished: { metrics in
                emit((interactive ? "\n" : "") + "epoch \(metrics.epoch)/\(settings.epochs): train loss \(String(format: "%.4f", metrics.trainLoss)), "
                      + "train accuracy \(String(format: "%.2f", metrics.trainAccuracy * 100))%, "
                      + "validation accuracy \(String(format: "%.2f", (metrics.validationAccuracy ?? 0) * 100))%, "
                      + (metrics.averageValidationAccuracy.map { "with the weight average \(String(format: "%.2f", $0 * 100))%, " } ?? "")
                      + "\(Int(metrics.imagesPerSecond.rounded())) images/s, \(TrainingProgress.duration(metrics.seconds))")
            })
    }
}
