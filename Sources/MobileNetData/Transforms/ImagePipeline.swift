import MobileNetIO
import MobileNetTensor

/// The transforms one sample goes through before it joins a batch, as a value: a list of
/// geometric steps (some random) followed by normalization, like a torchvision `Compose`.
///
/// ```swift
/// let pipeline = ImagePipeline.imageFolderTraining(resolution: 224)
/// var generator = SplitMix64(seed: 7, path: [epoch, index])
/// let picture = try pipeline.apply(image, using: &generator)        // 224x224, randomly cropped
/// ```
///
/// The random steps draw, in order, from the generator they are given; a loader gives every
/// sample of every epoch its own generator, so the result does not depend on which thread
/// decodes it or when.
public struct ImagePipeline: Hashable, Sendable {
    /// One geometric step.
    public enum Step: Hashable, Sendable {
        /// `Resize((height, width))`: exactly this size, Pillow's bilinear filter.
        case resize(width: Int, height: Int)
        /// `Resize(size)`: the shorter side to `size`, keeping the aspect ratio.
        case resizeShorterSide(Int)
        /// `CenterCrop((height, width))`, padding with black when the picture is smaller.
        case centerCrop(width: Int, height: Int)
        /// `RandomResizedCrop((height, width), scale, ratio)`.
        case randomResizedCrop(width: Int, height: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>)
        /// `RandomCrop((height, width), padding)`: pad with black on every side, then crop at a
        /// random position.
        case randomCrop(width: Int, height: Int, padding: Int)
        /// `RandomHorizontalFlip(probability)`.
        case randomHorizontalFlip(probability: Float)
    }

    public var steps: [Step]
    /// Per-channel mean and standard deviation for ``ImageTransforms/normalizedTensor(_:mean:standardDeviation:)``.
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(steps: [Step], mean: [Float], standardDeviation: [Float]) {
        self.steps = steps
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// ImageNet's channel statistics, which pretrained weights expect.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStandardDeviation: [Float] = [0.229, 0.224, 0.225]

    /// `image` after every step, in order.
    public func apply(_ image: RGBImage, using generator: inout SplitMix64) throws -> RGBImage {
        var image = image
        for step in steps {
            switch step {
            case let .resize(width, height):
                image = try ImageTransforms.resize(image, width: width, height: height)
            case let .resizeShorterSide(size):
                image = try ImageTransforms.resizeShorterSide(image, to: size)
            case let .centerCrop(width, height):
                image = try ImageTransforms.centerCrop(image, width: width, height: height)
            case let .randomResizedCrop(width, height, scale, ratio):
                image = try ImageTransforms.randomResizedCrop(
                    image, width: width, height: height, scale: scale, ratio: ratio, using: &generator)
            case let .randomCrop(width, height, padding):
                image = try ImageTransforms.randomCrop(image, width: width, height: height, padding: padding, using: &generator)
            case let .randomHorizontalFlip(probability):
                try ImageTransforms.requireWellFormed(image, for: "randomHorizontalFlip")
                image = ImageTransforms.randomHorizontalFlip(image, probability: probability, using: &generator)
            }
        }
        return image
    }

    /// The batch tensor `[N, height, width, 3]` of already transformed, same-size pictures.
    public func tensor(_ images: [RGBImage]) throws -> Tensor {
        try ImageTransforms.normalizedTensor(images, mean: mean, standardDeviation: standardDeviation)
    }
}

extension ImagePipeline {
    /// Fashion-MNIST training: the 28x28 picture resized to `resolution` (when it differs), then
    /// padded by an eighth of its side and cropped back at a random position (4 pixels at 32,
    /// the CIFAR recipe; 3 at 28), and mirrored half of the time; normalized with the dataset's
    /// own statistics (``FashionMNIST/mean``).
    public static func fashionMNISTTraining(resolution: Int = 28) -> ImagePipeline {
        var steps: [Step] = resolution == 28 ? [] : [.resize(width: resolution, height: resolution)]
        steps += [
            .randomCrop(width: resolution, height: resolution, padding: max(1, resolution / 8)),
            .randomHorizontalFlip(probability: 0.5),
        ]
        return ImagePipeline(steps: steps, mean: FashionMNIST.mean, standardDeviation: FashionMNIST.standardDeviation)
    }

    /// Fashion-MNIST evaluation: only the resize to `resolution`, and the same normalization.
    public static func fashionMNISTEvaluation(resolution: Int = 28) -> ImagePipeline {
        ImagePipeline(
            steps: resolution == 28 ? [] : [.resize(width: resolution, height: resolution)],
            mean: FashionMNIST.mean, standardDeviation: FashionMNIST.standardDeviation)
    }

    /// torchvision's ImageNet training recipe: `RandomResizedCrop(resolution)` (scale 0.08–1,
    /// ratio 3/4–4/3) and `RandomHorizontalFlip()`, with ImageNet normalization, which a
    /// pretrained backbone expects.
    public static func imageFolderTraining(
        resolution: Int = 224, mean: [Float] = imageNetMean, standardDeviation: [Float] = imageNetStandardDeviation
    ) -> ImagePipeline {
        ImagePipeline(
            steps: [
                .randomResizedCrop(width: resolution, height: resolution, scale: 0.08...1, ratio: (3.0 / 4.0)...(4.0 / 3.0)),
                .randomHorizontalFlip(probability: 0.5),
            ],
            mean: mean, standardDeviation: standardDeviation)
    }

    /// torchvision's ImageNet evaluation recipe scaled to `resolution`: the shorter side resized
    /// to `resolution * 256 / 224` (256 at 224), then the central `resolution` square.
    public static func imageFolderEvaluation(
        resolution: Int = 224, mean: [Float] = imageNetMean, standardDeviation: [Float] = imageNetStandardDeviation
    ) -> ImagePipeline {
        ImagePipeline(
            steps: [
                .resizeShorterSide(resolution * 256 / 224),
                .centerCrop(width: resolution, height: resolution),
            ],
            mean: mean, standardDeviation: standardDeviation)
    }
}
