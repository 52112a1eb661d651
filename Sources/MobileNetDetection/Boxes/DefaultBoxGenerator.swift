import Foundation

/// SSD's default boxes ("anchors"), as torchvision's `DefaultBoxGenerator` makes them.
///
/// Feature map k of m gets the scale s_k = min + (max - min) · k / (m - 1) (and s_m = 1), and at
/// every cell, centred at ((i + ½) / w, (j + ½) / h), boxes of width × height s_k × s_k,
/// √(s_k s_k+1) squared, and s_k√a × s_k/√a and its transpose for each aspect ratio a; with
/// `clip`, sides are cut to [0, 1] before the boxes are placed. SSDLite uses aspect ratios
/// [2, 3] on all six maps (six boxes per cell), min 0.2 and max 0.95.
public struct DefaultBoxGenerator: Hashable, Sendable {
    public var aspectRatios: [[Double]]
    public var scales: [Double]
    public var clip: Bool

    public init(aspectRatios: [[Double]], minRatio: Double = 0.15, maxRatio: Double = 0.9, clip: Bool = true) {
        self.aspectRatios = aspectRatios
        let count = aspectRatios.count
        if count > 1 {
            let range = maxRatio - minRatio
            scales = (0..<count).map { (k: Int) -> Double in minRatio + range * Double(k) / (Double(count) - 1) } + [1]
        } else {
            scales = [minRatio, maxRatio]
        }
        self.clip = clip
    }

    /// SSDLite's: [[2, 3]] on six maps, scales from 0.2 to 0.95.
    public static let ssdLite = DefaultBoxGenerator(aspectRatios: Array(repeating: [2, 3], count: 6), minRatio: 0.2, maxRatio: 0.95)

    /// Boxes per cell on each map: 2 + 2 per aspect ratio.
    public var anchorsPerLocation: [Int] { aspectRatios.map { 2 + 2 * $0.count } }

    /// The (width, height) pairs of map `k`, relative to the image, in float as torchvision
    /// holds them.
    func sizes(ofMap k: Int) -> [(width: Float, height: Float)] {
        let scale = scales[k], next = (scales[k] * scales[k + 1]).squareRoot()
        var pairs: [(Double, Double)] = [(scale, scale), (next, next)]
        for ratio in aspectRatios[k] {
            let root = ratio.squareRoot()
            pairs += [(scale * root, scale / root), (scale / root, scale * root)]
        }
        return pairs.map { pair in
            let (width, height) = (Float(pair.0), Float(pair.1))
            return clip ? (min(max(width, 0), 1), min(max(height, 0), 1)) : (width, height)
        }
    }

    /// Every default box in pixels of an image `imageWidth` × `imageHeight`, for maps of
    /// `gridSizes` (height, width), in the head's order: map, then cell row by row, then box.
    public func anchors(gridSizes: [(height: Int, width: Int)], imageWidth: Int, imageHeight: Int) -> [BoundingBox] {
        precondition(gridSizes.count == aspectRatios.count, "one grid size per map")
        var boxes: [BoundingBox] = []
        boxes.reserveCapacity(zip(gridSizes, anchorsPerLocation).reduce(0) { $0 + $1.0.height * $1.0.width * $1.1 })
        let (width, height) = (Float(imageWidth), Float(imageHeight))
        for (k, grid) in gridSizes.enumerated() {
            let pairs = sizes(ofMap: k)
            for row in 0..<grid.height {
                let centerY = (Float(row) + 0.5) / Float(grid.height)
                for column in 0..<grid.width {
                    let centerX = (Float(column) + 0.5) / Float(grid.width)
                    for pair in pairs {
                        boxes.append(BoundingBox(
                            x1: (centerX - 0.5 * pair.width) * width, y1: (centerY - 0.5 * pair.height) * height,
                            x2: (centerX + 0.5 * pair.width) * width, y2: (centerY + 0.5 * pair.height) * height))
                    }
                }
            }
        }
        return boxes
    }
}
