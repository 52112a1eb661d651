import Foundation
import MobileNetTensor
import XCTest

@testable import MobileNetIO

/// Bad input of every kind gives a typed ``ImageError`` that names the source, never a crash.
final class ImageDecoderErrorTests: XCTestCase {
    func testTruncatedJPEGIsTruncated() throws {
        for name in ["jpeg_baseline_420.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg"] {
            let data = try Data(contentsOf: ImageFixtures.url(name))
            // Inside the entropy-coded data, just before the end marker, and inside the headers.
            for length in [data.count / 2, data.count - 2, 300, 20] {
                XCTAssertThrowsError(try ImageDecoder.decode(data.prefix(length), source: "cut.jpg")) { error in
                    guard case let .truncated(source, format, message)? = error as? ImageError else {
                        return XCTFail("\(name) cut to \(length) bytes: expected .truncated, got \(error)")
                    }
                    XCTAssertEqual(source, "cut.jpg")
                    XCTAssertEqual(format, .jpeg)
                    XCTAssertFalse(message.isEmpty)
                }
            }
        }
    }

    func testTruncatedPNGIsTruncated() throws {
        for name in ["png_rgb8.png", "png_rgb16_interlaced.png", "png_palette_trns.png"] {
            let data = try Data(contentsOf: ImageFixtures.url(name))
            // Inside the pixel data, inside the IDAT chunk's end, inside the header chunk.
            for length in [data.count / 2, data.count - 30, 40] {
                XCTAssertThrowsError(try ImageDecoder.decode(data.prefix(length), source: "cut.png")) { error in
                    guard case .truncated("cut.png", .png, _)? = error as? ImageError else {
                        return XCTFail("\(name) cut to \(length) bytes: expected .truncated, got \(error)")
                    }
                }
            }
        }
    }

    /// Pillow also reads a PNG whose pixels are complete but whose IEND chunk is missing.
    func testPNGWithoutEndChunkStillDecodes() throws {
        let data = try Data(contentsOf: ImageFixtures.url("png_rgb8.png"))
        XCTAssertEqual(try ImageDecoder.decode(data.dropLast(12), source: "no IEND").pixels, try ImageFixtures.bytes("png_rgb8.rgb"))
    }

    func testCorruptPNGChecksumIsCorrupt() throws {
        var data = try Data(contentsOf: ImageFixtures.url("png_rgb8.png"))
        data[data.count / 2] ^= 0xFF  // inside IDAT: its CRC no longer matches
        XCTAssertThrowsError(try ImageDecoder.decode(data, source: "flipped.png")) { error in
            guard case .corrupt("flipped.png", .png, _)? = error as? ImageError else {
                return XCTFail("expected .corrupt, got \(error)")
            }
        }
    }

