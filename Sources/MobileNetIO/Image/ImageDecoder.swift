import Foundation

/// Decodes JPEG and PNG files to 8-bit RGB, matching Pillow's `Image.open(f).convert("RGB")`
/// (followed by `ImageOps.exif_transpose` when orientation is applied).
///
/// The format is chosen by the leading bytes, never by the file name. Bad input of any kind —
/// truncated, corrupt, random or empty bytes, an unknown format, absurd dimensions — gives an
/// ``ImageError``, never a crash. Calls are independent and safe to run from several threads.
///
/// What matches Pillow and what does not:
/// - JPEG decodes with libjpeg-turbo, as Pillow's does, to the same bytes (baseline, progressive,
///   any chroma subsampling, grayscale). CMYK and YCCK JPEGs are converted to RGB with Pillow's
///   formula for (Adobe-inverted) CMYK.
/// - PNG: see `PNGDecoder` — identical to Pillow except 16-bit grayscale, where Pillow clips
///   each sample at 255 and this decoder keeps the high byte.
public enum ImageDecoder {
    /// The most pixels a picture may have (2^28, e.g. 16384 x 16384); larger headers are refused
    /// before any pixel memory is allocated, so a hostile file cannot exhaust memory.
    public static let maximumPixelCount = 1 << 28

    /// The longest side a picture may have: 65,535 pixels, a little more than JPEG's own limit
    /// (65,500), where PNG allows 2^31 - 1. Like ``maximumPixelCount`` it is checked from the
    /// header; it keeps a picture of an absurd aspect ratio (a 100000x1 PNG takes a few dozen
    /// bytes) out of the resizes that follow decoding.
    public static let maximumSide = 65_535

    /// How many times its file's size a picture may decode to (RGB bytes), past the first
    /// ``pixelBudgetFloor`` bytes: 1024, about deflate's own ceiling (1032:1), which only flat,
    /// synthetic pictures approach; photos decode to 5 to 30 times their file. The header of a
    /// 16384 x 16384 PNG fits in a hundred bytes, and decoding it would zero-fill 805 MB.
    public static let maximumExpansion = 1024

    /// RGB bytes any picture may decode to whatever its file's size (64 MiB: a 22-megapixel
    /// photo, a 4736 x 4736 flat PNG of a few kilobytes).
    public static let pixelBudgetFloor = 1 << 26

    /// Reads and decodes the file at `url`.
    ///
    /// - Parameter applyingExifOrientation: turn the picture upright according to its EXIF
    ///   orientation tag (JPEG `APP1`, PNG `eXIf`), as `ImageOps.exif_transpose` does. Pass
    ///   `false` for torchvision's plain `ImageFolder` loading, which ignores the tag.
    public static func decode(contentsOf url: URL, applyingExifOrientation: Bool = true) throws -> RGBImage {
        guard url.isFileURL else {
            throw ImageError.unreadableFile(path: url.absoluteString, reason: "only file URLs are read")
        }
        let data: Data
        do {
            // Read, not memory-mapped: a mapped file that shrinks while being decoded would crash
            // the process, and pictures are small. A FIFO or directory is refused unopened.
            data = try RegularFile.read(url.path)
        } catch .notFound {
            throw ImageError.fileNotFound(path: url.path)
        } catch {
            throw ImageError.unreadableFile(path: url.path, reason: error.reason)
        }
        return try decode(data, source: url.path, applyingExifOrientation: applyingExifOrientation)
    }

    /// Decodes a JPEG or PNG held in memory; `source` names it in errors (a path, a URL, an
    /// archive member).
    public static func decode(_ data: Data, source: String, applyingExifOrientation: Bool = true) throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError.empty(source: source) }
        guard let format = ImageFormat(detecting: data) else {
            if let name = ImageFormat.unsupportedFormatName(of: data) {
                throw ImageError.unsupportedFormat(source: source, format: name)
            }
            throw ImageError.unknownFormat(source: source, leadingBytes: ImageError.hexPrefix(of: data))
        }
        let (image, exif) = try data.withUnsafeBytes { bytes -> (RGBImage, [UInt8]?) in
            switch format {
            case .jpeg:
                let result = try JPEGDecoder.decode(bytes, source: source)
                return (result.image, result.exif)
            case .png:
                let result = try PNGDecoder.decode(bytes, source: source)
                return (result.image, result.exif)
            }
        }
        guard applyingExifOrientation, let exif, let orientation = ExifOrientation(tiff: exif) else {
            return image
        }
        return image.applying(orientation)
    }

    /// Refuses empty and oversized pictures from their header, before decoding: too many pixels
    /// or too long a side for any file, or more RGB bytes than ``maximumExpansion`` times the
    /// `fileSize` bytes they come from (beyond ``pixelBudgetFloor``).
    static func checkDimensions(width: Int, height: Int, fileSize: Int, source: String) throws {
        guard width > 0, height > 0 else {
            throw ImageError.zeroSize(source: source, width: width, height: height)
        }
        guard width <= maximumSide, height <= maximumSide else {
            throw ImageError.sideTooLong(source: source, width: width, height: height, limit: maximumSide)
        }
        guard width * height <= maximumPixelCount else {
            throw ImageError.tooLarge(source: source, width: width, height: height, limit: maximumPixelCount)
        }
        let budget = max(pixelBudgetFloor, fileSize.multipliedReportingOverflow(by: maximumExpansion).partialValue)
        guard width * height * 3 <= budget else {
            throw ImageError.expandsTooFar(
                source: source, width: width, height: height, fileSize: fileSize, limit: maximumExpansion)
        }
    }
}
