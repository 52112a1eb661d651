import MobileNetData
import MobileNetIO
import MobileNetTensor

/// The augmentation of SSD's training, as torchvision's detection references do it, seeded so
/// that a resumed run draws exactly the same: a random IoU crop, a horizontal flip, a photometric
/// distortion, then the resize to the model's square input with the boxes scaled alongside.
///
/// ```swift
/// let augmentation = DetectionAugmentation.ssdliteTraining(resolution: 320)
/// let input = try augmentation.apply(sample, seed: 42, epoch: 3, index: 1_234)   // 320x320
/// ```
///
/// Each step draws from the generator in turn; ``apply(_:seed:epoch:index:)`` keys it by
/// `(seed, epoch, sample index)`, as `BatchLoader` keys its augmentation, so a sample's result
/// depends on nothing else: not the thread, not the order, not a restart. Crowd objects travel
/// with the others (their flag filtered alongside); the loss decides what to do with them.
///
/// torchvision's `ssdlite` preset has the crop and the flip only; its `ssd` preset adds the
/// distortion (before a zoom-out this pipeline leaves out). Here the distortion is on by default
/// and comes after the geometry, where the picture is smaller.
public struct DetectionAugmentation: Hashable, Sendable {
    /// `RandomIoUCrop`'s parameters.
    public struct IoUCrop: Hashable, Sendable {
        /// The smallest IoU with the crop that some kept box must reach, one drawn per round;
        /// `nil` is the option of leaving the picture as it is.
        public var minimumOverlaps: [Float?]
        /// The share of each side a crop keeps, drawn for width and height apart.
        public var scale: ClosedRange<Float>
        /// The crop's width over its height.
        public var aspectRatio: ClosedRange<Float>
        /// Crops tried per round before another overlap is drawn.
        public var trials: Int
        /// Rounds before giving up and leaving the picture as it is (torchvision draws until it
        /// succeeds or draws "leave"; with boxes that almost never takes more than a few).
        public var maximumRounds: Int

        /// torchvision's defaults (after SSD's Caffe configuration).
        public init(
            minimumOverlaps: [Float?] = [0, 0.1, 0.3, 0.5, 0.7, 0.9, nil], scale: ClosedRange<Float> = 0.3...1,
            aspectRatio: ClosedRange<Float> = 0.5...2, trials: Int = 40, maximumRounds: Int = 100
        ) {
            self.minimumOverlaps = minimumOverlaps
            self.scale = scale
            self.aspectRatio = aspectRatio
            self.trials = trials
            self.maximumRounds = maximumRounds
        }
    }

    /// The random IoU crop, or `nil` for none.
    public var ioUCrop: IoUCrop?
    /// The probability of mirroring the sample (0 for never).
    public var horizontalFlipProbability: Float
    /// The color distortion, or `nil` for none.
    public var photometricDistortion: PhotometricDistortion?
    /// The model's input size, which every sample is finally resized to.
    public var outputWidth: Int
    public var outputHeight: Int

    public init(
        ioUCrop: IoUCrop? = IoUCrop(), horizontalFlipProbability: Float = 0.5,
        photometricDistortion: PhotometricDistortion? = PhotometricDistortion(), outputWidth: Int, outputHeight: Int
    ) {
        self.ioUCrop = ioUCrop
        self.horizontalFlipProbability = horizontalFlipProbability
        self.photometricDistortion = photometricDistortion
        self.outputWidth = outputWidth
        self.outputHeight = outputHeight
    }

    /// SSDLite's training: IoU crop, flip with probability 0.5, photometric distortion (unless
    /// `photometricDistortion` is false, torchvision's own `ssdlite` preset), resize to
    /// `resolution` x `resolution`.
    public static func ssdliteTraining(resolution: Int = 320, photometricDistortion: Bool = true) -> DetectionAugmentation {
        DetectionAugmentation(
            photometricDistortion: photometricDistortion ? PhotometricDistortion() : nil, outputWidth: resolution, outputHeight: resolution)
    }

