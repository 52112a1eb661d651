import MobileNetData
import MobileNetTensor

/// Detection samples ready for a forward pass: their pictures as one normalized NHWC tensor, and
/// each picture's objects in the tensor's pixels.
public struct DetectionBatch: Sendable {
    /// `[N, height, width, 3]`, normalized (SSDLite's `(pixel / 255 - 0.5) / 0.5`, in -1…1).
    public var images: Tensor
    /// Each picture's objects after augmentation, boxes in the tensor's pixels, in its order.
    public var annotations: [DetectionAnnotation]
    /// The dataset index of each picture.
    public var indices: [Int]
    /// The epoch this batch belongs to.
    public var epoch: Int
    /// Its position within the epoch, from 0: what a checkpoint records to resume after it.
    public var step: Int
    /// Samples of this batch that could not be read and were left out.
    public var skipped: [SkippedSample]

    /// The number of pictures.
    public var count: Int { annotations.count }
}
