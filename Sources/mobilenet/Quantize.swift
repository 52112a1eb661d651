import ArgumentParser
import Foundation
import MobileNet

extension GraphQuantization.AddArithmetic: ExpressibleByArgument {}

/// `mobilenet quantize`: post-training int8 quantization of a model, calibrated on a folder of
/// photos through the model's evaluation preprocessing, written as a quantized model file.
struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a model to int8 from calibration photos and write it as a file classify and bench can run (--model).")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "A checkpoint (.pth or .safetensors); default: the published weights from the cache.")
    var weights: String?

    @Option(name: .long, help: "A training run (its folder, or a checkpoint's .json) to quantize instead: its model, resolution and evaluation preprocessing (--variant, --width, --classes, --resize and --crop do not apply).")
    var checkpoint: String?

    @Option(name: .long, help: "A folder of calibration photos (JPEG or PNG, searched recursively, taken in name order); with --checkpoint, fashion-mnist or the run's picture folder (shuffled training pictures).")
    var calibration: String

    @Option(name: .long, help: "Calibration photos to use at most, 1 to \(Self.maximumSamples).")
    var samples: Int = 300

    static let maximumSamples = 100_000

    @Option(name: .long, help: "The calibration method: percentile (the range holding --percentile of all magnitudes; the default), minmax (the mean over images of each image's extremes) or mse (the clipping with the least squared error).")
    var method: Method = .percentile

    enum Method: String, ExpressibleByArgument, CaseIterable {
        case minmax, percentile, mse
    }

    @Option(name: .long, help: "With --method percentile: the share of magnitudes the range holds, in (0.5, 1] (default 0.9999).")
    var percentile: Double = 0.9999

    private var calibrationMethod: CalibrationMethod {
        switch method {
        case .minmax: .minMax
        case .percentile: .percentile(percentile)
        case .mse: .meanSquaredError
        }
    }

    @Option(name: .long, help: "How the residual adds round: onnxruntime (as ONNX Runtime's QLinearAdd on x86; the default) or xnnpack (as LiteRT's CPU path), so that an exported file gives this model's integers in that runtime.")
    var addArithmetic: GraphQuantization.AddArithmetic = .onnxRuntime

    @Option(name: .long, help: "Weight bits: 8 (7 where a layer's input has a zero point; the default) or 7 everywhere, with which no x86 CPU's int8 kernels saturate, so the model computes the same integers on every CPU and in every runtime (an AVX2 CPU without VNNI otherwise saturates some 16-bit pair sums, which XNNPACK does not).")
    var weightBits: Int = 8

    @Flag(inversion: .prefixedNo, help: "Correct each layer's bias for the shift its weights' rounding causes, on the calibration photos (default: on).")
    var biasCorrection = true

    @OptionGroup var transform: EvaluationTransformOptions

    @Flag(name: .long, help: "Also print each layer's signal-to-quantization-noise ratio against fp32 on the calibration photos, worst first.")
    var report = false

    @Flag(name: .long, help: "With --report: print it as one JSON object.")
    var json = false

    @Option(name: .long, help: "The quantized model file to write (safetensors).")
    var output: String

    @Flag(name: .long, help: "Replace --output if it exists.")
    var force = false

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        try FlagChecks.require("--samples", samples, in: 1...Self.maximumSamples)
        try FlagChecks.require("--weight-bits", weightBits, in: 7...8)
        if weights != nil, checkpoint != nil { throw ValidationError("pass --weights or --checkpoint, not both") }
        if checkpoint == nil, calibration == "fashion-mnist" {
            throw ValidationError("--calibration fashion-mnist needs --checkpoint, a run trained on it (the published weights are ImageNet's)")
        }
        if json, !report { throw ValidationError("--json needs --report") }
        guard percentile > 0.5, percentile <= 1 else { throw ValidationError("--percentile must be in (0.5, 1], got \(percentile)") }
        if !force, FileManager.default.fileExists(atPath: output) {
            throw ValidationError("--output \(output) exists; pass --force to replace it")
        }
    }

    /// Photos per calibration pass at 224x224 (the unfused graph keeps every layer's output of a
    /// batch); smaller pictures go more at a time, up to 64.
    static let photosPerBatch = 4

    static func calibrationBatchSize(resolution: Int) -> Int {
        min(64, max(photosPerBatch, photosPerBatch * 224 * 224 / (resolution * resolution)))
    }

    func run() throws {
        engine.apply()
        if let checkpoint {
            try quantizeRun(TrainedRun(checkpoint))
            return
        }
        let network = try floatModel(model.modelConfiguration, weights: weights)
        let photos = try Self.photos(in: calibration, limit: samples)
        let preprocessing = transform.preprocessing
        var batches: [Tensor] = []
        for start in stride(from: 0, to: photos.count, by: Self.photosPerBatch) {
            let prepared = try photos[start..<min(start + Self.photosPerBatch, photos.count)].map { path in
                do {
                    return try preprocessing.prepare(ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path)))
                } catch let error as ImageTransformError {
                    throw CommandError(description: "\(path): \(error)")
                }
            }
            batches.append(try preprocessing.batch(prepared))
        }
        try finish(network, batches: batches, samples: photos.count, resolution: transform.crop, trainingSeed: nil)
    }

    /// `--checkpoint`: the run's model, calibrated on shuffled training pictures of
    /// `--calibration` through the run's evaluation pipeline.
    private func quantizeRun(_ run: TrainedRun) throws {
        let (data, pipeline, _) = try TrainedRun.data(calibration, split: "train", resolution: run.resolution, seed: run.seed)
        guard data.classCount == run.configuration.classCount else {
            throw CommandError(description: "--calibration \(calibration) has \(data.classCount) classes, the run's model \(run.configuration.classCount)")
        }
        let loader = try BatchLoader(
            dataset: data, pipeline: pipeline, batchSize: Self.calibrationBatchSize(resolution: run.resolution), shuffles: true, seed: 0,
            onSkip: { FileHandle.standardError.write(Data("warning: skipped \($0.source): \($0.reason)\n".utf8)) })
        var batches: [Tensor] = []
        var taken = 0
        let epoch = loader.batches(epoch: 0)
        while taken < samples, let batch = try epoch.next() {
            let keep = min(batch.labels.count, samples - taken)
            batches.append(keep == batch.labels.count ? batch.images : try batch.images.leadingImages(keep))
            taken += keep
        }
        try finish(try run.model(average: false), batches: batches, samples: taken, resolution: run.resolution, trainingSeed: run.seed)
    }

    /// Quantizes `network` on `batches`, writes the file and prints the report or a summary.
    private func finish(_ network: any ImageClassifier, batches: [Tensor], samples: Int, resolution: Int, trainingSeed: UInt64?) throws {
        let configuration = network.configuration
        let quantized = try QuantizedModel(
            network, calibration: batches, method: calibrationMethod, weightRange: weightBits == 7 ? .sevenBit : .eightBit,
            addArithmetic: addArithmetic, biasCorrection: biasCorrection)
        let recipe = QuantizedModelFile.Recipe(
            method: method == .percentile ? "percentile \(percentile)" : method.rawValue, samples: samples,
            calibration: calibration == "fashion-mnist" ? calibration : URL(fileURLWithPath: calibration).lastPathComponent,
            biasCorrection: biasCorrection, resolution: resolution, trainingSeed: trainingSeed)
        try QuantizedModelFile.write(quantized, recipe: recipe, to: URL(fileURLWithPath: output), overwrite: force)
        if report {
            // The noise is measured on at most 8 of the images: the integer reference runs plain
            // loops (about 1.5 s a photo for V2 at 224).
            var images: [Tensor] = []
            var counted = 0
            for batch in batches where counted < 8 {
                let keep = min(batch.shape[0], 8 - counted)
                images.append(keep == batch.shape[0] ? batch : try batch.leadingImages(keep))
                counted += keep
            }
            let measured = try QuantizationReport(quantized, images: images)
            print(json ? try Self.json(measured) : Self.table(measured))
            if json { return }
        }
        print("wrote \(output): MobileNet \(configuration.architecture) α=\(configuration.widthMultiplier) in int8, "
            + "calibrated on \(samples) image(s) of \(calibration) (\(method.rawValue)) on \(CPUEngine.instructionSet), adds as \(addArithmetic.rawValue)")
    }

    struct ReportJSON: Encodable {
        struct Layer: Encodable {
            var step: Int
            var name: String
            var kind: String
            var type: String
            var scale: Float
            var sqnrDb: Double?

            enum CodingKeys: String, CodingKey {
                case step, name, kind, type, scale, sqnrDb = "sqnr_db"
            }
        }
        var images: Int
        var isa: String
        var layers: [Layer]
    }

    static func json(_ report: QuantizationReport) throws -> String {
        let layers = report.rows.map {
            ReportJSON.Layer(step: $0.step, name: $0.name, kind: $0.kind, type: $0.type.rawValue, scale: $0.scale,
                             sqnrDb: $0.signalToNoise.isFinite ? $0.signalToNoise : nil)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(ReportJSON(images: report.images, isa: CPUEngine.instructionSet, layers: layers)), as: UTF8.self)
    }

    static func table(_ report: QuantizationReport) -> String {
        let rows = report.rows.map {
            [String($0.step), $0.name, $0.kind, $0.type.rawValue, String(format: "%.3g", $0.scale),
             $0.signalToNoise.isFinite ? String(format: "%.1f", $0.signalToNoise) : "exact"]
        }
        let lines = TextTable.lines([["#", "layer", "kind", "type", "scale", "SQNR dB"]] + rows, rightAligned: { [0, 4, 5].contains($0) })
        return (["signal-to-quantization-noise ratio against fp32 on \(report.images) photo(s), worst first (6 dB = one bit):"] + lines)
            .joined(separator: "\n")
    }

    /// The JPEG and PNG files below `folder`, in name order, at most `limit`.
    static func photos(in folder: String, limit: Int) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CommandError(description: "--calibration \(folder): not a folder")
        }
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw CommandError(description: "--calibration \(folder): cannot be read")
        }
        let found = walker.compactMap { $0 as? String }
            .filter { ImageFolder.imageExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
            .sorted()
        guard !found.isEmpty else {
            throw CommandError(description: "--calibration \(folder): no JPEG or PNG photos in it")
        }
        return found.prefix(limit).map { URL(fileURLWithPath: folder).appendingPathComponent($0).path }
    }
}

