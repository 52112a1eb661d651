/// The settings of pycocotools' `COCOeval` for `iouType="bbox"` (its `Params.setDetParams`),
/// with the thresholds computed as its `np.linspace` computes them: equality with 0.5 and 0.75
/// is how `summarize` finds AP50 and AP75, and the ninth IoU threshold is
/// 0.8999999999999999, not 0.9.
public struct COCOEvaluationParameters: Hashable, Sendable {
    /// A named range of object areas, both ends included: an area of exactly 32² is both small
    /// and medium.
    public struct AreaRange: Hashable, Sendable {
        public let label: String
        public let lowerBound: Double
        public let upperBound: Double

        func contains(_ area: Double) -> Bool { !(area < lowerBound || area > upperBound) }
    }

    /// 0.50, 0.55, …, 0.95: ten thresholds on the IoU for a match.
    public let iouThresholds: [Double]
    /// 0, 0.01, …, 1: the 101 recalls at which precision is sampled.
    public let recallThresholds: [Double]
    /// 1, 10, 100: the most detections of one category kept on one image. pycocotools applies
    /// the limit per image and category, not per image.
    public let maxDetections: [Int]
    /// all, small (below 32²), medium (32² to 96²), large (above 96²), up to 1e5².
    public let areaRanges: [AreaRange]

    /// COCO's defaults for box detection.
    public static let boundingBox = COCOEvaluationParameters(
        iouThresholds: numpyLinspace(from: 0.5, through: 0.95, count: Int(((0.95 - 0.5) / 0.05).rounded(.toNearestOrEven)) + 1),
        recallThresholds: numpyLinspace(from: 0, through: 1, count: Int(((1.0 - 0.0) / 0.01).rounded(.toNearestOrEven)) + 1),
        maxDetections: [1, 10, 100],
        areaRanges: [
            AreaRange(label: "all", lowerBound: 0, upperBound: 1e5 * 1e5),
            AreaRange(label: "small", lowerBound: 0, upperBound: 32 * 32),
            AreaRange(label: "medium", lowerBound: 32 * 32, upperBound: 96 * 96),
            AreaRange(label: "large", lowerBound: 96 * 96, upperBound: 1e5 * 1e5),
        ])
}

/// `np.linspace(start, stop, count, endpoint=True)` in float64: `i * step + start` with
/// `step = (stop - start) / (count - 1)`, the last value `stop` itself.
func numpyLinspace(from start: Double, through stop: Double, count: Int) -> [Double] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (stop - start) / Double(count - 1)
    var values = (0..<count).map { Double($0) * step + start }
    values[count - 1] = stop
    return values
}
