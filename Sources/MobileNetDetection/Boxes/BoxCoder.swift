import Foundation

/// The offsets a detector regresses instead of raw corners (Girshick et al.'s R-CNN coding,
/// torchvision's `BoxCoder`): for a box against an anchor of centre (x_a, y_a) and size w_a × h_a,
/// (w_x (x - x_a) / w_a, w_y (y - y_a) / h_a, w_w log(w / w_a), w_h log(h / h_a)). SSD's weights
/// are (10, 10, 5, 5).
public struct BoxCoder: Hashable, Sendable {
    public var weights: (x: Float, y: Float, width: Float, height: Float)
    /// The largest log-scale decoded, log(1000 / 16): no box grows beyond 62.5 times its anchor.
    public var scaleClip: Float = Float(Foundation.log(1000.0 / 16))

    public init(weights: (x: Float, y: Float, width: Float, height: Float) = (10, 10, 5, 5)) {
        self.weights = weights
    }

    public static func == (lhs: BoxCoder, rhs: BoxCoder) -> Bool {
        lhs.weights == rhs.weights && lhs.scaleClip == rhs.scaleClip
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(weights.x)
        hasher.combine(weights.y)
        hasher.combine(weights.width)
        hasher.combine(weights.height)
    }

    /// The offsets of `box` against `anchor` (torchvision's `encode_boxes`).
    public func encode(_ box: BoundingBox, anchor: BoundingBox) -> (Float, Float, Float, Float) {
        let anchorWidth = anchor.x2 - anchor.x1, anchorHeight = anchor.y2 - anchor.y1
        let anchorX = anchor.x1 + 0.5 * anchorWidth, anchorY = anchor.y1 + 0.5 * anchorHeight
        let width = box.x2 - box.x1, height = box.y2 - box.y1
        let x = box.x1 + 0.5 * width, y = box.y1 + 0.5 * height
        return (
            weights.x * (x - anchorX) / anchorWidth, weights.y * (y - anchorY) / anchorHeight,
            weights.width * Foundation.log(width / anchorWidth), weights.height * Foundation.log(height / anchorHeight)
        )
    }

    /// The box that `offsets` code against `anchor` (torchvision's `decode_single`).
    public func decode(_ offsets: (Float, Float, Float, Float), anchor: BoundingBox) -> BoundingBox {
        let width = anchor.x2 - anchor.x1, height = anchor.y2 - anchor.y1
        let centerX = anchor.x1 + 0.5 * width, centerY = anchor.y1 + 0.5 * height
        let dx = offsets.0 / weights.x, dy = offsets.1 / weights.y
        let dw = min(offsets.2 / weights.width, scaleClip), dh = min(offsets.3 / weights.height, scaleClip)
        let predictedX = dx * width + centerX, predictedY = dy * height + centerY
        let halfWidth = 0.5 * (Foundation.exp(dw) * width), halfHeight = 0.5 * (Foundation.exp(dh) * height)
        return BoundingBox(
            x1: predictedX - halfWidth, y1: predictedY - halfHeight, x2: predictedX + halfWidth, y2: predictedY + halfHeight)
    }
}
