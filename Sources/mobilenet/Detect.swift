import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet detect IMAGE...`: the objects in each photo, with SSDLite.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find objects in photos (JPEG or PNG) with an SSDLite detector.",
        discussion: """
            --weights takes a run of `mobilenet train --task detection` (its folder, for the latest \
            checkpoint, or an epoch-N.json), or a state dictionary with torchvision's \
            ssdlite320_mobilenet_v3_large keys (.pth or .safetensors; the class count is read from its head).
            """)

    @Argument(help: "The photos.")
    var images: [String]

    @Option(name: .long, help: "The detector: a training run's folder or epoch-N.json, or a torchvision-keyed .pth/.safetensors.")
    var weights: String

    @Option(name: .long, help: "Report detections scoring above this, in [0, 1).")
    var scoreThreshold: Double = 0.3

    @Option(name: .long, help: "At most this many detections per photo.")
    var maximumDetections: Int = 100

    @Flag(name: .long, help: "Print JSON: per photo its detections, each a box [x1, y1, x2, y2] in the photo's pixels, label, name and score.")
    var json = false

    @Option(name: .long, help: "Draw the boxes on the photo and write it as PNG here (with several photos: name-1.png, name-2.png, ...).")
    var output: String?

    @Flag(name: .long, help: "With --output: replace files that exist.")
    var overwrite = false

    @OptionGroup var engine: EngineOptions

    /// Photos go through the detector this many at a time.
    static let photosPerBatch = 8

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        guard scoreThreshold >= 0, scoreThreshold < 1 else {
            throw ValidationError("--score-threshold must be in [0, 1), got \(scoreThreshold)")
        }
        try FlagChecks.require("--maximum-detections", maximumDetections, in: 1...10_000)
        if let output {
            guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must name a .png file, got \(output)") }
            if !overwrite {
                for path in outputPaths(output) where FileManager.default.fileExists(atPath: path) {
                    throw ValidationError("--output: \(path) exists; pass --overwrite to replace it")
                }
            }
        }
    }

    /// Where each photo's picture goes: `output` itself for one photo, numbered beside it for more.
    func outputPaths(_ output: String) -> [String] {
        guard images.count > 1 else { return [output] }
        let stem = String(output.dropLast(4))
        return images.indices.map { "\(stem)-\($0 + 1).png" }
    }

    func run() throws {
        engine.apply()
        let loaded: LoadedDetector
        do {
            loaded = try SSDLite.load(contentsOf: URL(fileURLWithPath: weights))
        } catch let error as DetectorLoadingError {
            throw CommandError(description: "--weights: \(error)")
        }
        let detector = loaded.detector
        detector.setTraining(false)
        // Candidates below the reported threshold are never reported, so they need not be kept.
        detector.postprocessor.scoreThreshold = Float(scoreThreshold)
        detector.postprocessor.detectionsPerImage = maximumDetections
        let compiled = try SSDLiteInference(detector)
        var photos: [RGBImage] = [], found: [[Detection]] = []
        for start in stride(from: 0, to: images.count, by: Self.photosPerBatch) {
            let batch = try images[start..<min(start + Self.photosPerBatch, images.count)].map {
                try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: $0))
            }
            found += try compiled.detect(batch)
            if output != nil { photos += batch }
        }
        if let failed = zip(images, found).first(where: { $0.1.contains { !$0.score.isFinite || !$0.box.x1.isFinite } }) {
            throw CommandError(description: "\(failed.0): the detector's output is not finite; the weights in \(weights) cannot run on it")
        }
        func name(_ label: Int) -> String {
            loaded.classNames.flatMap { $0.indices.contains(label) ? $0[label] : nil } ?? "class \(label)"
        }
        if json {
            print(try Self.json(images: images, detections: found, name: name))
        } else {
            for (image, list) in zip(images, found) {
                print("\(image): \(list.count) object(s)")
                for detection in list {
                    let box = [detection.box.x1, detection.box.y1, detection.box.x2, detection.box.y2].map { String(format: "%.1f", $0) }
                    print("  \(String(format: "%5.1f%%", detection.score * 100))  \(detection.label) \(name(detection.label))  "
                          + "[\(box.joined(separator: ", "))]")
                }
            }
        }
        if let output {
            for (path, (photo, list)) in zip(outputPaths(output), zip(photos, found)) {
                try PNGEncoder.write(DetectionPicture.draw(list, on: photo), to: URL(fileURLWithPath: path))
            }
        }
    }

    struct Entry: Encodable {
        struct Found: Encodable {
            var box: [Float]
            var label: Int
            var name: String
            var score: Float
        }
        var image: String
        var detections: [Found]
    }

    static func json(images: [String], detections: [[Detection]], name: (Int) -> String) throws -> String {
        let entries = zip(images, detections).map { image, list in
            Entry(image: image, detections: list.map {
                .init(box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2], label: $0.label, name: name($0.label), score: $0.score)
            })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(entries), as: UTF8.self)
    }
}
