/// A box as COCO writes it, `[x, y, width, height]` in pixels from the top left corner, in
/// `Double` as pycocotools reads its JSON.
public struct COCOBox: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// The corner-form box in COCO's form, its width and height taken in `Float` before
    /// widening, as torchvision's `convert_to_coco_api` and result writers do
    /// (`boxes[:, 2:] -= boxes[:, :2]` on a float32 tensor).
    public init(_ box: BoundingBox) {
        self.init(x: Double(box.x1), y: Double(box.y1), width: Double(box.x2 - box.x1), height: Double(box.y2 - box.y1))
    }

    /// Width times height: the area pycocotools gives a detection (`loadRes`), and the one its
    /// IoU uses for both boxes, whatever an annotation's `area` says.
    public var area: Double { width * height }

    /// Every coordinate finite, width and height not negative.
    var isValid: Bool {
        x.isFinite && y.isFinite && width.isFinite && height.isFinite && width >= 0 && height >= 0
    }

    /// The overlap of this detection with a ground-truth box as pycocotools' `bbIou`
    /// (`maskApi.c`) computes it: the intersection over the union, or, for a crowd region, over
    /// the detection's own area, so that a detection inside a crowd overlaps it fully however
    /// large the crowd is. 0 when the boxes do not overlap with positive width and height.
    public func intersectionOverUnion(groundTruth: COCOBox, isCrowd: Bool) -> Double {
        let overlapWidth = min(x + width, groundTruth.x + groundTruth.width) - max(x, groundTruth.x)
        if overlapWidth <= 0 { return 0 }
        let overlapHeight = min(y + height, groundTruth.y + groundTruth.height) - max(y, groundTruth.y)
        if overlapHeight <= 0 { return 0 }
        let intersection = overlapWidth * overlapHeight
        let union = isCrowd ? area : area + groundTruth.area - intersection
        return intersection / union
    }

    /// COCO's JSON form: `[x, y, width, height]`.
    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        if let count = container.count, count != 4 {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a COCO box has 4 numbers [x, y, width, height], found \(count)")
        }
        self.init(
            x: try container.decode(Double.self), y: try container.decode(Double.self),
            width: try container.decode(Double.self), height: try container.decode(Double.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(contentsOf: [x, y, width, height])
    }

    public var description: String { "[\(x), \(y), \(width), \(height)]" }
}
