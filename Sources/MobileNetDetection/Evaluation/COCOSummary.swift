import Foundation

/// The 12 numbers of pycocotools' `COCOeval.summarize()` for boxes (`stats`), each with what it
/// averages, and the table pycocotools prints as ``description``. A number is -1 where
/// pycocotools gives -1: no category has ground truth in its area range.
public struct COCOSummary: Hashable, Sendable, CustomStringConvertible {
    /// One line of the table.
    public struct Metric: Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Hashable, Sendable {
            case averagePrecision
            case averageRecall
        }

        public let kind: Kind
        /// One IoU threshold, or nil for the mean over 0.50:0.95.
        public let iouThreshold: Double?
        /// The area range's label: "all", "small", "medium" or "large".
        public let area: String
        public let maxDetections: Int
        public let value: Double

        /// pycocotools' line, e.g.
        /// ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.303`.
        public var description: String {
            let title = kind == .averagePrecision ? "Average Precision" : "Average Recall"
            let type = kind == .averagePrecision ? "(AP)" : "(AR)"
            let iou = iouThreshold.map { String(format: "%0.2f", $0) }
                ?? String(format: "%0.2f:%0.2f", COCOEvaluationParameters.boundingBox.iouThresholds.first ?? 0,
                          COCOEvaluationParameters.boundingBox.iouThresholds.last ?? 0)
            return " \(title.padding(toLength: 18, withPad: " ", startingAt: 0)) \(type) @[ IoU="
                + "\(iou.padding(toLength: 9, withPad: " ", startingAt: 0)) | area=\(leftPadded(area, 6)) | "
                + "maxDets=\(leftPadded(String(maxDetections), 3)) ] = \(String(format: "%0.3f", value))"
        }

        private func leftPadded(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(width - text.count, 0)) + text
        }
    }

    /// The 12 lines in pycocotools' order.
    public let metrics: [Metric]

    /// `COCOeval.stats`.
    public var stats: [Double] { metrics.map(\.value) }

    /// AP over IoU 0.50:0.95, all areas, 100 detections: "the" COCO mAP.
    public var averagePrecision: Double { metrics[0].value }
    public var averagePrecision50: Double { metrics[1].value }
    public var averagePrecision75: Double { metrics[2].value }
    public var averagePrecisionSmall: Double { metrics[3].value }
    public var averagePrecisionMedium: Double { metrics[4].value }
    public var averagePrecisionLarge: Double { metrics[5].value }
    public var averageRecall1: Double { metrics[6].value }
    public var averageRecall10: Double { metrics[7].value }
    public var averageRecall100: Double { metrics[8].value }
    public var averageRecallSmall: Double { metrics[9].value }
    public var averageRecallMedium: Double { metrics[10].value }
    public var averageRecallLarge: Double { metrics[11].value }

    /// `_summarizeDets`: each number found as pycocotools finds it, the IoU threshold by
    /// equality with the parameters' (so 0.5 and 0.75 must be exactly there), the area range
    /// by label, the limit by value.
    init(parameters: COCOEvaluationParameters, means: COCOEvaluation.Means) {
        let limits = parameters.maxDetections
        let lines: [(Metric.Kind, Double?, String, Int)] = [
            (.averagePrecision, nil, "all", limits[2]), (.averagePrecision, 0.5, "all", limits[2]),
            (.averagePrecision, 0.75, "all", limits[2]), (.averagePrecision, nil, "small", limits[2]),
            (.averagePrecision, nil, "medium", limits[2]), (.averagePrecision, nil, "large", limits[2]),
            (.averageRecall, nil, "all", limits[0]), (.averageRecall, nil, "all", limits[1]),
            (.averageRecall, nil, "all", limits[2]), (.averageRecall, nil, "small", limits[2]),
            (.averageRecall, nil, "medium", limits[2]), (.averageRecall, nil, "large", limits[2]),
        ]
        metrics = lines.map { kind, iou, label, limit in
            let thresholds = parameters.iouThresholds.indices.filter { iou == nil || parameters.iouThresholds[$0] == iou }
            var value = -1.0
            if let area = parameters.areaRanges.firstIndex(where: { $0.label == label }),
                let maxDetections = limits.firstIndex(of: limit)
            {
                value = kind == .averagePrecision
                    ? means.precision(thresholds: thresholds, area: area, maxDetections: maxDetections)
                    : means.recall(thresholds: thresholds, area: area, maxDetections: maxDetections)
            }
            return Metric(kind: kind, iouThreshold: iou, area: label, maxDetections: limit, value: value)
        }
    }

    public var description: String { metrics.map(\.description).joined(separator: "\n") }
}