/// `--resize N --crop N`: the evaluation transform (shorter side resized to N, centre crop),
/// ImageNet's 256 and 224 unless given; `--resize 224 --crop 224` passes 224x224 pictures unchanged.
struct EvaluationTransformOptions: ParsableArguments {
    @Option(name: .long, help: "Resize the shorter side to this many pixels before the centre crop (default 256).")
    var resize: Int = ImagePreprocessing.imageNet.resizeShorterSide

    @Option(name: .long, help: "The centre crop's side in pixels, the model's input resolution (default 224).")
    var crop: Int = ImagePreprocessing.imageNet.cropSize

    func validate() throws {
        try FlagChecks.resolution(crop, flag: "--crop")
        try FlagChecks.require("--resize", resize, in: crop...ModelConfiguration.maximumResolution * 4)
    }

    var preprocessing: ImagePreprocessing {
        var preprocessing = ImagePreprocessing.imageNet
        preprocessing.resizeShorterSide = resize
        preprocessing.cropSize = crop
        return preprocessing
    }
}

extension Tensor {
    /// The first `count` images of a batch (the leading axis).
    fileprivate func leadingImages(_ count: Int) throws -> Tensor {
        let perImage = shape.dimensions.dropFirst().reduce(1, *)
        return try Tensor(shape: Shape([count] + shape.dimensions.dropFirst()), values: Array(scalars.prefix(count * perImage)))
    }
}

/// The float model `configuration` names, with the weights of the checkpoint `weights`, or the
/// published ones from the cache when there are published weights of exactly that model.
func floatModel(_ configuration: ModelConfiguration, weights: String?) throws -> any ImageClassifier {
    if let weights {
        return try PretrainedClassifier.loadModel(configuration: configuration, file: URL(fileURLWithPath: weights))
    }
    guard let published = PretrainedWeights.default(for: configuration.architecture), published.configuration == configuration else {
        throw CommandError(description: "no published weights for \(configuration.architecture) α=\(configuration.widthMultiplier) with \(configuration.classCount) classes; pass --weights PATH")
    }
    return try PretrainedClassifier.loadModel(configuration: configuration, file: WeightsCache.locate(published.fileName))
}
