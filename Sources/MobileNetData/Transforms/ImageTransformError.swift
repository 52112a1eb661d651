import MobileNetIO

/// An image transform was given an image or an argument it cannot work with.
///
/// Each case names the operation and says what was expected and what was found.
public enum ImageTransformError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The image's byte count does not match its size, or a side is not positive.
    case malformedImage(operation: String, width: Int, height: Int, byteCount: Int)
    /// A requested output size is not positive.
    case invalidSize(operation: String, width: Int, height: Int)
    /// A resize of the `imageWidth` x `imageHeight` image would make a `width` x `height` one,
    /// more than `limit` pixels (``ImageTransforms/maximumResizedPixelCount``).
    case outputTooLarge(operation: String, imageWidth: Int, imageHeight: Int, width: Int, height: Int, limit: Int)
    /// A crop rectangle reaches outside the image.
    case regionOutsideImage(left: Int, top: Int, width: Int, height: Int, imageWidth: Int, imageHeight: Int)
    /// A batch needs at least one image.
    case emptyBatch
    /// The images of a batch must all have the first image's size.
    case mismatchedImageSize(index: Int, expectedWidth: Int, expectedHeight: Int, width: Int, height: Int)
    /// Normalization needs three means and three positive, finite standard deviations.
    case invalidNormalization(mean: [Float], standardDeviation: [Float])

    public var description: String {
        switch self {
        case let .malformedImage(operation, width, height, byteCount):
            "\(operation): expected an RGB image with positive sides and "
                + "\(RGBImage.byteCount(width: width, height: height).map(String.init) ?? "an impossible number of") "
                + "bytes for \(width)x\(height), found \(byteCount) bytes"
        case let .invalidSize(operation, width, height):
            "\(operation): expected a positive size, got \(width)x\(height)"
        case let .outputTooLarge(operation, imageWidth, imageHeight, width, height, limit):
            "\(operation): the \(imageWidth)x\(imageHeight) image would become \(width)x\(height), "
                + "more than the limit of \(limit) pixels (an extreme aspect ratio?)"
        case let .regionOutsideImage(left, top, width, height, imageWidth, imageHeight):
            "crop: the \(width)x\(height) region at (\(left), \(top)) does not fit inside the \(imageWidth)x\(imageHeight) image"
        case .emptyBatch:
            "normalizedTensor: expected at least one image, got none"
        case let .mismatchedImageSize(index, expectedWidth, expectedHeight, width, height):
            "normalizedTensor: image \(index) is \(width)x\(height), expected \(expectedWidth)x\(expectedHeight) like image 0"
        case let .invalidNormalization(mean, standardDeviation):
            "normalizedTensor: expected 3 means and 3 positive standard deviations, got mean \(mean), std \(standardDeviation)"
        }
    }
}
