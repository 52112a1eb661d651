import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet evaluate`: accuracy, per-class accuracy and the confusion matrix of a checkpoint.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a training checkpoint: accuracy, per-class accuracy, confusion matrix (also as a picture).")

    @Option(name: .long, help: "A run folder (its latest checkpoint), a checkpoint's .json or its .safetensors.")
    var checkpoint: String

    @Option(name: .long, help: "fashion-mnist, or the folder of pictures the run trained on.")
    var dataset: String

    @Option(name: .long, help: "fashion-mnist: test or train; a folder: validation, train or all.")
    var split: String?

    @Option(name: .long, help: "Images per forward pass, \(FlagChecks.batchBoundHelp).")
    var batchSize: Int = 200

    @Flag(name: .long, help: "Evaluate the weight average the run kept (trained with --ema) instead of the weights.")
    var ema = false

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        // At the smallest resolution; the checkpoint's own is checked once it is read.
        try FlagChecks.batch(batchSize, flag: "--batch-size", resolution: ModelConfiguration.minimumResolution)
        try EngineOptions.checkEnvironment()
    }

    func run() throws {
        let snapshotURL = try Self.snapshot(checkpoint)
        let snapshot: TrainingCheckpoint
        do {
            snapshot = try TrainingCheckpoint.load(from: snapshotURL)
        } catch let error as RunFolderError {
            throw CommandError(description: "--checkpoint: \(error)")
        }
        let settings = snapshot.state.settings
        guard let variant = settings["variant"].flatMap(Architecture.init(rawValue:)),
              let width = settings["width"].flatMap(Double.init), let classes = settings["classes"].flatMap(Int.init),
              let resolution = settings["resolution"].flatMap(Int.init)
        else {
            throw CommandError(description: "\(snapshotURL.path) does not record the model's variant, width, classes and resolution")
        }
        let configuration = ModelConfiguration(variant, widthMultiplier: width, classCount: classes)
        do {
            try configuration.validate()
            try ModelConfiguration.validate(resolution: resolution)
        } catch let error as ModelError {
            throw CommandError(description: "\(snapshotURL.path) records a model out of bounds: \(error)")
        }
        try FlagChecks.batch(batchSize, flag: "--batch-size", resolution: resolution)
        let model = try makeModel(configuration, seed: nil)
        if ema {
            guard let averages = snapshot.averages else {
                throw CommandError(description: "--ema: \(snapshotURL.path) was trained without --ema and holds no weight average")
            }
            try model.load(averages)
        } else {
            try model.load(snapshot.weights)
        }

        let (data, pipeline, splitName) = try Self.data(dataset, split: split, resolution: resolution, settings: settings)
        guard data.classCount == classes else {
            throw CommandError(description: "\(dataset) has \(data.classCount) classes, the checkpoint's model \(classes)")
        }
        let loader = try BatchLoader(
            dataset: data, pipeline: pipeline, batchSize: batchSize, shuffles: false, seed: 0,
            onSkip: { FileHandle.standardError.write(Data("warning: skipped \($0.source): \($0.reason)\n".utf8)) })
        let (matrix, loss) = try Trainer.evaluate(model, loader: loader, classCount: classes)

        let folder = snapshotURL.deletingLastPathComponent()
        let picture = folder.appendingPathComponent("confusion_matrix_\(splitName)")
        try ConfusionMatrixPicture.write(matrix, classNames: data.classNames, to: picture.appendingPathExtension("svg"))
        try PNGEncoder.write(ConfusionMatrixPicture.image(matrix), to: picture.appendingPathExtension("png"))

        if json {
            let object: [String: Any] = [
                "accuracy": matrix.accuracy, "samples": matrix.total, "loss": loss, "split": splitName,
                "classes": data.classNames,
                "per_class_accuracy": matrix.perClassAccuracy.map { $0 as Any? ?? NSNull() },
                "confusion_matrix": (0..<classes).map { actual in (0..<classes).map { matrix[actual, $0] } },
                "checkpoint": snapshotURL.path, "weights": ema ? "average" : "trained",
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(snapshotURL.lastPathComponent)\(ema ? " (weight average)" : "") on \(dataset) (\(splitName)): accuracy "
                  + String(format: "%.2f%%", matrix.accuracy * 100) + " of \(matrix.total) images, loss " + String(format: "%.4f", loss))
            for (index, name) in data.classNames.enumerated() {
                let accuracy = matrix.perClassAccuracy[index].map { String(format: "%6.2f%%", $0 * 100) } ?? "     -"
                print("  \(accuracy)  \(name)")
            }
            print("confusion matrix (rows: actual, columns: predicted):")
            for actual in 0..<classes {
                print("  " + (0..<classes).map { String(format: "%5d", matrix[actual, $0]) }.joined())
            }
            print("pictures: \(picture.path).svg, .png")
        }
    }

    /// The snapshot JSON a `--checkpoint` argument names.
    static func snapshot(_ argument: String) throws -> URL {
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

    /// The images to evaluate on, with the evaluation pipeline of the dataset.
    static func data(_ argument: String, split: String?, resolution: Int, settings: [String: String]) throws
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
            let seed = settings["seed"].flatMap(UInt64.init) ?? 0
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