    /// Evaluation: only the resize.
    public static func evaluation(resolution: Int = 320) -> DetectionAugmentation {
        DetectionAugmentation(
            ioUCrop: nil, horizontalFlipProbability: 0, photometricDistortion: nil, outputWidth: resolution, outputHeight: resolution)
    }

    /// The generator of sample `index` in epoch `epoch`, keyed as `BatchLoader` keys its own.
    public static func generator(seed: UInt64, epoch: Int, index: Int) -> SplitMix64 {
        BatchSchedule.augmentationGenerator(seed: seed, epoch: epoch, index: index)
    }

    /// `sample` augmented with the generator of `(seed, epoch, index)`.
    public func apply(_ sample: DetectionSample, seed: UInt64, epoch: Int, index: Int) throws -> DetectionSample {
        var generator = Self.generator(seed: seed, epoch: epoch, index: index)
        return try apply(sample, using: &generator)
    }

    /// `sample` after every step, in order, drawing from `generator`.
    ///
    /// - Throws: `ImageTransformError` for a malformed picture or an output size that is not positive.
    public func apply(_ sample: DetectionSample, using generator: inout SplitMix64) throws -> DetectionSample {
        var sample = sample
        if let ioUCrop, let region = Self.randomIoUCropRegion(for: sample.annotation, ioUCrop, using: &generator) {
            sample = try DetectionTransforms.crop(sample, to: region)
        }
        if horizontalFlipProbability > 0, generator.nextFloat(in: 0, 1) < horizontalFlipProbability {
            sample = DetectionTransforms.horizontalFlip(sample)
        }
        if let photometricDistortion {
            sample.image = photometricDistortion.apply(sample.image, using: &generator)
        }
        return try DetectionTransforms.resize(sample, width: outputWidth, height: outputHeight)
    }

    /// The region `RandomIoUCrop` cuts from a picture with `annotation`'s size and boxes, or
    /// `nil` to leave it whole.
    ///
    /// Each round draws a minimum IoU from the options (the "leave" option ends it); then up to
    /// `trials` crops: a width and a height, each a uniform share `scale` of the picture's side
    /// (truncated to whole pixels); refused unless their ratio is within `aspectRatio`; a
    /// uniform position; refused unless some box's centre lies strictly inside, and unless one of
    /// those boxes overlaps the crop by at least the minimum IoU. A picture without boxes is left
    /// whole, which is what torchvision's search ends in too.
    public static func randomIoUCropRegion(
        for annotation: DetectionAnnotation, _ parameters: IoUCrop = IoUCrop(), using generator: inout SplitMix64
    ) -> CropRegion? {
        let (width, height) = (annotation.width, annotation.height)
        guard !annotation.boxes.isEmpty, !parameters.minimumOverlaps.isEmpty, width > 0, height > 0 else { return nil }
        for _ in 0..<parameters.maximumRounds {
            guard let minimumOverlap = parameters.minimumOverlaps[generator.nextIndex(below: parameters.minimumOverlaps.count)]
            else { return nil }
            for _ in 0..<parameters.trials {
                let (lower, upper) = (parameters.scale.lowerBound, parameters.scale.upperBound)
                let cropWidth = Int(Float(width) * generator.nextFloat(in: lower, upper))
                let cropHeight = Int(Float(height) * generator.nextFloat(in: lower, upper))
                guard cropWidth > 0, cropHeight > 0,
                    parameters.aspectRatio.contains(Float(Double(cropWidth) / Double(cropHeight)))
                else { continue }
                let left = Int(Float(width - cropWidth) * generator.nextFloat(in: 0, 1))
                let top = Int(Float(height - cropHeight) * generator.nextFloat(in: 0, 1))
                let crop = BoundingBox(x1: Float(left), y1: Float(top), x2: Float(left + cropWidth), y2: Float(top + cropHeight))
                let inside = annotation.boxes.filter { $0.hasCentre(strictlyInside: crop) }
                guard let best = inside.map({ $0.intersectionOverUnion(crop) }).max(), best >= minimumOverlap else { continue }
                return CropRegion(left: left, top: top, width: cropWidth, height: cropHeight)
            }
        }
        return nil
    }
}
