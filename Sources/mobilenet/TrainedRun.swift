import Foundation
import MobileNet

/// A training run's checkpoint as `evaluate` and `quantize` read it (`--checkpoint`): the
/// snapshot, the model it records and the resolution it trained at.
struct TrainedRun {
    let url: URL
    let snapshot: TrainingCheckpoint
    let configuration: ModelConfiguration
    let resolution: Int

    var settings: [String: String] { snapshot.state.settings }

    /// The run's seed (its picture folder's validation split), 0 if it records none.
    var seed: UInt64 { settings["seed"].flatMap(UInt64.init) ?? 0 }

    /// Reads the checkpoint `argument` names (``snapshotURL(_:)``) and the model it records.
    init(_ argument: String) throws {
        url = try Self.snapshotURL(argument)
        do {
            snapshot = try TrainingCheckpoint.load(from: url)
        } catch let error as RunFolderError {
            throw CommandError(description: "--checkpoint: \(error)")
        }
        let settings = snapshot.state.settings
        guard let variant = settings["variant"].flatMap(Architecture.init(rawValue:)),
              let width = settings["width"].flatMap(Double.init), let classes = settings["classes"].flatMap(Int.init),
              let resolution = settings["resolution"].flatMap(Int.init)
        else {
            throw CommandError(description: "\(url.path) does not record the model's variant, width, classes and resolution")
        }
        configuration = ModelConfiguration(variant, widthMultiplier: width, classCount: classes)
        do {
            try configuration.validate()
            try ModelConfiguration.validate(resolution: resolution)
        } catch let error as ModelError {
            throw CommandError(description: "\(url.path) records a model out of bounds: \(error)")
        }
        self.resolution = resolution
    }

    /// The model with the run's weights, or with the weight average it kept (`--ema`).
    func model(average: Bool) throws -> any ImageClassifier {
        let model = try makeModel(configuration, seed: nil)
        if average {
            guard let averages = snapshot.averages else {
                throw CommandError(description: "--ema: \(url.path) was trained without --ema and holds no weight average")
            }
            try model.load(averages)
        } else {
            try model.load(snapshot.weights)
        }
        return model
    }

    /// The snapshot JSON a `--checkpoint` argument names: a run folder's latest, a `.json`, or
    /// the `.json` beside a `.safetensors`.
    static func snapshotURL(_ argument: String) throws -> URL {
        let url = URL(fileURLWithPath: argument)
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            let code = errno
            var link = stat()
            if lstat(url.path, &link) == 0 {
                throw CommandError(description: "--checkpoint: \(url.path) is a symbolic link that leads nowhere (\(String(cString: strerror(code))))")
            }
            throw CommandError(description: "--checkpoint: no such file or folder: \(url.path)")
        }
        if status.st_mode & S_IFMT == S_IFDIR {
            do {
                guard let latest = try TrainingCheckpoint.latest(in: url) else {
                    throw CommandError(description: "--checkpoint: \(url.path) holds no checkpoint (no latest.json)")
                }
                return latest
            } catch let error as RunFolderError {
                throw CommandError(description: "--checkpoint: \(error)")
            }
        }
        switch url.pathExtension {
        case "json": return url
        case "safetensors": return url.deletingPathExtension().appendingPathExtension("json")
        default: throw CommandError(description: "--checkpoint: expected a run folder, a .json or a .safetensors, got \(url.path)")
        }
    }

    /// The images of dataset `argument` (`fashion-mnist` or the run's picture folder) in `split`,
    /// with the evaluation pipeline at `resolution`; a folder splits as training did (seed
    /// `seed`, a fifth for validation).
    static func data(_ argument: String, split: String?, resolution: Int, seed: UInt64) throws
        -> (any ImageDataset, ImagePipeline, String)
    {
        switch datasetSource(argument) {
        case .fashionMNIST:
            let name = split ?? "test"
            guard let which = FashionMNIST.Split(rawValue: name) else {
                throw CommandError(description: "--split: fashion-mnist has train and test, not \(name)")
            }
            return (try FashionMNIST(split: which), .fashionMNISTEvaluation(resolution: resolution), name)
        case let .folder(root):
            let folder = try ImageFolder(root: root)
            let name = split ?? "validation"
            let (training, validation) = try folder.split(ValidationSplit(fraction: 0.2, seed: seed))
            let chosen: any ImageDataset
            switch name {
            case "validation": chosen = validation
            case "train": chosen = training
            case "all": chosen = folder
            default: throw CommandError(description: "--split: a folder has validation, train and all, not \(name)")
            }
            return (chosen, .imageFolderEvaluation(resolution: resolution), name)
        }
    }
}
