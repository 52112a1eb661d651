import MobileNetData
import MobileNetIO
import MobileNetTensor

/// What torchvision's segmentation reference does to a training sample
/// (`SegmentationPresetTrain`): the shorter side resized to a random size in
/// [``minimumScale``, ``maximumScale``] × ``baseSize``, a horizontal flip half of the time, then
/// a random ``cropSize`` square (padded first where the picture is smaller: black, and ignored
/// labels); and to an evaluation sample (`SegmentationPresetEval`): the shorter side resized to
/// ``baseSize``, nothing else.
///
/// Each sample draws from its own generator, keyed by `(seed, epoch, index)` as classification's
/// and detection's augmentations are, so a batch's split over threads changes nothing.
public struct SegmentationAugmentation: Hashable, Sendable {
    public var baseSize: Int
    /// The side of the training crop; nil for evaluation (no crop, no flip, no random resize).
    public var cropSize: Int?
    public var minimumScale: Double = 0.5
    public var maximumScale: Double = 2
    public var horizontalFlipProbability: Float = 0.5

    public static func training(baseSize: Int, cropSize: Int) -> SegmentationAugmentation {
        SegmentationAugmentation(baseSize: baseSize, cropSize: cropSize)
    }

    public static func evaluation(baseSize: Int) -> SegmentationAugmentation {
        SegmentationAugmentation(baseSize: baseSize, cropSize: nil)
    }

    public init(baseSize: Int, cropSize: Int?) {
        self.baseSize = baseSize
        self.cropSize = cropSize
    }

    /// `sample` augmented with the generator of `(seed, epoch, index)`.
    public func apply(_ sample: SegmentationSample, seed: UInt64, epoch: Int, index: Int) throws -> SegmentationSample {
        var generator = BatchSchedule.augmentationGenerator(seed: seed, epoch: epoch, index: index)
        return try apply(sample, using: &generator)
    }

    /// `sample` after every step, drawing from `generator`.
    public func apply(_ sample: SegmentationSample, using generator: inout SplitMix64) throws -> SegmentationSample {
        guard let cropSize else { return try SegmentationTransforms.resizeShorterSide(sample, to: baseSize) }
        // torchvision's RandomResize: random.randint(min_size, max_size), both ends included.
        let smallest = max(1, Int(minimumScale * Double(baseSize))), largest = max(smallest, Int(maximumScale * Double(baseSize)))
        var result = try SegmentationTransforms.resizeShorterSide(sample, to: smallest + generator.nextIndex(below: largest - smallest + 1))
        if horizontalFlipProbability > 0, generator.nextFloat(in: 0, 1) < horizontalFlipProbability {
            result = SegmentationTransforms.horizontalFlip(result)
        }
        result = SegmentationTransforms.padIfSmaller(result, width: cropSize, height: cropSize)
        let left = generator.nextIndex(below: result.image.width - cropSize + 1)
        let top = generator.nextIndex(below: result.image.height - cropSize + 1)
        return try SegmentationTransforms.crop(result, left: left, top: top, width: cropSize, height: cropSize)
    }
}
