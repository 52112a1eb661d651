import Foundation
import MobileNetData
import MobileNetDetection
import MobileNetModels
import MobileNetTraining

/// Everything that decides a segmenter's training run.
///
/// The defaults follow torchvision's segmentation reference where it applies (SGD with momentum
/// 0.9 at 0.02 for a batch of 32, weight decay 1e-6 for LR-ASPP, random resize from half to
/// twice the base size, flip and crop), with a cosine decay after a warm-up in place of its poly
/// decay.
public struct SegmentationTrainingConfiguration: Hashable, Sendable {
    public enum DatasetSource: Hashable, Sendable, CustomStringConvertible {
        /// Seeded Fashion-MNIST scenes with their class maps: `train` scenes from the training
        /// split, `test` from the test split.
        case fashionMNISTScenes(train: Int, test: Int)
        /// A Pascal VOC folder (`JPEGImages/`, `SegmentationClass/`, `ImageSets/Segmentation/`):
        /// `train.txt` to train on, `val.txt` to evaluate.
        case voc(URL)

        public var description: String {
            switch self {
            case let .fashionMNISTScenes(train, test): "fashion-mnist-scenes (\(train) train, \(test) test)"
            case let .voc(url): "voc:\(url.path)"
            }
        }
    }

    public var dataset: DatasetSource
    public var backbone: Architecture = .v3Large
    public var widthMultiplier: Double = 1
    /// The side of the square training crop.
    public var resolution: Int
    /// The shorter side pictures are resized to for evaluation, and the centre of the training
    /// resize's range; the resolution if nil.
    public var baseSize: Int?
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: TrainingConfiguration.OptimizerKind = .sgd
    /// The peak learning rate; nil takes the optimizer's usual one for this batch size.
    public var learningRate: Double?
    public var weightDecay: Double = 1e-6
    public var warmupEpochs: Int = 1
    /// Train on the first `limit` training pictures only; evaluate on the first `evaluationLimit`.
    public var limit: Int?
    public var evaluationLimit: Int?
    public var seed: UInt64 = 0
    /// Threads decoding and augmenting pictures.
    public var loaderThreads = 2
    /// The side of the scenes' square canvas (garments an eighth to a half of it).
    public var sceneCanvas = 320
    /// The backbone's batch-norm momentum (``LRASPPConfiguration/normMomentum``).
    public var normMomentum: Float = MobileNetV3.defaultNormMomentum

    public init(dataset: DatasetSource, resolution: Int = 320, epochs: Int, batchSize: Int) {
        self.dataset = dataset
        self.resolution = resolution
        self.epochs = epochs
        self.batchSize = batchSize
    }

    public var effectiveBaseSize: Int { baseSize ?? resolution }

    /// The learning rate the run uses: the given one, or SGD 0.02 per 32 pictures of batch
    /// (torchvision's LR-ASPP recipe: 0.02 for 8 × 4), RMSProp 0.016 per 256, AdamW 0.001.
    public var effectiveLearningRate: Double {
        learningRate ?? optimizer.defaultLearningRate(batchSize: batchSize, sgdRate: 0.02, sgdBatch: 32)
    }

    /// The settings a resumed run must share with the run it continues.
    public var settings: [String: String] {
        [
            "task": "segmentation", "dataset": dataset.description, "backbone": backbone.rawValue, "width": String(widthMultiplier),
            "resolution": String(resolution), "base-size": String(effectiveBaseSize), "epochs": String(epochs),
            "batch-size": String(batchSize), "optimizer": optimizer.rawValue, "learning-rate": String(effectiveLearningRate),
            "weight-decay": String(weightDecay), "warmup-epochs": String(warmupEpochs), "limit": limit.map(String.init) ?? "all",
            "seed": String(seed), "scene-canvas": String(sceneCanvas), "norm-momentum": String(normMomentum),
        ]
    }

    /// Checks the numbers before anything is read.
    ///
    /// - Throws: ``TrainingError/invalidSetting(flag:reason:)`` naming the flag.
    public func validate() throws {
        func refuse(_ flag: String, _ reason: String) -> TrainingError { .invalidSetting(flag: flag, reason: reason) }
        guard (1...10_000).contains(epochs) else { throw refuse("--epochs", "must be in 1...10000, got \(epochs)") }
        guard batchSize >= 1 else { throw refuse("--batch-size", "must be at least 1, got \(batchSize)") }
        let sides = LRASPPConfiguration.minimumResolution...ModelConfiguration.maximumResolution
        guard sides.contains(resolution) else {
            throw refuse("--resolution", "must be in \(sides) for a segmenter, got \(resolution)")
        }
        if let baseSize, !sides.contains(baseSize) { throw refuse("--base-size", "must be in \(sides), got \(baseSize)") }
        guard batchSize <= ModelConfiguration.maximumBatch(resolution: resolution) else {
            throw refuse("--batch-size", "\(batchSize) images of \(resolution)² exceed the \(ModelConfiguration.maximumPixelsPerBatch) pixels a batch may hold")
        }
        guard effectiveLearningRate > 0, effectiveLearningRate.isFinite else {
            throw refuse("--learning-rate", "must be a positive number, got \(effectiveLearningRate)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw refuse("--weight-decay", "must be at least 0, got \(weightDecay)") }
        guard (0..<epochs).contains(warmupEpochs) || warmupEpochs == 0 else {
            throw refuse("--warmup-epochs", "must be below the \(epochs) epochs, got \(warmupEpochs)")
        }
        if let limit, limit < 1 { throw refuse("--limit", "must be at least 1, got \(limit)") }
        if let evaluationLimit, evaluationLimit < 1 { throw refuse("--evaluation-limit", "must be at least 1, got \(evaluationLimit)") }
        if case let .fashionMNISTScenes(train, test) = dataset, train < 1 || test < 1 || train > 1_000_000 || test > 1_000_000 {
            throw refuse("--scenes", "needs 1...1000000 training and test scenes, got \(train) and \(test)")
        }
        guard (32...2048).contains(sceneCanvas) else { throw refuse("--scene-canvas", "must be in 32...2048, got \(sceneCanvas)") }
        guard normMomentum > 0, normMomentum <= 1 else { throw refuse("--norm-momentum", "must be in (0, 1], got \(normMomentum)") }
        guard (1...64).contains(loaderThreads) else { throw refuse("--loader-threads", "must be in 1...64, got \(loaderThreads)") }
    }

    /// The training and test sets.
    func datasets() throws -> (training: any SegmentationDataset, test: any SegmentationDataset) {
        switch dataset {
        case let .fashionMNISTScenes(train, test):
            // The detector's scenes, seeds and canvas, with their class maps.
            let canvas = FashionMNISTScenes.Configuration(
                canvasWidth: sceneCanvas, canvasHeight: sceneCanvas, itemSide: (sceneCanvas / 8)...(sceneCanvas / 2))
            return (FashionMNISTSceneMasks(try FashionMNISTScenes(split: .train, count: train, seed: seed, configuration: canvas)),
                    FashionMNISTSceneMasks(try FashionMNISTScenes(split: .test, count: test, seed: seed &+ 1, configuration: canvas)))
        case let .voc(root):
            return (try VOCSegmentationDataset(root: root, split: "train"), try VOCSegmentationDataset(root: root, split: "val"))
        }
    }
}
