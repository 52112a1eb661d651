import Foundation
import MobileNetIO

/// The loss and accuracy curves of a run as an SVG picture: two panels side by side, epochs
/// along the bottom, training solid and validation dashed. A detector's right panel shows the
/// matched anchors' accuracy in training and the held-out AP50.
///
/// ```swift
/// try TrainingCurves.write(history, title: "MobileNetV2 on Fashion-MNIST", to: output.appendingPathComponent("curves.svg"))
/// ```
///
/// Points that are not finite (a diverged loss) are left out of the lines.
public enum TrainingCurves {
    static let trainColor = "#1f77b4"
    static let validationColor = "#ff7f0e"

    /// The SVG text.
    public static func svg(_ records: [EpochMetrics], title: String) -> String {
        let panelWidth = 420.0, panelHeight = 300.0
        var canvas = SVGCanvas(width: panelWidth * 2 + 60, height: panelHeight + 110)
        canvas.text(title, at: (canvas.width / 2, 24), size: 16, anchor: .middle, bold: true)
        let epochs = records.map { Double($0.epoch) }
        panel(&canvas, origin: (60, 50), size: (panelWidth - 50, panelHeight - 40), name: "loss", epochs: epochs,
              train: records.map(\.trainLoss), validation: records.map { $0.validationLoss ?? .nan }, percent: false)
        let detection = records.contains(where: \.isDetection), segmentation = records.contains(where: \.isSegmentation)
        panel(&canvas, origin: (panelWidth + 90, 50), size: (panelWidth - 50, panelHeight - 40),
              name: detection ? "anchor accuracy, validation AP50 (%)" : segmentation ? "pixel accuracy, validation mean IoU (%)" : "accuracy (%)",
              epochs: epochs, train: records.map { $0.trainAccuracy * 100 },
              validation: records.map { ((detection ? $0.averagePrecision50 : segmentation ? $0.meanIoU : $0.validationAccuracy) ?? .nan) * 100 },
              percent: true)
        // The legend, once for both panels.
        let legendY = panelHeight + 80
        canvas.line(from: (canvas.width / 2 - 150, legendY), to: (canvas.width / 2 - 120, legendY), stroke: trainColor, width: 2)
        canvas.text("training", at: (canvas.width / 2 - 114, legendY + 4))
        canvas.line(from: (canvas.width / 2 + 10, legendY), to: (canvas.width / 2 + 40, legendY), stroke: validationColor, width: 2, dashed: true)
        canvas.text("validation", at: (canvas.width / 2 + 46, legendY + 4))
        if let last = records.last {
            let summary = "epoch \(last.epoch): loss \(format(last.trainLoss))"
                + (last.validationAccuracy.map { ", validation accuracy \(String(format: "%.2f", $0 * 100)) %" } ?? "")
                + (last.averagePrecision50.map { ", validation AP50 \(String(format: "%.1f", $0 * 100)) %" } ?? "")
                + (last.averagePrecision.map { ", AP \(String(format: "%.1f", $0 * 100)) %" } ?? "")
                + (last.meanIoU.map { ", mean IoU \(String(format: "%.1f", $0 * 100)) %" } ?? "")
            canvas.text(summary, at: (canvas.width / 2, legendY + 24), size: 11, anchor: .middle, fill: "#555")
        }
        return canvas.document
    }

    /// Writes the SVG atomically.
    public static func write(_ records: [EpochMetrics], title: String, to url: URL) throws {
        try AtomicFile.write(Data(svg(records, title: title).utf8), to: url)
    }

    private static func panel(
        _ canvas: inout SVGCanvas, origin: (Double, Double), size: (Double, Double), name: String, epochs: [Double],
        train: [Double], validation: [Double], percent: Bool
    ) {
        let (left, top) = origin
        let (width, height) = size
        let values = (train + validation).filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if percent { high = min(100, high) }
        if high - low < 1e-9 { (low, high) = (low - 0.5, high + 0.5) }
        let yTicks = ticks(from: low, to: high)
        let yLow = yTicks.first!, yHigh = yTicks.last!
        let xLow = epochs.first ?? 1, xHigh = max(epochs.last ?? 1, xLow + 1)
        func x(_ epoch: Double) -> Double { left + (epoch - xLow) / (xHigh - xLow) * width }
        func y(_ value: Double) -> Double { top + height - (value - yLow) / (yHigh - yLow) * height }

        canvas.rectangle(x: left, y: top, width: width, height: height, fill: "none", stroke: "#999")
        for tick in yTicks {
            canvas.line(from: (left, y(tick)), to: (left + width, y(tick)), stroke: "#e5e5e5")
            canvas.text(format(tick), at: (left - 6, y(tick) + 4), size: 10, anchor: .end)
        }
        for tick in ticks(from: xLow, to: xHigh, integers: true) where tick >= xLow && tick <= xHigh {
            canvas.line(from: (x(tick), top + height), to: (x(tick), top + height + 4), stroke: "#999")
            canvas.text(format(tick), at: (x(tick), top + height + 16), size: 10, anchor: .middle)
        }
        canvas.text("epoch", at: (left + width / 2, top + height + 32), size: 11, anchor: .middle)
        canvas.text(name, at: (left + width / 2, top - 8), size: 13, anchor: .middle, bold: true)
        for (series, color, dashed) in [(train, trainColor, false), (validation, validationColor, true)] {
            let points = zip(epochs, series).filter { $0.1.isFinite }.map { (x($0.0), y($0.1)) }
            if points.count > 1 { canvas.polyline(points, stroke: color, dashed: dashed) }
            for point in points { canvas.circle(at: point, radius: 2.5, fill: color) }
        }
    }

    /// About five round tick values covering `low…high` (steps of 1, 2 or 5 times a power of ten).
    static func ticks(from low: Double, to high: Double, integers: Bool = false) -> [Double] {
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        if integers { step = max(1, step.rounded()) }
        let first = floor(low / step) * step
        var result: [Double] = []
        var value = first
        while value < high + step * 0.999 && result.count < 50 {
            result.append(value)
            value = first + Double(result.count) * step
        }
        return result.count >= 2 ? result : [first, first + step]
    }

    /// Up to four significant digits, no exponent for ordinary values.
    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }
}
