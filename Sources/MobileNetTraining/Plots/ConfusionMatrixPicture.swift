import Foundation
import MobileNetIO

/// Pictures of a ``ConfusionMatrix``: an SVG with class names and counts, and a plain PNG heat
/// map. Rows are the true classes, columns the predictions; a cell's shade is its share of the
/// row, so a perfect classifier is a dark diagonal.
public enum ConfusionMatrixPicture {
    /// The SVG text: names along both axes, each cell's count, each row's accuracy on the right.
    public static func svg(_ matrix: ConfusionMatrix, classNames: [String], title: String = "Confusion matrix") -> String {
        let classes = matrix.classCount
        let names = (0..<classes).map { $0 < classNames.count ? classNames[$0] : "class \($0)" }
        let cell = classes > 30 ? 14.0 : 40.0
        let labelWidth = 12 + 7 * Double(names.map(\.count).max() ?? 5)
        let left = labelWidth + 30, top = labelWidth + 70
        var canvas = SVGCanvas(width: left + Double(classes) * cell + 90, height: top + Double(classes) * cell + 50)
        canvas.text(
            "\(title): accuracy \(String(format: "%.2f", matrix.accuracy * 100)) % of \(matrix.total)",
            at: (canvas.width / 2, 24), size: 15, anchor: .middle, bold: true)
        canvas.text("predicted", at: (left + Double(classes) * cell / 2, 50), size: 12, anchor: .middle, bold: true)
        canvas.text("true", at: (16, top + Double(classes) * cell / 2), size: 12, anchor: .middle, bold: true, rotation: -90)
        canvas.text("per class", at: (left + Double(classes) * cell + 8, top - 6), size: 10, bold: true)
        let rows = matrix.samplesPerClass
        for actual in 0..<classes {
            let y = top + Double(actual) * cell
            canvas.text(names[actual], at: (left - 6, y + cell / 2 + 4), size: 11, anchor: .end)
            for predicted in 0..<classes {
                let count = matrix[actual, predicted]
                let share = rows[actual] == 0 ? 0 : Double(count) / Double(rows[actual])
                let color = shade(share)
                let x = left + Double(predicted) * cell
                canvas.rectangle(x: x, y: y, width: cell, height: cell, fill: hex(color), stroke: "#ddd")
                if classes <= 30 && count > 0 {
                    canvas.text(String(count), at: (x + cell / 2, y + cell / 2 + 4), size: 10, anchor: .middle,
                                fill: share > 0.5 ? "white" : "#222")
                }
            }
            let accuracy = matrix.perClassAccuracy[actual].map { String(format: "%.1f %%", $0 * 100) } ?? "–"
            canvas.text(accuracy, at: (left + Double(classes) * cell + 8, y + cell / 2 + 4), size: 10)
        }
        for predicted in 0..<classes {
            let x = left + Double(predicted) * cell + cell / 2 + 4
            canvas.text(names[predicted], at: (x, top - 6), size: 11, rotation: -60)
        }
        return canvas.document
    }

    /// A heat map with `cellSize` pixels per cell and one-pixel grey lines between cells.
    public static func image(_ matrix: ConfusionMatrix, cellSize: Int = 24) -> RGBImage {
        let classes = matrix.classCount
        let side = classes * cellSize + 1
        var image = RGBImage(width: side, height: side, red: 200, green: 200, blue: 200)
        let rows = matrix.samplesPerClass
        for actual in 0..<classes {
            for predicted in 0..<classes {
                let share = rows[actual] == 0 ? 0 : Double(matrix[actual, predicted]) / Double(rows[actual])
                let color = shade(share)
                for y in (actual * cellSize + 1)..<((actual + 1) * cellSize) {
                    for x in (predicted * cellSize + 1)..<((predicted + 1) * cellSize) { image[x, y] = color }
                }
            }
        }
        return image
    }

    /// Writes the SVG (`.svg`) or the PNG heat map (any other extension) atomically.
    public static func write(_ matrix: ConfusionMatrix, classNames: [String], to url: URL) throws {
        if url.pathExtension.lowercased() == "svg" {
            try AtomicFile.write(Data(svg(matrix, classNames: classNames).utf8), to: url)
        } else {
            try AtomicFile.write(PNGEncoder.encode(image(matrix)), to: url)
        }
    }

    /// White at 0, a dark blue at 1.
    static func shade(_ share: Double) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let t = min(max(share, 0), 1)
        func mix(_ from: Double, _ to: Double) -> UInt8 { UInt8((from + (to - from) * t).rounded()) }
        return (mix(255, 8), mix(255, 48), mix(255, 107))
    }

    static func hex(_ color: (red: UInt8, green: UInt8, blue: UInt8)) -> String {
        "#" + [color.red, color.green, color.blue].map { String(format: "%02x", $0) }.joined()
    }
}
