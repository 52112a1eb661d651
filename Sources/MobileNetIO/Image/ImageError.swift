/// A picture could not be read, decoded or encoded.
///
/// Every case names the file (or the caller's `source` label for in-memory data) and says what
/// was expected and what was found, so one line is enough to act on it.
public enum ImageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No file exists at the path.
    case fileNotFound(path: String)
    /// The file exists but could not be read (a directory, no permission, an I/O error).
    case unreadableFile(path: String, reason: String)
    /// The file could not be written (a missing folder, no permission, a full disk).
    case unwritableFile(path: String, reason: String)
    /// The data holds no bytes at all.
    case empty(source: String)
    /// The leading bytes match no known picture format.
    case unknownFormat(source: String, leadingBytes: String)
    /// A known picture format that this package does not decode (GIF, WebP, …).
    case unsupportedFormat(source: String, format: String)
    /// The data ends before the picture does; `message` is the decoding library's.
    case truncated(source: String, format: ImageFormat, message: String)
    /// The data is not a valid picture of its format; `message` is the decoding library's.
    case corrupt(source: String, format: ImageFormat, message: String)
    /// The header announces more pixels than ``ImageDecoder/maximumPixelCount``; refused before
    /// any pixel memory is allocated.
    case tooLarge(source: String, width: Int, height: Int, limit: Int)
    /// The header announces a side longer than ``ImageDecoder/maximumSide``; refused before
    /// any pixel memory is allocated.
    case sideTooLong(source: String, width: Int, height: Int, limit: Int)
    /// The header announces more RGB bytes than ``ImageDecoder/maximumExpansion`` times the
    /// file's `fileSize` (and more than ``ImageDecoder/pixelBudgetFloor``): a tiny file claiming
    /// a huge picture, refused before any pixel memory is allocated.
    case expandsTooFar(source: String, width: Int, height: Int, fileSize: Int, limit: Int)
    /// The header announces a picture with no pixels.
    case zeroSize(source: String, width: Int, height: Int)
    /// An ``RGBImage`` whose byte count does not match its size (or whose size is not positive).
    case malformedImage(source: String, width: Int, height: Int, byteCount: Int)
    /// The encoder failed; `message` is the encoding library's.
    case encodingFailed(format: ImageFormat, message: String)

    /// One line: control characters in paths or library messages are escaped.
    public var description: String {
        text.escapingControlCharacters
    }

    private var text: String {
        switch self {
        case let .fileNotFound(path):
            "\(path): no such file"
        case let .unreadableFile(path, reason):
            "\(path): cannot read the file: \(reason)"
        case let .unwritableFile(path, reason):
            "\(path): cannot write the file: \(reason)"
        case let .empty(source):
            "\(source): expected a JPEG or PNG picture, found an empty file"
        case let .unknownFormat(source, leadingBytes):
            "\(source): expected a JPEG (FF D8 FF) or PNG (89 50 4E 47 0D 0A 1A 0A) signature, found \(leadingBytes)"
        case let .unsupportedFormat(source, format):
            "\(source): \(format) pictures are not supported; convert it to JPEG or PNG"
        case let .truncated(source, format, message):
            "\(source): truncated \(format): the data ends before the picture does (\(message))"
        case let .corrupt(source, format, message):
            "\(source): corrupt \(format): \(message)"
        case let .tooLarge(source, width, height, limit):
            "\(source): \(width)x\(height) is \(width * height) pixels, more than the limit of \(limit)"
        case let .sideTooLong(source, width, height, limit):
            "\(source): \(width)x\(height) has a side longer than the limit of \(limit) pixels"
        case let .expandsTooFar(source, width, height, fileSize, limit):
            "\(source): a \(width)x\(height) picture from a file of \(fileSize) bytes would expand more than "
                + "\(limit) times (at most \(ImageDecoder.pixelBudgetFloor) bytes of pixels, or \(limit)x the file)"
        case let .zeroSize(source, width, height):
            "\(source): expected a picture with pixels, the header says \(width)x\(height)"
        case let .malformedImage(source, width, height, byteCount):
            "\(source): an RGB image of \(width)x\(height) needs positive sides and "
                + "\(RGBImage.byteCount(width: width, height: height).map(String.init) ?? "an impossible number of") "
                + "bytes, found \(byteCount) bytes"
        case let .encodingFailed(format, message):
            "cannot encode \(format): \(message)"
        }
    }
}

extension ImageError {
    /// Up to `count` leading bytes in hex, e.g. `"47 49 46 38 39 61 (6 bytes)"`.
    static func hexPrefix(of bytes: some Collection<UInt8>, count: Int = 8) -> String {
        let shown = bytes.prefix(count).map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }
        let suffix = bytes.count > count ? " … (\(bytes.count) bytes)" : " (\(bytes.count) bytes)"
        return shown.joined(separator: " ") + suffix
    }
}
