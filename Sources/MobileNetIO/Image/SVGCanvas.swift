import Foundation

/// A few SVG elements written as text: enough for line charts, bar charts and a labelled grid,
/// readable when opened in an editor, and with no dependency.
public struct SVGCanvas {
    public let width: Double
    public let height: Double
    private var elements: [String] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    public mutating func rectangle(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil) {
        let outline = stroke.map { " stroke=\"\($0)\"" } ?? ""
        elements.append("<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"\(fill)\"\(outline)/>")
    }

    public mutating func line(from start: (Double, Double), to end: (Double, Double), stroke: String, width: Double = 1, dashed: Bool = false) {
        let dash = dashed ? " stroke-dasharray=\"6 4\"" : ""
        elements.append("<line x1=\"\(Self.number(start.0))\" y1=\"\(Self.number(start.1))\" x2=\"\(Self.number(end.0))\" y2=\"\(Self.number(end.1))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\"\(dash)/>")
    }

    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dashed: Bool = false) {
        let coordinates = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        let dash = dashed ? " stroke-dasharray=\"6 4\"" : ""
        elements.append("<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\"\(dash)/>")
    }

    public mutating func circle(at center: (Double, Double), radius: Double, fill: String, opacity: Double = 1) {
        let translucent = opacity < 1 ? " fill-opacity=\"\(Self.number(opacity))\"" : ""
        elements.append("<circle cx=\"\(Self.number(center.0))\" cy=\"\(Self.number(center.1))\" r=\"\(Self.number(radius))\" fill=\"\(fill)\"\(translucent)/>")
    }

    public enum Anchor: String {
        case start, middle, end
    }

    public mutating func text(
        _ content: String, at point: (Double, Double), size: Double = 12, anchor: Anchor = .start, fill: String = "#222",
        bold: Bool = false, rotation: Double = 0
    ) {
        let weight = bold ? " font-weight=\"bold\"" : ""
        let rotate = rotation != 0 ? " transform=\"rotate(\(Self.number(rotation)) \(Self.number(point.0)) \(Self.number(point.1)))\"" : ""
        elements.append("<text x=\"\(Self.number(point.0))\" y=\"\(Self.number(point.1))\" font-size=\"\(Self.number(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(fill)\"\(weight)\(rotate)>\(Self.escape(content))</text>")
    }

    /// The whole document.
    public var document: String {
        var lines = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"Helvetica, Arial, sans-serif\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
        ]
        lines += elements
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Coordinates with at most two decimals, trailing zeros dropped: short, stable text.
    public static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
