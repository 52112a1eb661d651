import MobileNetIO
import MobileNetTensor

extension ImageTransforms {
    /// A batch of same-size images as an NHWC float tensor `[N, height, width, 3]` with value
    /// `(pixel / 255 - mean[c]) / standardDeviation[c]`: torchvision's `ToTensor()` followed by
    /// `Normalize(mean, std)`, laid out channels-last.
    ///
    /// The arithmetic is torchvision's, in float32 and in its order (divide by 255, subtract,
    /// divide), so the values are the same floats PyTorch computes.
    public static func normalizedTensor(
        _ images: [RGBImage], mean: [Float], standardDeviation: [Float]
    ) throws -> Tensor {
        guard let firstImage = images.first else { throw ImageTransformError.emptyBatch }
        guard mean.count == 3, standardDeviation.count == 3,
            mean.allSatisfy(\.isFinite), standardDeviation.allSatisfy({ $0.isFinite && $0 > 0 })
        else {
            throw ImageTransformError.invalidNormalization(mean: mean, standardDeviation: standardDeviation)
        }
        for (index, image) in images.enumerated() {
            try requireWellFormed(image, for: "normalizedTensor")
            guard image.width == firstImage.width, image.height == firstImage.height else {
                throw ImageTransformError.mismatchedImageSize(
                    index: index, expectedWidth: firstImage.width, expectedHeight: firstImage.height,
                    width: image.width, height: image.height)
            }
        }

        // Every byte value maps to one float per channel: compute the 3 x 256 table once.
        var table = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            for value in 0..<256 {
                table[channel * 256 + value] = (Float(value) / 255 - mean[channel]) / standardDeviation[channel]
            }
        }
        let imageBytes = firstImage.pixels.count
        var tensor = Tensor(uninitializedShape: [images.count, firstImage.height, firstImage.width, 3])
        tensor.withUnsafeMutableBufferPointer { values in
            table.withUnsafeBufferPointer { table in
                for (index, image) in images.enumerated() {
                    image.pixels.withUnsafeBufferPointer { pixels in
                        let target = values.baseAddress! + index * imageBytes
                        for offset in stride(from: 0, to: imageBytes, by: 3) {
                            target[offset] = table[Int(pixels[offset])]
                            target[offset + 1] = table[256 + Int(pixels[offset + 1])]
                            target[offset + 2] = table[512 + Int(pixels[offset + 2])]
                        }
                    }
                }
            }
        }
        return tensor
    }

    /// One image as a batch of one, `[1, height, width, 3]`; see ``normalizedTensor(_:mean:standardDeviation:)``.
    public static func normalizedTensor(_ image: RGBImage, mean: [Float], standardDeviation: [Float]) throws -> Tensor {
        try normalizedTensor([image], mean: mean, standardDeviation: standardDeviation)
    }
}
