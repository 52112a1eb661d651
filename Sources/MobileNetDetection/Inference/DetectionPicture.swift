import MobileNetIO

/// Detections drawn onto their picture: each box a 2-pixel outline in its class's colour, with a
/// tag above it (inside, at the top edge) showing the label number and the score in a small
/// pixel font. The names behind the numbers are in the text and JSON outputs beside it.
public enum DetectionPicture {
    /// Distinct colours for labels 1, 2, … (repeating after 12).
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
        (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40),
    ]

    public static func color(label: Int) -> (UInt8, UInt8, UInt8) { palette[(max(label, 1) - 1) % palette.count] }

    /// `image` with `detections` drawn on it (boxes in its pixels, highest score drawn last).
    public static func draw(_ detections: [Detection], on image: RGBImage) -> RGBImage {
        var picture = image
        for detection in detections.sorted(by: { $0.score < $1.score }) {
            let color = color(label: detection.label)
            let box = detection.box.clipped(width: Float(image.width - 1), height: Float(image.height - 1))
            let (x1, y1, x2, y2) = (Int(box.x1), Int(box.y1), Int(box.x2), Int(box.y2))
            for thickness in 0..<2 {
                for x in x1...max(x1, x2) {
                    set(&picture, x, y1 + thickness, color)
                    set(&picture, x, y2 - thickness, color)
                }
                for y in y1...max(y1, y2) {
                    set(&picture, x1 + thickness, y, color)
                    set(&picture, x2 - thickness, y, color)
                }
            }
            let text = "\(detection.label) " + String(Int((detection.score * 100).rounded())) + "%"
            // One font pixel per bit up to 400-pixel pictures, two up to 800, and so on.
            let scale = max(1, (min(image.width, image.height) + 399) / 400)
            label(&picture, text, x: x1, y: max(y1 - labelHeight(scale: scale), 0), scale: scale, background: color)
        }
        return picture
    }

    private static func set(_ image: inout RGBImage, _ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
        let offset = (y * image.width + x) * 3
        image.pixels[offset] = color.0
        image.pixels[offset + 1] = color.1
        image.pixels[offset + 2] = color.2
    }

    /// The height of a tag whose font draws each bit as `scale` x `scale` pixels.
    static func labelHeight(scale: Int) -> Int { 5 * scale + 4 }

    /// `text` (digits, space, %) in a 3x5 font, each bit `scale` x `scale` pixels, black on
    /// `background`, with its top-left corner at (`x`, `y`).
    static func label(_ image: inout RGBImage, _ text: String, x: Int, y: Int, scale: Int, background: (UInt8, UInt8, UInt8)) {
        let advance = 4 * scale
        let width = text.count * advance + 2, height = labelHeight(scale: scale)
        for dy in 0..<height { for dx in 0..<width { set(&image, x + dx, y + dy, background) } }
        for (position, character) in text.enumerated() {
            guard let rows = glyphs[character] else { continue }
            for (row, bits) in rows.enumerated() {
                for column in 0..<3 where bits & (0b100 >> column) != 0 {
                    for sy in 0..<scale { for sx in 0..<scale {
                        set(&image, x + 2 + position * advance + column * scale + sx, y + 2 + row * scale + sy, (0, 0, 0))
                    } }
                }
            }
        }
    }

    /// Each glyph as five rows of three bits, top row first.
    static let glyphs: [Character: [UInt8]] = [
        "0": [0b111, 0b101, 0b101, 0b101, 0b111], "1": [0b010, 0b110, 0b010, 0b010, 0b111],
        "2": [0b111, 0b001, 0b111, 0b100, 0b111], "3": [0b111, 0b001, 0b111, 0b001, 0b111],
        "4": [0b101, 0b101, 0b111, 0b001, 0b001], "5": [0b111, 0b100, 0b111, 0b001, 0b111],
        "6": [0b111, 0b100, 0b111, 0b101, 0b111], "7": [0b111, 0b001, 0b010, 0b010, 0b010],
        "8": [0b111, 0b101, 0b111, 0b101, 0b111], "9": [0b111, 0b101, 0b111, 0b001, 0b111],
        "%": [0b101, 0b001, 0b010, 0b100, 0b101], " ": [0, 0, 0, 0, 0],
    ]
}

extension DetectionPicture {
    /// Several pictures with their detections, side by side in rows of `columns`, each scaled to
    /// `side` × `side` (nearest pixel), on a grey ground: the picture `evaluate` writes.
    public static func grid(_ pictures: [(RGBImage, [Detection])], columns: Int = 4, side: Int = 224) -> RGBImage {
        let rows = (pictures.count + columns - 1) / max(columns, 1), gap = 4
        let width = columns * (side + gap) + gap, height = max(rows, 1) * (side + gap) + gap
        var canvas = RGBImage(width: width, height: height, red: 128, green: 128, blue: 128)
        for (index, (image, detections)) in pictures.enumerated() {
            let (sx, sy) = (Float(side) / Float(image.width), Float(side) / Float(image.height))
            let scaled = draw(detections.map { Detection(box: $0.box.scaled(x: sx, y: sy), label: $0.label, score: $0.score) },
                              on: resizedNearest(image, side: side))
            let (left, top) = (gap + index % columns * (side + gap), gap + index / columns * (side + gap))
            for y in 0..<side {
                let target = ((top + y) * width + left) * 3
                canvas.pixels.replaceSubrange(target..<(target + side * 3), with: scaled.pixels[(y * side * 3)..<((y + 1) * side * 3)])
            }
        }
        return canvas
    }

    private static func resizedNearest(_ image: RGBImage, side: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            let sourceY = min(y * image.height / side, image.height - 1)
            for x in 0..<side {
                let sourceX = min(x * image.width / side, image.width - 1)
                for c in 0..<3 { pixels[(y * side + x) * 3 + c] = image.pixels[(sourceY * image.width + sourceX) * 3 + c] }
            }
        }
        return RGBImage(width: side, height: side, pixels: pixels)
    }
}
