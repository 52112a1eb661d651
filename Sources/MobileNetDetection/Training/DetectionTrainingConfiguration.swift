import Foundation
import MobileNetData
import MobileNetModels
import MobileNetTraining

/// Everything that decides a detector's training run.
///
/// The defaults follow torchvision's SSDLite recipe where it applies (SGD with momentum 0.9,
/// weight decay 4e-5, cosine decay after a warm-up, the IoU crop and flip augmentation), scaled
/// to small data.
public struct DetectionTrainingConfiguration: Hashable, Sendable {
    public enum DatasetSource: Hashable, Sendable, CustomStringConvertible {
        /// Seeded scenes of Fashion-MNIST garments: `train` scenes from the training split,
        /// `test` from the test split.
        case fashionMNISTScenes(train: Int, test: Int)
        /// A folder with `train/` and `val/`, each an `instances.json` beside an `images/` folder
        /// (the layout ``FashionMNISTScenes/write(to:count:)`` writes).
        case coco(URL)

        public var description: String {
            switch self {
            case let .fashionMNISTScenes(train, test): "fashion-mnist-scenes (\(train) train, \(test) test)"
            case let .coco(url): "coco:\(url.path)"
            }
        }
    }

    public var dataset: DatasetSource
    public var backbone: Architecture = .v3Large
    public var widthMultiplier: Double = 1
    public var resolution: Int
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: TrainingConfiguration.OptimizerKind = .sgd
    /// The peak learning rate; nil takes the optimizer's usual one for this batch size.
    public var learningRate: Double?
    public var weightDecay: Double = 4e-5
    public var warmupEpochs: Int = 1
    /// Train on the first `limit` training pictures only; evaluate on the first `evaluationLimit`.
    public var limit: Int?
    public var evaluationLimit: Int?
    public var seed: UInt64 = 0
    /// Brightness, contrast, saturation and hue jitter on top of the crop and flip.
    public var photometricDistortion = true
    /// Threads decoding and augmenting pictures.
    public var loaderThreads = 2
    /// The side of the scenes' square canvas; garments are an eighth to a half of it (40 to 160
    /// pixels on the default 320).
    public var sceneCanvas = 320

    public init(dataset: DatasetSource, resolution: Int = 320, epochs: Int, batchSize: Int) {
        self.dataset = dataset
        self.resolution = resolution
        self.epochs = epochs
        self.batchSize = batchSize
    }

    /// The learning rate the run uses: the given one, or SGD 0.15 per 192 pictures of batch
    /// (torchvision's SSDLite recipe: 0.15 for 8 × 24), RMSProp 0.016 per 256, AdamW 0.001.
    public var effectiveLearningRate: Double {
        learningRate ?? optimizer.defaultLearningRate(batchSize: batchSize, sgdRate: 0.15, sgdBatch: 192)
    }

    /// The settings a resumed run must share with the run it continues.
    public var settings: [String: String] {
        [
            "task": "detection", "dataset": dataset.description, "backbone": backbone.rawValue, "width": String(widthMultiplier),
            "resolution": String(resolution), "epochs": String(epochs), "batch-size": String(batchSize),
            "optimizer": optimizer.rawValue, "learning-rate": String(effectiveLearningRate), "weight-decay": String(weightDecay),
            "warmup-epochs": String(warmupEpochs), "limit": limit.map(String.init) ?? "all", "seed": String(seed),
            "photometric-distortion": String(photometricDistortion), "scene-canvas": String(sceneCanvas),
        ]
    }

    /// Checks the numbers before anything is read.
    ///
    /// - Throws: ``TrainingError/invalidSetting(flag:reason:)`` naming the flag.
    public func validate() throws {
        func refuse(_ flag: String, _ reason: String) -> TrainingError { .invalidSetting(flag: flag, reason: reason) }
        guard (1...10_000).contains(epochs) else { throw refuse("--epochs", "must be in 1...10000, got \(epochs)") }
        guard batchSize >= 1 else { throw refuse("--batch-size", "must be at least 1, got \(batchSize)") }
        guard (SSDLiteConfiguration.minimumResolution...ModelConfiguration.maximumResolution).contains(resolution) else {
            throw refuse(
                "--resolution",
                "must be in \(SSDLiteConfiguration.minimumResolution)...\(ModelConfiguration.maximumResolution) for a detector, got \(resolution)")
        }
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
        guard (1...64).contains(loaderThreads) else { throw refuse("--loader-threads", "must be in 1...64, got \(loaderThreads)") }
    }

    /// The training and test sets.
    func datasets() throws -> (training: any DetectionDataset, test: any DetectionDataset) {
        switch dataset {
        case let .fashionMNISTScenes(train, test):
            // Test scenes draw from their own seed stream, so they never repeat a training scene's layout.
            let canvas = FashionMNISTScenes.Configuration(
                canvasWidth: sceneCanvas, canvasHeight: sceneCanvas, itemSide: (sceneCanvas / 8)...(sceneCanvas / 2))
            return (try FashionMNISTScenes(split: .train, count: train, seed: seed, configuration: canvas),
                    try FashionMNISTScenes(split: .test, count: test, seed: seed &+ 1, configuration: canvas))
        case let .coco(root):
            func split(_ name: String) throws -> COCODetectionDataset {
                let folder = root.appendingPathComponent(name)
                return try COCODetectionDataset(
                    annotationsFile: folder.appendingPathComponent("instances.json"), imageFolder: folder.appendingPathComponent("images"))
            }
            let training = try split("train"), test = try split("val")
            guard training.classNames == test.classNames else {
                throw TrainingError.invalidSetting(
                    flag: "--dataset", reason: "\(root.path): train/ and val/ list different categories")
            }
            return (training, test)
        }
    }
}
