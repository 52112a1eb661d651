import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet info`: the per-layer table of a model (name, output shape, parameters,
/// multiply-adds) and its totals, or one JSON object with `--json`.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's layers, output shapes, parameter and multiply-add counts.")

    @Option(name: .long, help: "classification, detection (SSDLite) or segmentation (LR-ASPP), the last two on the MobileNetV3 --variant, default v3-large.")
    var task: Task = .classification

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("resolution"), help: "The input resolution ρ, in pixels (\(ModelConfiguration.minimumResolution) to \(ModelConfiguration.maximumResolution); default 224, 320 for detection, 512 for segmentation).")
    var givenResolution: Int?

    var resolution: Int { givenResolution ?? (task == .detection ? 320 : task == .segmentation ? 512 : 224) }

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        try FlagChecks.resolution(resolution)
        // The summary runs one image through the engine.
        try EngineOptions.checkEnvironment()
    }

    func run() throws {
        let summary: ModelSummary
        if task == .detection {
            let configuration = SSDLiteConfiguration(
                backbone: try model.detectorBackbone(), widthMultiplier: model.width,
                classCount: model.givenClasses ?? 91, resolution: resolution)
            let detector: SSDLite
            do {
                detector = try SSDLite(configuration, seed: nil)
            } catch let error as ModelError {
                throw ValidationError("\(error)")
            }
            summary = try ModelSummary(
                tracing: detector, configuration: ModelConfiguration(configuration.backbone, widthMultiplier: configuration.widthMultiplier,
                                                                     classCount: configuration.classCount),
                resolution: resolution) { try detector($0) }
            if !json { print("\(configuration): \(detector.anchors.count) default boxes") }
        } else if task == .segmentation {
            let configuration = LRASPPConfiguration(
                backbone: try model.detectorBackbone(model: "LR-ASPP"), widthMultiplier: model.width, classCount: model.givenClasses ?? 21)
            let segmenter: LRASPP
            do {
                segmenter = try LRASPP(configuration, seed: nil)
            } catch let error as ModelError {
                throw ValidationError("\(error)")
            }
            summary = try ModelSummary(
                tracing: segmenter, configuration: ModelConfiguration(configuration.backbone, widthMultiplier: configuration.widthMultiplier,
                                                                      classCount: configuration.classCount),
                resolution: resolution) { try segmenter($0) }
            if !json { print("\(configuration) at \(resolution)x\(resolution)") }
        } else {
            let classifier = try makeModel(model.modelConfiguration, seed: nil)
            summary = try ModelSummary(model: classifier, resolution: resolution)
        }
        if json {
            print(try Self.json(summary))
        } else {
            print(Self.table(summary))
        }
    }

    struct Report: Encodable {
        struct Layer: Encodable {
            var name: String
            var kind: String
            var outputShape: [Int]
            var parameters: Int
            var macs: Int

            enum CodingKeys: String, CodingKey {
                case name, kind, outputShape = "output_shape", parameters, macs
            }
        }

        var variant: String
        var width: Double
        var resolution: Int
        var classes: Int
        var parameters: Int
        var macs: Int
        var layers: [Layer]
    }

    static func json(_ summary: ModelSummary) throws -> String {
        let report = Report(
            variant: summary.configuration.architecture.rawValue,
            width: summary.configuration.widthMultiplier,
            resolution: summary.resolution,
            classes: summary.configuration.classCount,
            parameters: summary.parameters,
            macs: summary.multiplyAdds,
            layers: summary.rows.map {
                .init(name: $0.name, kind: $0.kind, outputShape: $0.outputShape.dimensions,
                      parameters: $0.parameters, macs: $0.multiplyAdds)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func table(_ summary: ModelSummary) -> String {
        let header = ["layer", "kind", "output (NHWC)", "parameters", "multiply-adds"]
        let body = summary.rows.map {
            [$0.name, $0.kind, $0.outputShape.description, grouped($0.parameters), grouped($0.multiplyAdds)]
        }
        let configuration = summary.configuration
        var lines = TextTable.lines([header] + body, rightAligned: { $0 >= 3 })
        lines.append("")
        lines.append("MobileNet \(configuration.architecture) α=\(configuration.widthMultiplier), \(summary.resolution)x\(summary.resolution), \(configuration.classCount) classes: "
            + "\(grouped(summary.parameters)) parameters, "
            + String(format: "%.1f M multiply-adds", Double(summary.multiplyAdds) / 1e6))
        return lines.joined(separator: "\n")
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }
}
