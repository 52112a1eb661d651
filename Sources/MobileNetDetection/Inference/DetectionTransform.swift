import Dispatch
import MobileNetIO
import MobileNetTensor

/// How a detector's pictures become its input, as torchvision's `GeneralizedRCNNTransform` does
/// it for SSD: 8-bit RGB to [0, 1], normalized with the mean and standard deviation (0.5 each for
/// SSDLite, so values in [-1, 1]), then resized to a fixed square by bilinear interpolation
/// (`align_corners=False`, no antialiasing), whatever the picture's aspect.
///
/// Both steps in one pass: each output pixel reads the four input pixels ``BilinearTap`` names,
/// each normalized through a 256-entry table per channel (the same `Float` arithmetic as
/// normalizing the whole picture first, computed once per byte value), and blends them as
/// ``resizeBilinear(_:height:width:)`` does, so the result equals normalizing, then resizing,
/// bit for bit (a test), without a full-size float copy of the picture. A batch's pictures
/// are spread over ``CPUEngine/threadCount`` threads.
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
        try batch([image])
    }

    /// Several pictures as one batch `[N, resolution, resolution, 3]`.
    ///
    /// - Throws: `TensorError.invalidArgument` for a picture without pixels or whose pixel
    ///   bytes are not width × height × 3.
    public func batch(_ images: [RGBImage]) throws -> Tensor {
        for (index, image) in images.enumerated() where image.width < 1 || image.height < 1 || image.pixels.count != image.width * image.height * 3 {
            throw TensorError.invalidArgument(
                operation: "detection transform", argument: "picture \(index)",
                reason: "\(image.width)x\(image.height) with \(image.pixels.count) bytes (expected width x height x 3, at least 1x1)")
        }
        let side = resolution, perImage = resolution * resolution * 3
        // table[c * 256 + v]: byte v of channel c, normalized.
        let table = (0..<3).flatMap { channel in
            (0..<256).map { (Float($0) / 255 - mean[channel]) / standardDeviation[channel] }
        }
        var output = Tensor(uninitializedShape: [images.count, side, side, 3])
        output.withUnsafeMutableBufferPointer { y in
            nonisolated(unsafe) let base = y.baseAddress!
            let workers = max(1, min(CPUEngine.threadCount, images.count))
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for n in stride(from: worker, to: images.count, by: workers) {
                    Self.resize(images[n], side: side, table: table, into: base + n * perImage)
                }
            }
        }
        return output
    }

    /// `image` normalized through `table` and resized to `side` x `side` into `target` (NHWC).
    private static func resize(_ image: RGBImage, side: Int, table: [Float], into target: UnsafeMutablePointer<Float>) {
        let rows = BilinearTap.taps(input: image.height, output: side)
        let columns = BilinearTap.taps(input: image.width, output: side)
        let stride = image.width * 3
        image.pixels.withUnsafeBufferPointer { pixels in
            table.withUnsafeBufferPointer { table in
                var y = target
                for r in rows {
                    let top = pixels.baseAddress! + r.first * stride, bottom = pixels.baseAddress! + r.second * stride
                    let (h0, h1) = (1 - r.fraction, r.fraction)
                    for c in columns {
                        let (w0, w1) = (1 - c.fraction, c.fraction)
                        let (left, right) = (c.first * 3, c.second * 3)
                        for k in 0..<3 {
                            let channel = k * 256
                            let upper = w0 * table[channel + Int(top[left + k])] + w1 * table[channel + Int(top[right + k])]
                            let lower = w0 * table[channel + Int(bottom[left + k])] + w1 * table[channel + Int(bottom[right + k])]
                            y[k] = upper * h0 + lower * h1
                        }
                        y += 3
                    }
                }
            }
        }
    }
}
