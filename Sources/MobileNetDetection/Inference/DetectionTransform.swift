import MobileNetIO
import MobileNetTensor

/// How a detector's pictures become its input, as torchvision's `GeneralizedRCNNTransform` does
/// it for SSD: 8-bit RGB to [0, 1], normalized with the mean and standard deviation (0.5 each for
/// SSDLite, so values in [-1, 1]), then resized to a fixed square by bilinear interpolation
/// (`align_corners=False`, no antialiasing), whatever the picture's aspect.
public struct DetectionTransform: Hashable, Sendable {
    public var resolution: Int
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(resolution: Int = 320, mean: [Float] = [0.5, 0.5, 0.5], standardDeviation: [Float] = [0.5, 0.5, 0.5]) {
        self.resolution = resolution
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// One picture as a normalized `[1, resolution, resolution, 3]` tensor.
    public func callAsFunction(_ image: RGBImage) throws -> Tensor {
        let normalized = Tensor(shape: [1, image.height, image.width, 3]) { index in
            let channel = index % 3
            return (Float(image.pixels[index]) / 255 - mean[channel]) / standardDeviation[channel]
        }
        return try resizeBilinear(normalized, height: resolution, width: resolution)
    }

    /// Several pictures as one batch `[N, resolution, resolution, 3]`.
    public func batch(_ images: [RGBImage]) throws -> Tensor {
        try concatenate(images.map { try self($0) }, axis: 0)
    }
}
