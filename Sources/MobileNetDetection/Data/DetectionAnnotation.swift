/// The objects of one picture, known without its pixels: what a detector is trained to find and
/// what an evaluation compares detections with.
///
/// The arrays run in parallel, one entry per object: `boxes[i]` is object `i`'s box (corner form,
/// pixels of a `width` x `height` picture), `labels[i]` its label (1…K; 0 is the background and
/// never an object's), `isCrowd[i]` whether it marks a crowd (COCO's `iscrowd: 1`: SSD's training
/// ignores crowd boxes, COCO's evaluation uses them to forgive detections), and `areas[i]` its area
/// as COCO states it (the segmentation's, which COCO's evaluation ranks objects by into small,
/// medium and large), or the box's where the file gives none.
public struct DetectionAnnotation: Hashable, Sendable {
    /// The picture's id: COCO's `image_id`, which evaluation reports detections under.
    public var imageID: Int
    public var width: Int
    public var height: Int
    public var boxes: [BoundingBox]
    public var labels: [Int]
    public var isCrowd: [Bool]
    public var areas: [Float]

    /// - Parameters:
    ///   - isCrowd: `nil` for no crowds.
    ///   - areas: `nil` for each box's own area.
    public init(
        imageID: Int, width: Int, height: Int, boxes: [BoundingBox], labels: [Int], isCrowd: [Bool]? = nil, areas: [Float]? = nil
    ) {
        precondition(labels.count == boxes.count, "DetectionAnnotation: \(boxes.count) boxes but \(labels.count) labels")
        precondition(isCrowd.map { $0.count == boxes.count } ?? true, "DetectionAnnotation: crowd flags do not match the boxes")
        precondition(areas.map { $0.count == boxes.count } ?? true, "DetectionAnnotation: areas do not match the boxes")
        self.imageID = imageID
        self.width = width
        self.height = height
        self.boxes = boxes
        self.labels = labels
        self.isCrowd = isCrowd ?? [Bool](repeating: false, count: boxes.count)
        self.areas = areas ?? boxes.map(\.area)
    }

    /// The number of objects.
    public var count: Int { boxes.count }

    /// Only the objects at `indices`, in that order.
    public func keeping(_ indices: some Sequence<Int>) -> DetectionAnnotation {
        var kept = self
        kept.boxes = []
        kept.labels = []
        kept.isCrowd = []
        kept.areas = []
        for index in indices {
            kept.boxes.append(boxes[index])
            kept.labels.append(labels[index])
            kept.isCrowd.append(isCrowd[index])
            kept.areas.append(areas[index])
        }
        return kept
    }
}
