import ArgumentParser
import Foundation
import MobileNet

extension Evaluate {
    /// The segmenter's test set: the scenes of its run's test split, or a VOC folder's split.
    func segmentationData(settings: [String: String]?) throws -> any SegmentationDataset {
        if dataset == "fashion-mnist-scenes" {
            // The scenes the run tested on: its seed, test stream (seed + 1).
            let seed = settings?["seed"].flatMap(UInt64.init) ?? 0
            let side = settings?["scene-canvas"].flatMap(Int.init) ?? 320
            return FashionMNISTSceneMasks(try FashionMNISTScenes(
                split: split == "train" ? .train : .test, count: scenes, seed: split == "train" ? seed : seed &+ 1,
                configuration: .init(canvasWidth: side, canvasHeight: side, itemSide: (side / 8)...(side / 2))))
        }
        guard dataset.hasPrefix("voc:"), dataset.count > 4 else {
            throw ValidationError("--dataset: --task segmentation takes fashion-mnist-scenes or voc:DIR, got '\(dataset)'")
        }
        return try VOCSegmentationDataset(root: URL(fileURLWithPath: String(dataset.dropFirst(4)), isDirectory: true), split: split ?? "val")
    }

    func runSegmentation() throws {
        guard let checkpoint else { throw ValidationError("--task segmentation takes --checkpoint (a run folder, epoch-N.json or a .pth)") }
        let loaded: LoadedSegmenter
        do {
            loaded = try LRASPP.load(contentsOf: URL(fileURLWithPath: checkpoint))
        } catch let error as SegmenterLoadingError {
            throw CommandError(description: "--checkpoint: \(error)")
        }
        let settings = loaded.classNames == nil ? nil : try TrainingCheckpoint.load(from: loaded.source).state.settings
        let data = try segmentationData(settings: settings).prefix(limit)
        guard data.classNames.count == loaded.model.configuration.classCount else {
            throw CommandError(description: "\(dataset) has \(data.classNames.count) classes, the segmenter \(loaded.model.configuration.classCount)")
        }
        let baseSize = loaded.baseSize ?? 520
        let evaluation = try SegmentationEvaluation.run(
            loaded.model, on: data, baseSize: baseSize, batchSize: min(batchSize, 16), keepingPredictions: 6)
        let folder = loaded.source.hasDirectoryPath ? loaded.source : loaded.source.deletingLastPathComponent()
        let picture = folder.appendingPathComponent("test_segmentation.png")
        // Each test picture, its true map and the predicted one, a row each.
        let tiles = evaluation.kept.flatMap { sample, predicted -> [RGBImage] in
            let (width, height) = (sample.image.width, sample.image.height)
            return [sample.image, SegmentationPicture.colored(sample.labels, width: width, height: height),
                    SegmentationPicture.colored(predicted, width: width, height: height)]
        }
        try PNGEncoder.write(SegmentationPicture.grid(tiles, columns: 3), to: picture)
        let names = loaded.classNames ?? data.classNames
        if json {
            let perClass = Dictionary(uniqueKeysWithValues: evaluation.confusion.intersectionOverUnion.enumerated().compactMap { k, iou in
                iou.map { (names[k], $0) }
            })
            let object: [String: Any] = [
                "checkpoint": loaded.source.path, "dataset": dataset, "images": data.count, "pixel_accuracy": evaluation.pixelAccuracy,
                "mean_iou": evaluation.meanIntersectionOverUnion, "iou": perClass, "loss": evaluation.loss, "picture": picture.path,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(loaded.source.lastPathComponent) on \(dataset) (\(data.count) pictures at a shorter side of \(baseSize))")
            print(SegmentationReport.table(evaluation, classNames: names))
            print("picture: \(picture.path) (the first \(evaluation.kept.count) pictures: picture, true map, predicted map)")
        }
    }
}
