import MobileNetDetection
import MobileNetIO

/// The detection issue's Fashion-MNIST scenes as a segmentation dataset: each scene with its
/// class map (``FashionMNISTScenes/segmentation(at:)``: garment pixels above the threshold take
/// the garment's class + 1, the rest is background), 11 classes.
///
/// ```swift
/// let scenes = try FashionMNISTScenes(split: .train, count: 8_000, seed: 0)
/// let dataset = FashionMNISTSceneMasks(scenes)
/// let sample = try dataset.sample(at: 3)        // sample.labels: 320 x 320 labels in 0...10
/// ```
public struct FashionMNISTSceneMasks: SegmentationDataset {
    public let scenes: FashionMNISTScenes

    public init(_ scenes: FashionMNISTScenes) {
        self.scenes = scenes
    }

    public var count: Int { scenes.count }
    public var classNames: [String] { scenes.classNames }

    public func sample(at index: Int) throws -> SegmentationSample {
        let (image, labels) = scenes.segmentation(at: index)
        return SegmentationSample(image: image, labels: labels)
    }

    public func sourceName(at index: Int) -> String { scenes.sourceName(at: index) }
}
