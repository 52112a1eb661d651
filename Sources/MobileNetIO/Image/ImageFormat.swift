import Foundation

/// A compressed picture format this package decodes, recognized by its leading bytes (the file
/// extension is never trusted: datasets hold PNGs named `.JPEG` and the reverse).
public enum ImageFormat: String, Hashable, Sendable, CustomStringConvertible {
    case jpeg = "JPEG"
    case png = "PNG"

    /// The format whose signature `data` starts with, or `nil`.
    public init?(detecting data: Data) {
        if data.starts(with: Self.jpegSignature) {
            self = .jpeg
        } else if data.starts(with: Self.pngSignature) {
            self = .png
        } else {
            return nil
        }
    }

    public var description: String { rawValue }

    /// SOI followed by the first byte of the next marker.
    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The name of a well-known format this package does not decode, so an error can say
    /// "GIF" rather than a row of hex digits.
    static func unsupportedFormatName(of data: Data) -> String? {
        let signatures: [(name: String, bytes: [UInt8])] = [
            ("GIF", Array("GIF87a".utf8)), ("GIF", Array("GIF89a".utf8)),
            ("BMP", Array("BM".utf8)),
            ("TIFF", [0x49, 0x49, 0x2A, 0x00]), ("TIFF", [0x4D, 0x4D, 0x00, 0x2A]),
        ]
        for signature in signatures where data.starts(with: signature.bytes) {
            return signature.name
        }
        // RIFF containers carry their kind at byte 8; ISO media files carry theirs at byte 4.
        if data.count >= 12 {
            let start = data.startIndex
            if data.starts(with: Array("RIFF".utf8)), data[(start + 8)..<(start + 12)].elementsEqual("WEBP".utf8) {
                return "WebP"
            }
            if data[(start + 4)..<(start + 8)].elementsEqual("ftyp".utf8) {
                let brand = String(decoding: data[(start + 8)..<(start + 12)], as: UTF8.self)
                if ["avif", "avis"].contains(brand) { return "AVIF" }
                if ["heic", "heix", "mif1", "msf1", "hevc"].contains(brand) { return "HEIF" }
            }
        }
        return nil
    }
}
