/// An 8-bit RGB picture: `height` rows of `width` pixels, each pixel three bytes (red, green,
/// blue), interleaved and row-major, with no padding between rows.
///
/// This is exactly what Pillow's `Image.open(path).convert("RGB")` holds, so decoded pixels and
/// transform results can be compared with PyTorch pipelines byte for byte. The fields are plain
/// stored properties; code that consumes an image (encoders, transforms) checks that
/// `pixels.count == width * height * 3` and throws when it does not.
public struct RGBImage: Hashable, Sendable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes: R, G, B of pixel (0, 0), then (1, 0), … row by row.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture filled with one color.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        self.width = width
        self.height = height
        let count = Self.byteCount(width: width, height: height) ?? 0
        pixels = (0..<count).map { index in
            switch index % 3 {
            case 0: red
            case 1: green
            default: blue
            }
        }
    }

    /// The number of pixels, `width * height`.
    public var pixelCount: Int { width * height }

    /// Whether both sides are positive and `pixels` holds exactly three bytes per pixel.
    public var isWellFormed: Bool {
        guard width > 0, height > 0, let bytes = Self.byteCount(width: width, height: height) else { return false }
        return pixels.count == bytes
    }

    /// `width * height * 3`, or `nil` when a side is negative or the product overflows.
    public static func byteCount(width: Int, height: Int) -> Int? {
        guard width >= 0, height >= 0 else { return nil }
        let (pixels, pixelOverflow) = width.multipliedReportingOverflow(by: height)
        let (bytes, byteOverflow) = pixels.multipliedReportingOverflow(by: 3)
        return pixelOverflow || byteOverflow ? nil : bytes
    }

    /// The color at column `x`, row `y` (both from the top-left corner).
    public subscript(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let offset = (y * width + x) * 3
            return (pixels[offset], pixels[offset + 1], pixels[offset + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
            let offset = (y * width + x) * 3
            pixels[offset] = newValue.red
            pixels[offset + 1] = newValue.green
            pixels[offset + 2] = newValue.blue
        }
    }
}

extension RGBImage: CustomStringConvertible {
    public var description: String { "RGBImage(\(width)x\(height))" }
}
