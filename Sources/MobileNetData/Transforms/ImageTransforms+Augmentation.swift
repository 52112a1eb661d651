#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MobileNetIO
import MobileNetTensor

/// A rectangle of a picture, in pixels from its top-left corner.
public struct CropRegion: Hashable, Sendable {
    public var left: Int
    public var top: Int
    public var width: Int
    public var height: Int

    public init(left: Int, top: Int, width: Int, height: Int) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
    }
}

/// The random transforms of training, as torchvision defines them, drawing from a seeded
/// ``SplitMix64`` instead of PyTorch's global generator.
///
/// The random draws use PyTorch's float32 arithmetic (see ``SplitMix64/nextFloat(in:_:)``), so
/// that, fed the same unit values, they pick the same rectangles as torchvision's own code; the
/// fixture generator checks this by running torchvision with its generator replaced by a
/// SplitMix64 twin.
extension ImageTransforms {
    /// The picture mirrored left to right (torchvision's `F.hflip`).
    public static func horizontalFlip(_ image: RGBImage) -> RGBImage {
        precondition(image.isWellFormed, "horizontalFlip: malformed \(image.width)x\(image.height) image")
        var pixels = image.pixels
        let width = image.width
        for row in 0..<image.height {
            let start = row * width * 3
            for column in 0..<(width / 2) {
                let left = start + column * 3
                let right = start + (width - 1 - column) * 3
                for channel in 0..<3 { pixels.swapAt(left + channel, right + channel) }
            }
        }
        return RGBImage(width: width, height: image.height, pixels: pixels)
    }

    /// The picture mirrored with probability `probability` (torchvision's
    /// `RandomHorizontalFlip(p)`: one uniform draw, flipped when it is below `p`).
    public static func randomHorizontalFlip(
        _ image: RGBImage, probability: Float = 0.5, using generator: inout SplitMix64
    ) -> RGBImage {
        generator.nextFloat(in: 0, 1) < probability ? horizontalFlip(image) : image
    }

    /// The picture inside a black border `padding` pixels wide on every side (torchvision's
    /// `Pad(padding)` with the default fill of 0).
    public static func pad(_ image: RGBImage, by padding: Int) throws -> RGBImage {
        guard padding >= 0 else {
            throw ImageTransformError.invalidSize(operation: "pad", width: padding, height: padding)
        }
        try requireWellFormed(image, for: "pad")
        return padding == 0 ? image : padded(image, left: padding, top: padding, right: padding, bottom: padding)
    }

    /// A `width` x `height` region at a uniformly random position of the picture padded by
    /// `padding` black pixels on every side: torchvision's `RandomCrop((height, width), padding)`,
    /// the usual augmentation of small pictures (28x28 padded by 4 and cropped back to 28, or to
    /// 32 from a 32 padded by 4).
    ///
    /// The top offset is drawn first, then the left one, as torchvision draws them.
    public static func randomCrop(
        _ image: RGBImage, width: Int, height: Int, padding: Int = 0, using generator: inout SplitMix64
    ) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw ImageTransformError.invalidSize(operation: "randomCrop", width: width, height: height)
        }
        let source = try pad(image, by: padding)
        guard width <= source.width, height <= source.height else {
            throw ImageTransformError.regionOutsideImage(
                left: 0, top: 0, width: width, height: height, imageWidth: source.width, imageHeight: source.height)
        }
        if width == source.width && height == source.height { return source }
        let top = generator.nextIndex(below: source.height - height + 1)
        let left = generator.nextIndex(below: source.width - width + 1)
        return try crop(source, left: left, top: top, width: width, height: height)
    }

    /// The region torchvision's `RandomResizedCrop.get_params` picks from a `width` x `height`
    /// picture.
    ///
    /// Up to ten attempts: draw an area, a uniform share `scale` of the picture's, and an aspect
    /// ratio, log-uniform in `ratio`; round the sides (half to even, as Python's `round`); keep
    /// the first rectangle that fits, at a uniform position (top drawn before left). When none
    /// fits, take the central crop of the picture clamped to the ratio range.
    public static func randomResizedCropRegion(
        width: Int, height: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
        using generator: inout SplitMix64
    ) -> CropRegion {
        precondition(width > 0 && height > 0, "randomResizedCropRegion: expected a positive size, got \(width)x\(height)")
        let area = Double(width * height)
        // torchvision takes the logarithms of the bounds in float32 (`torch.log(torch.tensor(ratio))`),
        // and `uniform_` works in float32; the rest is Python's double precision.
        let logRatio = (logf(Float(ratio.lowerBound)), logf(Float(ratio.upperBound)))
        let scaleBounds = (Float(scale.lowerBound), Float(scale.upperBound))
        for _ in 0..<10 {
            let targetArea = area * Double(generator.nextFloat(in: scaleBounds.0, scaleBounds.1))
            let aspectRatio = Double(expf(generator.nextFloat(in: logRatio.0, logRatio.1)))
            let cropWidth = Int((targetArea * aspectRatio).squareRoot().rounded(.toNearestOrEven))
            let cropHeight = Int((targetArea / aspectRatio).squareRoot().rounded(.toNearestOrEven))
            if cropWidth > 0, cropWidth <= width, cropHeight > 0, cropHeight <= height {
                let top = generator.nextIndex(below: height - cropHeight + 1)
                let left = generator.nextIndex(below: width - cropWidth + 1)
                return CropRegion(left: left, top: top, width: cropWidth, height: cropHeight)
            }
        }
        let inputRatio = Double(width) / Double(height)
        let (lowest, highest) = (ratio.lowerBound, ratio.upperBound)
        var cropWidth = width
        var cropHeight = height
        if inputRatio < lowest {
            cropHeight = Int((Double(cropWidth) / lowest).rounded(.toNearestOrEven))
        } else if inputRatio > highest {
            cropWidth = Int((Double(cropHeight) * highest).rounded(.toNearestOrEven))
        }
        return CropRegion(left: (width - cropWidth) / 2, top: (height - cropHeight) / 2, width: cropWidth, height: cropHeight)
    }

    /// torchvision's `RandomResizedCrop((height, width), scale, ratio)` on a PIL picture: the
    /// region of ``randomResizedCropRegion(width:height:scale:ratio:using:)``, resized to
    /// `width` x `height` with Pillow's bilinear filter (see ``resize(_:width:height:)``).
    public static func randomResizedCrop(
        _ image: RGBImage, width: Int, height: Int,
        scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
        using generator: inout SplitMix64
    ) throws -> RGBImage {
        guard width > 0, height > 0 else {
            throw ImageTransformError.invalidSize(operation: "randomResizedCrop", width: width, height: height)
        }
        try requireWellFormed(image, for: "randomResizedCrop")
        let region = randomResizedCropRegion(width: image.width, height: image.height, scale: scale, ratio: ratio, using: &generator)
        let cropped = try crop(image, left: region.left, top: region.top, width: region.width, height: region.height)
        return try resize(cropped, width: width, height: height)
    }
}
