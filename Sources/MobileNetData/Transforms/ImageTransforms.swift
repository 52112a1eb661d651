import MobileNetIO

/// The image transforms of torchvision's ImageNet evaluation, reproduced exactly for PIL images:
///
/// ```python
/// transforms.Compose([
///     transforms.Resize(256),          # shorter side to 256, PIL bilinear with antialiasing
///     transforms.CenterCrop(224),
///     transforms.ToTensor(),           # / 255
///     transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
/// ])
/// ```
///
/// ```swift
/// let image = try ImageDecoder.decode(contentsOf: url)
/// let cropped = try ImageTransforms.imageNetEvaluation(image)          // 224 x 224, same bytes as PIL
/// let batch = try ImageTransforms.normalizedTensor(
///     [cropped], mean: [0.485, 0.456, 0.406], standardDeviation: [0.229, 0.224, 0.225])  // [1, 224, 224, 3]
/// ```
///
/// Resizing reproduces Pillow's `Image.resize(size, Image.BILINEAR)` bit for bit (see
/// ``resize(_:width:height:)``), cropping reproduces torchvision's offsets and zero padding, and
/// the tensor step does torchvision's float32 arithmetic in the same order, so a pipeline built
/// from these gives the same input tensor as PyTorch for the same file.
public enum ImageTransforms {
    /// torchvision's ImageNet evaluation geometry: the shorter side resized to `resize`, then the
    /// central `crop` x `crop` square (`Resize(resize)` + `CenterCrop(crop)`).
    public static func imageNetEvaluation(_ image: RGBImage, resize: Int = 256, crop: Int = 224) throws -> RGBImage {
        guard resize > 0 else {
            throw ImageTransformError.invalidSize(operation: "imageNetEvaluation", width: resize, height: resize)
        }
        try requireWellFormed(image, for: "imageNetEvaluation")
        return try centerCrop(try resizeShorterSide(image, to: resize), width: crop, height: crop)
    }

    /// Throws unless `image` has positive sides and three bytes per pixel.
    static func requireWellFormed(_ image: RGBImage, for operation: String) throws {
        guard image.isWellFormed else {
            throw ImageTransformError.malformedImage(
                operation: operation, width: image.width, height: image.height, byteCount: image.pixels.count)
        }
    }
}
