import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet export`: a model as a file for the runtimes people deploy with.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model as ONNX (fp32, or an int8 file from `mobilenet quantize` as QDQ) for ONNX Runtime, OpenVINO or TensorRT, or as TFLite (fp32, or an int8 file as full-integer int8) for LiteRT.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case onnx, tflite
    }

    @Option(name: .long, help: "The file format: onnx or tflite.")
    var format: Format

    @Option(name: .long, help: "The family: v1, v2, v3-large or v3-small (default v2; an int8 --model names its own).")
    var variant: Architecture?

    @Option(name: .long, help: "The width multiplier α, in (0, \(ModelConfiguration.maximumWidthMultiplier)] (default 1.0).")
    var width: Double?

    @Option(name: .long, help: "The number of classes, at most \(ModelConfiguration.maximumClassCount) (default 1000).")
    var classes: Int?

    @Option(name: .long, help: "A checkpoint (.pth or .safetensors); default: the published weights from the cache.")
    var weights: String?

    @Option(name: .customLong("model"), help: "An int8 model file (mobilenet quantize): exported as QDQ, its scales and zero points as they are.")
    var quantizedModel: String?

    @Option(name: .long, help: "The file to write.")
    var output: String

    @Option(name: .long, help: "The input's batch size, or dynamic (ONNX: a symbolic N, the default; TFLite: 1 that LiteRT may resize).")
    var batch: String = "dynamic"

    @Option(name: .long, help: "The input resolution in pixels (default: an int8 file's own, else 224).")
    var resolution: Int?

    @Flag(name: .long, help: "Replace --output if it exists.")
    var force = false

    func validate() throws {
        if let width { try FlagChecks.width(width) }
        if let classes { try FlagChecks.classes(classes) }
        if let resolution { try FlagChecks.resolution(resolution, flag: "--resolution") }
        if quantizedModel != nil, weights != nil {
            throw ValidationError("--model and --weights exclude each other: an int8 file holds its weights")
        }
        _ = try batchDimension()
        if !force, FileManager.default.fileExists(atPath: output) {
            throw ValidationError("--output \(output) exists; pass --force to replace it")
        }
    }

    func batchDimension() throws -> ONNXExporter.Batch {
        if batch == "dynamic" { return .dynamic }
        guard let size = Int(batch) else { throw ValidationError("--batch must be dynamic or a number of images, got \(batch)") }
        try FlagChecks.batch(size, flag: "--batch", resolution: resolution ?? 224)
        return .fixed(size)
    }

    /// TFLite shapes are static: a fixed batch, or 1 (resizable) for dynamic.
    func tfliteBatch() throws -> Int {
        if case let .fixed(images) = try batchDimension() { return images }
        return 1
    }

    func run() throws {
        let data: Data
        let description: String
        if let quantizedModel {
            let (model, recipe) = try QuantizedModelFile.read(contentsOf: URL(fileURLWithPath: quantizedModel))
            let configuration = model.configuration
            for (flag, asked, actual) in [
                ("--variant", variant?.rawValue, configuration.architecture.rawValue),
                ("--width", width.map { String($0) }, String(configuration.widthMultiplier)),
                ("--classes", classes.map { String($0) }, String(configuration.classCount)),
            ] where asked != nil && asked != actual {
                throw CommandError(description: "\(flag) \(asked!): \(quantizedModel) holds MobileNet \(configuration.architecture) α=\(configuration.widthMultiplier) with \(configuration.classCount) classes")
            }
            let side = resolution ?? recipe.resolution ?? 224
            switch format {
            case .onnx:
                data = try ONNXExporter.data(model, resolution: side, batch: batchDimension())
            case .tflite:
                data = try TFLiteExporter.data(model, resolution: side, batch: tfliteBatch())
            }
            description = "MobileNet \(configuration.architecture) α=\(configuration.widthMultiplier) in int8 (\(format == .onnx ? "QDQ" : "full integer")) at \(side)x\(side)"
        } else {
            let configuration = ModelConfiguration(variant ?? .v2, widthMultiplier: width ?? 1, classCount: classes ?? 1000)
            let network = try floatModel(configuration, weights: weights)
            let side = resolution ?? 224
            switch format {
            case .onnx:
                data = try ONNXExporter.data(network, resolution: side, batch: batchDimension())
            case .tflite:
                data = try TFLiteExporter.data(network, resolution: side, batch: tfliteBatch())
            }
            description = "MobileNet \(configuration.architecture) α=\(configuration.widthMultiplier) in fp32 at \(side)x\(side)"
        }
        try AtomicFile.write(data, to: URL(fileURLWithPath: output), overwrite: force)
        let form = format == .onnx
            ? "ONNX ir \(ONNXExporter.irVersion) opset \(ONNXExporter.opsetVersion), input `input` NCHW float32 (batch \(batch))"
            : "TFLite, input `input` NHWC float32 (batch \(batch == "dynamic" ? "1, resizable" : batch))"
        print("wrote \(output): \(description), \(form), output `logits`, \(data.count) bytes")
    }
}
