import Foundation
import MobileNetModels
import MobileNetPretrained
import MobileNetTensor

/// Everything that decides a training run: what to train on, which model, and how.
///
/// The defaults follow torchvision's reference recipe for MobileNets where it applies (SGD with
/// Nesterov momentum 0.9, weight decay 4e-5 on weights only, cosine decay), scaled to small data.
public struct TrainingConfiguration: Hashable, Sendable {
    public enum DatasetSource: Hashable, Sendable, CustomStringConvertible {
        /// Debian's `dataset-fashion-mnist`: 60 000 training and 10 000 test images.
        case fashionMNIST
        /// One sub-folder per class; a seeded part held out for validation.
        case folder(URL)

        public var description: String {
            switch self {
            case .fashionMNIST: "fashion-mnist"
            case let .folder(url): url.path
            }
        }
    }

    public enum OptimizerKind: String, CaseIterable, Hashable, Sendable {
        case sgd, rmsprop, adamw

        /// The usual peak learning rate for `batchSize`: SGD `sgdRate` per `sgdBatch` images
        /// (0.1 per 256, the papers' and torchvision's linear scaling), RMSProp 0.016 per 256,
        /// AdamW 0.001.
        public func defaultLearningRate(batchSize: Int, sgdRate: Double = 0.1, sgdBatch: Int = 256) -> Double {
            switch self {
            case .sgd: sgdRate * Double(batchSize) / Double(sgdBatch)
            case .rmsprop: 0.016 * Double(batchSize) / 256
            case .adamw: 0.001
            }
        }
    }

    public enum ScheduleKind: String, CaseIterable, Hashable, Sendable {
        case cosine, step, exponential
    }

    public var dataset: DatasetSource
    public var model: ModelConfiguration
    public var resolution: Int
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: OptimizerKind = .sgd
    /// The peak learning rate; nil takes the optimizer's usual one for this batch size.
    public var learningRate: Double?
    public var weightDecay: Double = 4e-5
    public var schedule: ScheduleKind = .cosine
    public var warmupEpochs: Int = 0
    public var labelSmoothing: Double = 0
    /// Train on the first `limit` training images only.
    public var limit: Int?
    public var seed: UInt64 = 0
    /// Start from the published ImageNet weights (MobileNetV2), with a new classifier.
    public var pretrained = false
    /// Train only the classifier.
    public var freezeBackbone = false
    /// Keep an exponential moving average of the weights with this decay.
    public var averageDecay: Double?
    /// Clip the gradients' global norm to this.
    public var clipNorm: Double?
    /// The share of an image folder held out for validation.
    public var validationFraction = 0.2
    /// Threads decoding and augmenting images.
    public var loaderThreads = 2

    public init(dataset: DatasetSource, model: ModelConfiguration, resolution: Int, epochs: Int, batchSize: Int) {
        self.dataset = dataset
        self.model = model
        self.resolution = resolution
        self.epochs = epochs
        self.batchSize = batchSize
    }

    /// The learning rate the run uses: the given one, or else SGD 0.1 and RMSProp 0.016 per 256
    /// images of batch (the linear scaling rule of the papers' and torchvision's recipes), AdamW 0.001.
    public var effectiveLearningRate: Double {
        learningRate ?? optimizer.defaultLearningRate(batchSize: batchSize)
    }

    /// The settings a resumed run must share with the run it continues.
    public var settings: [String: String] {
        [
            "dataset": dataset.description, "variant": model.architecture.rawValue, "width": String(model.widthMultiplier),
            "classes": String(model.classCount), "resolution": String(resolution), "epochs": String(epochs),
            "batch_size": String(batchSize), "optimizer": optimizer.rawValue, "learning_rate": String(effectiveLearningRate),
            "weight_decay": String(weightDecay), "schedule": schedule.rawValue, "warmup_epochs": String(warmupEpochs),
            "label_smoothing": String(labelSmoothing), "limit": limit.map(String.init) ?? "all", "seed": String(seed),
            "pretrained": String(pretrained), "freeze_backbone": String(freezeBackbone),
            "average_decay": averageDecay.map { String($0) } ?? "none", "clip_norm": clipNorm.map { String($0) } ?? "none",
        ]
    }

