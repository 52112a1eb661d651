/// An axis-aligned box in pixels by its corners: (x1, y1) top left, (x2, y2) bottom right, the
/// "xyxy" form torchvision's detection models take and return. A box with x2 ≤ x1 or y2 ≤ y1 is
/// empty.
public struct BoundingBox: Hashable, Sendable, Codable, CustomStringConvertible {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float

    public init(x1: Float, y1: Float, x2: Float, y2: Float) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
    }

    /// The box COCO writes as `[x, y, width, height]`.
    public init(x: Float, y: Float, width: Float, height: Float) {
        self.init(x1: x, y1: y, x2: x + width, y2: y + height)
    }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
    /// Width times height, 0 for an empty box.
    public var area: Float { max(width, 0) * max(height, 0) }
    public var isEmpty: Bool { !(x2 > x1 && y2 > y1) }

    /// Intersection over union, as torchvision's `box_iou`: the overlap's area over the sum of
    /// the areas less the overlap, computed in `Float`; 0 when both are empty.
    public func intersectionOverUnion(_ other: BoundingBox) -> Float {
        let overlap = max(min(x2, other.x2) - max(x1, other.x1), 0) * max(min(y2, other.y2) - max(y1, other.y1), 0)
        let union = (x2 - x1) * (y2 - y1) + (other.x2 - other.x1) * (other.y2 - other.y1) - overlap
        return union > 0 ? overlap / union : 0
    }

    /// The box cut to `[0, width] × [0, height]` (torchvision's `clip_boxes_to_image`).
    public func clipped(width: Float, height: Float) -> BoundingBox {
        BoundingBox(
            x1: min(max(x1, 0), width), y1: min(max(y1, 0), height),
            x2: min(max(x2, 0), width), y2: min(max(y2, 0), height))
    }

    /// The box with x scaled by `sx` and y by `sy` (a resize of the picture).
    public func scaled(x sx: Float, y sy: Float) -> BoundingBox {
        BoundingBox(x1: x1 * sx, y1: y1 * sy, x2: x2 * sx, y2: y2 * sy)
    }

    public var description: String { "[\(x1), \(y1), \(x2), \(y2)]" }
}
