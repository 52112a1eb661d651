import MobileNetData
import MobileNetIO
import MobileNetNN
import MobileNetTensor
import MobileNetTraining

/// A segmenter's numbers on a dataset, as torchvision's segmentation reference evaluates: every
/// picture at its evaluation size (``SegmentationAugmentation/evaluation(baseSize:)``), each
/// pixel's class the arg-max of its logits, counted in a ``ConfusionMatrix``; and the mean
/// cross-entropy over the pixels not ignored.
public struct SegmentationEvaluation: Sendable {
    public var confusion: ConfusionMatrix
    /// The mean per-pixel cross-entropy.
    public var loss: Double
    /// The predicted class maps of the first pictures (``run(_:on:baseSize:batchSize:keepingPredictions:shouldStop:)``'s
    /// `keepingPredictions`), with the samples they were computed on, for a picture.
    public var kept: [(sample: SegmentationSample, predicted: [UInt8])]

    public var pixelAccuracy: Double { confusion.accuracy }
    public var meanIntersectionOverUnion: Double { confusion.meanIntersectionOverUnion }

    /// Runs `model` in evaluation mode over `dataset`, pictures of one size `batchSize` at a time.
    ///
    /// - Throws: `CancellationError` once `shouldStop` answers `true` (asked before each batch);
    ///   reading and model errors as they come.
    public static func run(
        _ model: LRASPP, on dataset: any SegmentationDataset, baseSize: Int, batchSize: Int = 8, keepingPredictions: Int = 0,
        shouldStop: () -> Bool = { false }
    ) throws -> SegmentationEvaluation {
        let wasTraining = model.namedModules().contains { ($0.module as? ModeDependent)?.isTraining == true }
        model.setTraining(false)
        defer { if wasTraining { model.setTraining(true) } }
        let augmentation = SegmentationAugmentation.evaluation(baseSize: baseSize)
        let classes = model.configuration.classCount
        var confusion = ConfusionMatrix(classCount: classes)
        var lossSum = 0.0, counted = 0
        var kept: [(SegmentationSample, [UInt8])] = []
        var pending: [SegmentationSample] = []
        func flush() throws {
            guard let first = pending.first else { return }
            let images = try normalized(pending.map(\.image))
            let logits = try model(images)
            let labels = pending.flatMap(\.labels)
            let pixels = labels.count
            let loss = try crossEntropy(
                logits: logits.reshaped([pixels, classes]), labels: labels.map(Int.init), ignoreIndex: Int(SegmentationSample.ignoredLabel))
            let valid = labels.reduce(0) { $0 + ($1 == SegmentationSample.ignoredLabel ? 0 : 1) }
            lossSum += Double(loss.scalars[0]) * Double(valid)
            counted += valid
            let predicted = argmax(logits, classes: classes)
            confusion.add(truth: labels, predicted: predicted)
            let perImage = first.labels.count
            for (offset, sample) in pending.enumerated() where kept.count < keepingPredictions {
                kept.append((sample, Array(predicted[(offset * perImage)..<((offset + 1) * perImage)])))
            }
            pending.removeAll()
        }
        for index in 0..<dataset.count {
            if pending.isEmpty, shouldStop() { throw CancellationError() }
            let sample = try augmentation.apply(dataset.sample(at: index), seed: 0, epoch: 0, index: index)
            if let first = pending.first, first.image.width != sample.image.width || first.image.height != sample.image.height {
                try flush()
            }
            pending.append(sample)
            if pending.count == max(batchSize, 1) { try flush() }
        }
        try flush()
        return SegmentationEvaluation(confusion: confusion, loss: counted == 0 ? 0 : lossSum / Double(counted), kept: kept)
    }

    /// Pictures normalized as the loader normalizes them.
    public static func normalized(_ images: [RGBImage]) throws -> Tensor {
        try ImageTransforms.normalizedTensor(
            images, mean: SegmentationBatchLoader.imageNetMean, standardDeviation: SegmentationBatchLoader.imageNetStandardDeviation)
    }

    /// Each pixel's class with the highest logit (the first of equals) from NHWC logits.
    public static func argmax(_ logits: Tensor, classes: Int) -> [UInt8] {
        let pixels = logits.elementCount / classes
        var labels = [UInt8](repeating: 0, count: pixels)
        logits.withUnsafeBufferPointer { values in
            for pixel in 0..<pixels {
                var best = 0
                var bestValue = values[pixel * classes]
                for k in 1..<classes where values[pixel * classes + k] > bestValue {
                    best = k
                    bestValue = values[pixel * classes + k]
                }
                labels[pixel] = UInt8(best)
            }
        }
        return labels
    }
}