    /// Random damage to valid files must end in a picture or an `ImageError`, nothing else.
    func testDamagedFilesNeverCrash() throws {
        var generator = SplitMix64(seed: 7)
        for name in ["jpeg_baseline_420.jpg", "jpeg_progressive.jpg", "jpeg_exif_6.jpg", "png_rgb8.png", "png_palette4_trns.png"] {
            let original = try Data(contentsOf: ImageFixtures.url(name))
            for _ in 0..<150 {
                var damaged = original
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    // Keep the signature so the decoders, not the sniffer, meet the damage.
                    let index = Int.random(in: 8..<damaged.count, using: &generator)
                    damaged[index] = UInt8.random(in: 0...255, using: &generator)
                }
                do {
                    let image = try ImageDecoder.decode(damaged, source: "damaged")
                    XCTAssertTrue(image.isWellFormed)
                } catch {
                    XCTAssertTrue(error is ImageError, "\(name): \(error)")
                }
            }
        }
    }

    func testRandomBytesAreUnknown() throws {
        var generator = SplitMix64(seed: 11)
        let bytes = Data((0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) })
        XCTAssertThrowsError(try ImageDecoder.decode(bytes, source: "noise.bin")) { error in
            guard case let .unknownFormat("noise.bin", leadingBytes)? = error as? ImageError else {
                return XCTFail("expected .unknownFormat, got \(error)")
            }
            XCTAssertTrue(leadingBytes.hasSuffix("(512 bytes)"), leadingBytes)
        }
        // Random bytes behind a valid signature reach the decoders, which must refuse them.
        for signature in [ImageFormat.jpegSignature, ImageFormat.pngSignature] {
            XCTAssertThrowsError(try ImageDecoder.decode(Data(signature) + bytes, source: "noise"))
        }
    }

    func testTextFileIsUnknownWithItsBytesInHex() throws {
        let url = try temporaryFile(named: "notes.jpg", contents: Data("hello, world\n".utf8))
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
            XCTAssertEqual(
                error as? ImageError,
                .unknownFormat(source: url.path, leadingBytes: "68 65 6C 6C 6F 2C 20 77 … (13 bytes)"))
            XCTAssertTrue(String(describing: error).contains("notes.jpg"))
        }
    }

    func testEmptyFileIsEmpty() throws {
        let url = try temporaryFile(named: "empty.png", contents: Data())
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
            XCTAssertEqual(error as? ImageError, .empty(source: url.path))
        }
    }

    func testMissingFileAndDirectory() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/mobilenet/photo.jpg")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: missing)) { error in
            XCTAssertEqual(error as? ImageError, .fileNotFound(path: missing.path))
            XCTAssertEqual(String(describing: error), "/nonexistent/mobilenet/photo.jpg: no such file")
        }
        let directory = FileManager.default.temporaryDirectory
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: directory)) { error in
            guard case .unreadableFile? = error as? ImageError else { return XCTFail("got \(error)") }
        }
    }

    func testOnlyFileURLsAreRead() {
        let remote = URL(string: "https://example.com/photo.jpg")!
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: remote)) { error in
            XCTAssertEqual(
                error as? ImageError,
                .unreadableFile(path: "https://example.com/photo.jpg", reason: "only file URLs are read"))
        }
    }

    func testOtherFormatsAreNamed() throws {
        let cases: [(bytes: [UInt8], name: String)] = [
            (Array("GIF89a".utf8) + [1, 0, 1, 0], "GIF"),
            (Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8), "WebP"),
            ([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], "TIFF"),
            (Array("BM".utf8) + [0, 0, 0, 0], "BMP"),
        ]
        for (bytes, name) in cases {
            XCTAssertThrowsError(try ImageDecoder.decode(Data(bytes), source: "x")) { error in
                XCTAssertEqual(error as? ImageError, .unsupportedFormat(source: "x", format: name))
            }
        }
    }

    /// The header is checked before pixel memory is allocated: a JPEG that claims 60000x60000
    /// fails at once instead of asking for 10 GB.
    func testOversizedHeadersAreRefused() throws {
        var jpeg = [UInt8](try Data(contentsOf: ImageFixtures.url("jpeg_baseline_420.jpg")))
        try patchJPEGSize(&jpeg, width: 60000, height: 60000)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(jpeg), source: "huge.jpg")) { error in
            XCTAssertEqual(
                error as? ImageError,
                .tooLarge(source: "huge.jpg", width: 60000, height: 60000, limit: ImageDecoder.maximumPixelCount))
        }
        var png = [UInt8](try Data(contentsOf: ImageFixtures.url("png_rgb8.png")))
        patchPNGSize(&png, width: 1 << 20, height: 1 << 20)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(png), source: "huge.png")) { error in
            XCTAssertEqual(
                error as? ImageError,
                .sideTooLong(source: "huge.png", width: 1 << 20, height: 1 << 20, limit: ImageDecoder.maximumSide))
        }
    }

    /// A 100000x1 PNG is a few hundred bytes; its side is refused from the header, on either axis.
    func testSidesLongerThanTheLimitAreRefused() throws {
        for (width, height) in [(100_000, 1), (1, 100_000)] {
            let png = try PNGEncoder.encode(RGBImage(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3)))
            XCTAssertLessThan(png.count, 1000)
            let url = try temporaryFile(named: "\(width)x\(height).png", contents: png)
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
                XCTAssertEqual(error as? ImageError, .sideTooLong(source: url.path, width: width, height: height, limit: 65_535))
                XCTAssertEqual("\(error)", "\(url.path): \(width)x\(height) has a side longer than the limit of 65535 pixels")
            }
        }
        // At the limit, a one-pixel-high strip still decodes.
        let strip = try PNGEncoder.encode(RGBImage(width: 65_535, height: 1, pixels: [UInt8](repeating: 9, count: 65_535 * 3)))
        XCTAssertEqual(try ImageDecoder.decode(strip, source: "strip").width, 65_535)
    }

    /// A small file may not claim a picture far larger than it could hold: a real PNG's header
    /// patched to 8192x8192 (201 MB of pixels from a few hundred bytes, under the absolute
    /// limits) is refused before any pixel memory is allocated, and so is a JPEG's. A flat picture
    /// of that size encoded for real is still within 1024x its file and decodes.
    func testHeadersFarLargerThanTheirFileAreRefused() throws {
        var png = [UInt8](try Data(contentsOf: ImageFixtures.url("png_rgb8.png")))
        patchPNGSize(&png, width: 8192, height: 8192)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(png), source: "bomb.png")) { error in
            XCTAssertEqual(
                error as? ImageError,
                .expandsTooFar(source: "bomb.png", width: 8192, height: 8192, fileSize: png.count, limit: 1024))
            XCTAssertTrue("\(error)".hasPrefix("bomb.png: a 8192x8192 picture from a file of \(png.count) bytes"), "\(error)")
        }
        var jpeg = [UInt8](try Data(contentsOf: ImageFixtures.url("jpeg_baseline_420.jpg")))
        try patchJPEGSize(&jpeg, width: 8192, height: 8192)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(jpeg), source: "bomb.jpg")) { error in
            XCTAssertEqual(
                error as? ImageError,
                .expandsTooFar(source: "bomb.jpg", width: 8192, height: 8192, fileSize: jpeg.count, limit: 1024))
        }
        let flat = try PNGEncoder.encode(RGBImage(width: 4096, height: 4096, pixels: [UInt8](repeating: 7, count: 4096 * 4096 * 3)))
        XCTAssertGreaterThan(flat.count * ImageDecoder.maximumExpansion, 4096 * 4096 * 3, "deflate stays within 1024:1")
        XCTAssertEqual(try ImageDecoder.decode(flat, source: "flat.png").width, 4096)
    }

    func testZeroSizedHeadersAreRefused() throws {
        var jpeg = [UInt8](try Data(contentsOf: ImageFixtures.url("jpeg_baseline_420.jpg")))
        try patchJPEGSize(&jpeg, width: 64, height: 0)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(jpeg), source: "flat.jpg")) { error in
            // libjpeg itself refuses a zero height ("Empty JPEG image"); either answer is typed.
            switch error as? ImageError {
            case .zeroSize("flat.jpg", 64, 0)?, .corrupt("flat.jpg", .jpeg, _)?: break
            default: XCTFail("expected .zeroSize or .corrupt, got \(error)")
            }
        }
        var png = [UInt8](try Data(contentsOf: ImageFixtures.url("png_rgb8.png")))
        patchPNGSize(&png, width: 0, height: 17)
        XCTAssertThrowsError(try ImageDecoder.decode(Data(png), source: "flat.png")) { error in
            switch error as? ImageError {
            case .zeroSize("flat.png", 0, 17)?, .corrupt("flat.png", .png, _)?: break
            default: XCTFail("expected .zeroSize or .corrupt, got \(error)")
            }
        }
    }

    func testZeroSizeCheckItself() {
        // A file large enough that only the absolute limits apply.
        let large = 1 << 20
        XCTAssertThrowsError(try ImageDecoder.checkDimensions(width: 0, height: 5, fileSize: large, source: "s")) { error in
            XCTAssertEqual(error as? ImageError, .zeroSize(source: "s", width: 0, height: 5))
        }
        XCTAssertNoThrow(try ImageDecoder.checkDimensions(width: 1 << 14, height: 1 << 14, fileSize: large, source: "s"))
        XCTAssertThrowsError(try ImageDecoder.checkDimensions(width: (1 << 14) + 1, height: 1 << 14, fileSize: large, source: "s"))
        // The expansion bound: 1024x the file, but never less than 64 MiB of pixels.
        XCTAssertNoThrow(try ImageDecoder.checkDimensions(width: 4096, height: 4096, fileSize: 10, source: "s"))
        XCTAssertThrowsError(try ImageDecoder.checkDimensions(width: 4096, height: 5462, fileSize: 10, source: "s"))
        XCTAssertNoThrow(try ImageDecoder.checkDimensions(width: 8192, height: 8192, fileSize: 8192 * 8192 * 3 / 1024, source: "s"))
    }

    func testDescriptionsSayWhatWasExpectedAndFound() {
        let truncated = ImageError.truncated(source: "a.jpg", format: .jpeg, message: "Premature end of JPEG file")
        XCTAssertEqual(
            truncated.description,
            "a.jpg: truncated JPEG: the data ends before the picture does (Premature end of JPEG file)")
        let large = ImageError.tooLarge(source: "b.png", width: 20000, height: 20000, limit: 1 << 28)
        XCTAssertEqual(large.description, "b.png: 20000x20000 is 400000000 pixels, more than the limit of 268435456")
    }

    // MARK: - Helpers

    private func temporaryFile(named name: String, contents: Data) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mobilenet-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url)
        return url
    }

    /// Rewrites the height and width of the first SOF0/SOF2 segment.
    private func patchJPEGSize(_ jpeg: inout [UInt8], width: Int, height: Int) throws {
        let start = try XCTUnwrap(
            (0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        // FF C0, length (2), precision (1), height (2), width (2)
        jpeg[start + 5] = UInt8(height >> 8)
        jpeg[start + 6] = UInt8(height & 0xFF)
        jpeg[start + 7] = UInt8(width >> 8)
        jpeg[start + 8] = UInt8(width & 0xFF)
    }

    /// Rewrites IHDR's width and height and its CRC, so only the size is wrong.
    private func patchPNGSize(_ png: inout [UInt8], width: UInt32, height: UInt32) {
        // signature (8), length (4), "IHDR" (4), width (4), height (4), … , CRC after 13 data bytes
        for (offset, value) in [(16, width), (20, height)] {
            for byte in 0..<4 { png[offset + byte] = UInt8((value >> (24 - 8 * UInt32(byte))) & 0xFF) }
        }
        let crc = crc32(png[12..<29])
        for byte in 0..<4 { png[29 + byte] = UInt8((crc >> (24 - 8 * UInt32(byte))) & 0xFF) }
    }

    private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
