import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet classify IMAGE...`: the top classes of each photo, all photos in one batch.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify photos (JPEG or PNG) with a pretrained MobileNet.")

    @Argument(help: "The photos to classify.")
    var images: [String]

    /// The model the checkpoint fits; without --weights only the family matters.
    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "A checkpoint (.pth or .safetensors); default: the published weights from the cache.")
    var weights: String?

    @Option(name: .customLong("model"), help: "A quantized model file (from `mobilenet quantize`), run in int8; it names its own model.")
    var quantizedModel: String?

    @OptionGroup var transform: EvaluationTransformOptions

    @Option(name: .long, help: "How many classes to list per photo.")
    var top: Int = 5

    @OptionGroup var engine: EngineOptions

    @Flag(name: .long, help: "Print a JSON array instead of text.")
    var json = false

    /// Photos go through the model this many at a time, decoded as they go, so that memory stays
    /// that of one batch however many photos are given (every prediction is made before any is
    /// printed, so a bad photo still fails the command before it prints).
    static let photosPerBatch = 32

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        // Above the class count, every class is listed.
        try FlagChecks.require("--top", top, atLeast: 1)
        if quantizedModel != nil, weights != nil { throw ValidationError("--model and --weights exclude each other: a quantized file holds its weights") }
    }

    func run() throws {
        engine.apply()
        let classifier: PretrainedClassifier
        if let quantizedModel {
            let (int8, _) = try QuantizedModelFile.read(contentsOf: URL(fileURLWithPath: quantizedModel))
            classifier = PretrainedClassifier(session: int8.session, configuration: int8.configuration, preprocessing: transform.preprocessing)
        } else if let weights {
            classifier = try PretrainedClassifier(
                configuration: model.modelConfiguration,
                preprocessing: transform.preprocessing, file: URL(fileURLWithPath: weights))
        } else {
            guard let published = PretrainedWeights.default(for: model.variant) else {
                throw CommandError(description: "no pretrained weights for \(model.variant) are published here; pass --weights PATH")
            }
            var weights = published
            weights.preprocessing.resizeShorterSide = transform.resize
            weights.preprocessing.cropSize = transform.crop
            classifier = try PretrainedClassifier(weights: weights)
        }
        var predictions: [[Prediction]] = []
        for start in stride(from: 0, to: images.count, by: Self.photosPerBatch) {
            let batch = images[start..<min(start + Self.photosPerBatch, images.count)]
            let photos = try batch.map { path in
                let photo = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
                do {
                    return try classifier.prepare(photo)
                } catch {
                    // The transforms know sizes, not files.
                    throw CommandError(description: "\(path): \(error)")
                }
            }
            predictions += try classifier.classify(prepared: photos, top: top)
        }
        // Finite weights can still overflow to infinite logits, whose probabilities are NaN:
        // no class can be named then, in either output.
        if let failed = zip(images, predictions).first(where: { $0.1.contains { !$0.probability.isFinite } }) {
            throw CommandError(description: "\(failed.0): the model's output is not finite (NaN or infinite logits); "
                + "the weights\(weights.map { " in \($0)" } ?? "") cannot classify it")
        }
        if json {
            print(try Self.json(images: images, predictions: predictions))
        } else {
            for (image, list) in zip(images, predictions) {
                print(image)
                for prediction in list {
                    let percent = String(format: "%6.2f%%", Double(prediction.probability) * 100)
                    let index = String(prediction.index)
                    print("  \(percent)  \(String(repeating: " ", count: max(0, 4 - index.count)))\(index)  \(prediction.label)")
                }
            }
        }
    }

    struct Entry: Encodable {
        struct Top: Encodable {
            var index: Int
            var label: String
            var probability: Float
        }
        var image: String
        var top: [Top]
    }

    static func json(images: [String], predictions: [[Prediction]]) throws -> String {
        let entries = zip(images, predictions).map { image, list in
            Entry(image: image, top: list.map { .init(index: $0.index, label: $0.label, probability: $0.probability) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(entries), as: UTF8.self)
    }
}
