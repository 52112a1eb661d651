import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet segment IMAGE...`: each photo's class map, with LR-ASPP.
struct Segment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label every pixel of photos (JPEG or PNG) with an LR-ASPP segmenter.",
        discussion: """
            --weights takes a run of `mobilenet train --task segmentation` (its folder, for the latest \
            checkpoint, or an epoch-N.json), or a state dictionary with torchvision's \
            lraspp_mobilenet_v3_large keys (.pth or .safetensors; the class count is read from its head). \
            Each photo is resized so that its shorter side is the run's base size (520 for a state dictionary), \
            and its map resized back to the photo.
            """)

    @Argument(help: "The photos.")
    var images: [String]

    @Option(name: .long, help: "The segmenter: a training run's folder or epoch-N.json, or a torchvision-keyed .pth/.safetensors.")
    var weights: String

    @Option(name: .long, help: "The shorter side photos are resized to (default: the run's base size, or 520).")
    var baseSize: Int?

    @Option(name: .long, help: "Write the class map as a colour PNG here (VOC's colours; with several photos: name-1.png, ...).")
    var output: String?

    @Flag(name: .long, help: "With --output: the classes blended onto the photo instead of the bare map.")
    var overlay = false

    @Flag(name: .long, help: "With --output: replace files that exist.")
    var overwrite = false

    @Flag(name: .long, help: "Print JSON: per photo its size and each class found with its pixel count and share.")
    var json = false

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        if let baseSize { try FlagChecks.require("--base-size", baseSize, in: LRASPPConfiguration.minimumResolution...ModelConfiguration.maximumResolution) }
        if overlay, output == nil { throw ValidationError("--overlay needs --output") }
        if let output {
            guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must name a .png file, got \(output)") }
            if !overwrite {
                for path in outputPaths(output) where FileManager.default.fileExists(atPath: path) {
                    throw ValidationError("--output: \(path) exists; pass --overwrite to replace it")
                }
            }
        }
    }

    func outputPaths(_ output: String) -> [String] {
        guard images.count > 1 else { return [output] }
        let stem = String(output.dropLast(4))
        return images.indices.map { "\(stem)-\($0 + 1).png" }
    }

    func run() throws {
        engine.apply()
        let loaded: LoadedSegmenter
        do {
            loaded = try LRASPP.load(contentsOf: URL(fileURLWithPath: weights))
        } catch let error as SegmenterLoadingError {
            throw CommandError(description: "--weights: \(error)")
        }
        let side = baseSize ?? loaded.baseSize ?? 520
        func name(_ label: Int) -> String {
            loaded.classNames.flatMap { $0.indices.contains(label) ? $0[label] : nil }
                ?? (loaded.model.configuration.classCount == 21 ? VOCSegmentationDataset.vocClassNames[label] : "class \(label)")
        }
        // The fused graph, compiled once per photo size.
        let compiled = try LRASPPInference(loaded.model)
        var entries: [Entry] = []
        for (index, path) in images.enumerated() {
            let photo = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path))
            let labels = try compiled.segment([photo], baseSize: side)[0]
            var counts = [Int](repeating: 0, count: loaded.model.configuration.classCount)
            for label in labels { counts[Int(label)] += 1 }
            let found = counts.indices.filter { counts[$0] > 0 }.map {
                Entry.Found(label: $0, name: name($0), pixels: counts[$0], share: Double(counts[$0]) / Double(labels.count))
            }
            entries.append(Entry(image: path, width: photo.width, height: photo.height, classes: found))
            if let output {
                let picture = overlay ? SegmentationPicture.overlay(labels, on: photo)
                    : SegmentationPicture.colored(labels, width: photo.width, height: photo.height)
                try PNGEncoder.write(picture, to: URL(fileURLWithPath: outputPaths(output)[index]))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
        } else {
            for entry in entries {
                print("\(entry.image): \(entry.width)x\(entry.height)")
                for found in entry.classes.sorted(by: { $0.pixels > $1.pixels }) {
                    print("  \(String(format: "%5.1f%%", found.share * 100))  \(found.label) \(found.name)")
                }
            }
        }
    }

    struct Entry: Encodable {
        struct Found: Encodable {
            var label: Int
            var name: String
            var pixels: Int
            var share: Double
        }
        var image: String
        var width: Int
        var height: Int
        var classes: [Found]
    }
}