    /// The most epochs a run may ask for: 10 000, sixteen times the longest published MobileNet
    /// recipe (600 epochs for V3). Keeps every count of steps far inside `Int`.
    public static let maximumEpochs = 10_000

    /// Checks every setting before any work starts, naming each by its `mobilenet train` flag.
    ///
    /// - Throws: ``TrainingError/invalidSetting(flag:reason:)`` for the first that is out of range.
    public func validate() throws {
        func invalid(_ flag: String, _ reason: String) -> TrainingError { .invalidSetting(flag: flag, reason: reason) }
        guard (1...Self.maximumEpochs).contains(epochs) else {
            throw invalid("--epochs", "must be in 1...\(Self.maximumEpochs), got \(epochs)")
        }
        guard model.widthMultiplier > 0, model.widthMultiplier <= ModelConfiguration.maximumWidthMultiplier else {
            throw invalid("--width", "must be in (0, \(ModelConfiguration.maximumWidthMultiplier)], got \(model.widthMultiplier)")
        }
        let resolutions = ModelConfiguration.minimumResolution...ModelConfiguration.maximumResolution
        guard resolutions.contains(resolution) else {
            throw invalid("--resolution", "must be in \(resolutions.lowerBound)...\(resolutions.upperBound), got \(resolution)")
        }
        guard batchSize >= 1 else { throw invalid("--batch-size", "must be at least 1, got \(batchSize)") }
        let maximumBatch = ModelConfiguration.maximumBatch(resolution: resolution)
        guard batchSize <= maximumBatch else {
            throw invalid("--batch-size", "must be at most \(maximumBatch) at resolution \(resolution) "
                + "(\(ModelConfiguration.maximumPixelsPerBatch) pixels a batch), got \(batchSize)")
        }
        guard effectiveLearningRate > 0, effectiveLearningRate.isFinite else {
            throw invalid("--lr", "must be a positive number, got \(effectiveLearningRate)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw invalid("--weight-decay", "must be a number at least 0, got \(weightDecay)")
        }
        guard (0...epochs).contains(warmupEpochs) else { throw invalid("--warmup-epochs", "must be in 0...\(epochs), got \(warmupEpochs)") }
        guard (0..<1).contains(labelSmoothing) else { throw invalid("--label-smoothing", "must be in [0, 1), got \(labelSmoothing)") }
        if let limit, limit < 1 { throw invalid("--limit", "must be at least 1, got \(limit)") }
        // 0 would freeze the average at the latest weights and 1 at the initial ones.
        if let averageDecay, !(averageDecay > 0 && averageDecay < 1) {
            throw invalid("--ema", "must be in (0, 1), got \(averageDecay)")
        }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) {
            throw invalid("--clip-norm", "must be a positive number, got \(clipNorm)")
        }
        guard validationFraction > 0, validationFraction < 1 else {
            throw invalid("validationFraction", "must be in (0, 1), got \(validationFraction)")
        }
        guard (1...CPUEngine.maximumThreadCount).contains(loaderThreads) else {
            throw invalid("loaderThreads", "must be in 1...\(CPUEngine.maximumThreadCount), got \(loaderThreads)")
        }
        if pretrained, PretrainedWeights.default(for: model.architecture) == nil {
            throw invalid("--pretrained", "no published weights for \(model.architecture) (only v2)")
        }
        if freezeBackbone, !pretrained { throw invalid("--freeze-backbone", "needs --pretrained") }
        try model.validate()
    }
}

/// A training run could not start, continue or go on.
public enum TrainingError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidSetting(flag: String, reason: String)
    case outputNotEmpty(path: String)
    case nothingToResume(path: String)
    case settingsDiffer(key: String, saved: String, given: String)

    public var description: String {
        switch self {
        case let .invalidSetting(flag, reason):
            "\(flag) \(reason)"
        case let .outputNotEmpty(path):
            "\(path) already holds a training run; pass --resume to continue it or choose another --output"
        case let .nothingToResume(path):
            "--resume: \(path) holds no checkpoint to continue"
        case let .settingsDiffer(key, saved, given):
            "--resume: the run was started with \(key) = \(saved), not \(given)"
        }
    }
}
