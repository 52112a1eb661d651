import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet evaluate`: accuracy, per-class accuracy and the confusion matrix of a training
/// checkpoint or of a quantized model file.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a training checkpoint or an int8 model file: accuracy, per-class accuracy, confusion matrix (also as a picture).")

    @Option(name: .long, help: "classification, detection or segmentation (a run of train --task detection/segmentation, or a torchvision-keyed .pth).")
    var task: Task = .classification

    @Option(name: .long, help: "A run folder (its latest checkpoint), a checkpoint's .json or its .safetensors.")
    var checkpoint: String?

    @Option(name: .long, help: "An int8 model file (mobilenet quantize) to evaluate instead of a checkpoint.")
    var model: String?

    @Option(name: .long, help: "fashion-mnist, or the folder of pictures the run trained on; for detection fashion-mnist-scenes or coco:DIR; for segmentation fashion-mnist-scenes or voc:DIR.")
    var dataset: String

    @Option(name: .long, help: "--task detection or segmentation on fashion-mnist-scenes: how many test scenes (those the run tested on).")
    var scenes: Int = 1_000

    @Option(name: .long, help: "--task detection or segmentation: the first N pictures only.")
    var limit: Int?

    @Option(name: .long, help: "fashion-mnist: test or train; a folder: validation, train or all.")
    var split: String?

    @Option(name: .long, help: "Images per forward pass, \(FlagChecks.batchBoundHelp).")
    var batchSize: Int = 200

    @Flag(name: .long, help: "Evaluate the weight average the run kept (trained with --ema) instead of the weights.")
    var ema = false

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if task != .classification {
            guard model == nil, !ema else { throw ValidationError("--model and --ema apply to --task classification only") }
            try FlagChecks.require("--scenes", scenes, in: 1...1_000_000)
            if let limit { try FlagChecks.require("--limit", limit, atLeast: 1) }
            try FlagChecks.require("--batch-size", batchSize, atLeast: 1)
            return try EngineOptions.checkEnvironment()
        }
        guard (checkpoint == nil) != (model == nil) else { throw ValidationError("pass one of --checkpoint and --model") }
        if ema, model != nil { throw ValidationError("--ema applies to --checkpoint, not to an int8 --model") }
        // At the smallest resolution; the checkpoint's own is checked once it is read.
        try FlagChecks.batch(batchSize, flag: "--batch-size", resolution: ModelConfiguration.minimumResolution)
        try EngineOptions.checkEnvironment()
    }

    /// What is evaluated: its session, class count, resolution, the folder for the pictures, the
    /// seed of a picture folder's validation split, and the file it came from (a checkpoint's
    /// snapshot or the int8 model).
    private struct Subject {
        var session: InferenceSession
        var classes: Int
        var resolution: Int
        var folder: URL
        var seed: UInt64
        var label: String
        var file: URL
    }

    private func subject() throws -> Subject {
        if let model {
            let url = URL(fileURLWithPath: model)
            let (quantized, recipe) = try QuantizedModelFile.read(contentsOf: url)
            guard let resolution = recipe.resolution else {
                throw CommandError(description: "--model \(model) does not record its input resolution (made before it was recorded); quantize it again")
            }
            return Subject(
                session: quantized.session, classes: quantized.configuration.classCount, resolution: resolution,
                folder: url.deletingLastPathComponent(), seed: recipe.trainingSeed ?? 0, label: url.lastPathComponent + " (int8)", file: url)
        }
        let run = try TrainedRun(checkpoint!)
        return Subject(
            session: try InferenceModel(run.model(average: ema)).session, classes: run.configuration.classCount,
            resolution: run.resolution, folder: run.url.deletingLastPathComponent(),
            seed: run.seed, label: run.url.lastPathComponent + (ema ? " (weight average)" : ""), file: run.url)
    }

    func run() throws {
        if task == .detection { return try runDetection() }
        if task == .segmentation { return try runSegmentation() }
        let subject = try subject()
        try FlagChecks.batch(batchSize, flag: "--batch-size", resolution: subject.resolution)
        let classes = subject.classes
        let (data, pipeline, splitName) = try TrainedRun.data(dataset, split: split, resolution: subject.resolution, seed: subject.seed)
        guard data.classCount == classes else {
            throw CommandError(description: "\(dataset) has \(data.classCount) classes, the model \(classes)")
        }
        let loader = try BatchLoader(
            dataset: data, pipeline: pipeline, batchSize: batchSize, shuffles: false, seed: 0,
            onSkip: { FileHandle.standardError.write(Data("warning: skipped \($0.source): \($0.reason)\n".utf8)) })
        let (matrix, loss) = try Trainer.evaluate(subject.session, loader: loader, classCount: classes)

        let picture = subject.folder.appendingPathComponent(
            (model == nil ? "confusion_matrix_" : subject.file.deletingPathExtension().lastPathComponent + "_confusion_matrix_") + splitName)
        try ConfusionMatrixPicture.write(matrix, classNames: data.classNames, to: picture.appendingPathExtension("svg"))
        try PNGEncoder.write(ConfusionMatrixPicture.image(matrix), to: picture.appendingPathExtension("png"))

        if json {
            var object: [String: Any] = [
                "accuracy": matrix.accuracy, "samples": matrix.total, "loss": loss, "split": splitName,
                "classes": data.classNames,
                "per_class_accuracy": matrix.perClassAccuracy.map { $0 as Any? ?? NSNull() },
                "confusion_matrix": (0..<classes).map { actual in (0..<classes).map { matrix[actual, $0] } },
                "isa": CPUEngine.instructionSet,
            ]
            if checkpoint != nil {
                object["checkpoint"] = subject.file.path
                object["weights"] = ema ? "average" : "trained"
            } else {
                object["model"] = model!
                object["precision"] = "int8"
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(subject.label) on \(dataset) (\(splitName)): accuracy "
                  + String(format: "%.2f%%", matrix.accuracy * 100) + " of \(matrix.total) images, loss " + String(format: "%.4f", loss)
                  + (model == nil ? "" : " (int8 on \(CPUEngine.instructionSet))"))
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
}
