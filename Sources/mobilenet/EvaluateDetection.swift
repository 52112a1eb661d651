import ArgumentParser
import Foundation
import MobileNet

extension Evaluate {
    /// The detector's test set: the scenes of its run's test split, or a COCO folder (its `val/`,
    /// or the folder itself when it holds an instances.json).
    func detectionData(settings: [String: String]?) throws -> any DetectionDataset {
        if dataset == "fashion-mnist-scenes" {
            // The scenes the run tested on: its seed, test stream (seed + 1).
            let seed = settings?["seed"].flatMap(UInt64.init) ?? 0
            let side = settings?["scene-canvas"].flatMap(Int.init) ?? 320
            return try FashionMNISTScenes(
                split: split == "train" ? .train : .test, count: scenes, seed: split == "train" ? seed : seed &+ 1,
                configuration: .init(canvasWidth: side, canvasHeight: side, itemSide: (side / 8)...(side / 2)))
        }
        guard dataset.hasPrefix("coco:"), dataset.count > 5 else {
            throw ValidationError("--dataset: --task detection takes fashion-mnist-scenes or coco:DIR, got '\(dataset)'")
        }
        var folder = URL(fileURLWithPath: String(dataset.dropFirst(5)), isDirectory: true)
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("instances.json").path) {
            folder = folder.appendingPathComponent(split ?? "val")
        }
        let data = try COCODetectionDataset(
            annotationsFile: folder.appendingPathComponent("instances.json"), imageFolder: folder.appendingPathComponent("images"))
        if !data.skipped.isEmpty { FileHandle.standardError.write(Data("warning: \(folder.path): \(data.skipped)\n".utf8)) }
        return data
    }

    func runDetection() throws {
        guard let checkpoint else { throw ValidationError("--task detection takes --checkpoint (a run folder, epoch-N.json or a .pth)") }
        let loaded: LoadedDetector
        do {
            loaded = try SSDLite.load(contentsOf: URL(fileURLWithPath: checkpoint))
        } catch let error as DetectorLoadingError {
            throw CommandError(description: "--checkpoint: \(error)")
        }
        let settings = loaded.classNames == nil ? nil : try TrainingCheckpoint.load(from: loaded.source).state.settings
        let data = try detectionData(settings: settings).prefix(limit)
        guard data.labelCount == loaded.detector.configuration.classCount else {
            throw CommandError(description: "\(dataset) has \(data.labelCount - 1) object classes, the detector \(loaded.detector.configuration.classCount - 1)")
        }
        let evaluation = try DetectionEvaluation.run(loaded.detector, on: data, batchSize: min(batchSize, 32))
        let folder = loaded.source.hasDirectoryPath ? loaded.source : loaded.source.deletingLastPathComponent()
        let picture = folder.appendingPathComponent("test_detections.png")
        let shown = (0..<min(8, data.count)).map { index in
            (try? data.image(at: index)).map { ($0, evaluation.detections[index].filter { $0.score >= 0.3 }) }
        }.compactMap { $0 }
        try PNGEncoder.write(DetectionPicture.grid(shown), to: picture)
        let summary = evaluation.coco.summary
        if json {
            let object: [String: Any] = [
                "checkpoint": loaded.source.path, "dataset": dataset, "images": data.count,
                "ap": summary.averagePrecision, "ap50": summary.averagePrecision50, "ap75": summary.averagePrecision75,
                "ap_small": summary.averagePrecisionSmall, "ap_medium": summary.averagePrecisionMedium,
                "ap_large": summary.averagePrecisionLarge, "ar100": summary.averageRecall100, "picture": picture.path,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(loaded.source.lastPathComponent) on \(dataset) (\(data.count) pictures)")
            print(summary.description)
            print("picture: \(picture.path) (the first \(shown.count) pictures, detections scoring 30% or more)")
        }
    }
}
