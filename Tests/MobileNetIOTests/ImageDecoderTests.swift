import Foundation
import XCTest

@testable import MobileNetIO

/// Decoded pixels against Pillow's, byte for byte, for every fixture written by
/// `Scripts/generate_image_fixtures.py` (`Image.open(f).convert("RGB")`, after
/// `ImageOps.exif_transpose` for the EXIF cases).
final class ImageDecoderTests: XCTestCase {
    func testJPEGMatchesPillow() throws {
        let entries = try ImageFixtures.entries(withPrefix: "jpeg_").filter { !$0.file.contains("exif") }
        XCTAssertEqual(entries.count, 8)
        for entry in entries {
            try ImageFixtures.assertDecodedMatchesPillow(entry)
        }
    }

    func testPNGMatchesPillow() throws {
        let entries = try ImageFixtures.entries(withPrefix: "png_").filter { $0.file != "png_gray16.png" }
        XCTAssertEqual(entries.count, 16)
        for entry in entries {
            try ImageFixtures.assertDecodedMatchesPillow(entry)
        }
    }

    func testEXIFOrientationMatchesExifTranspose() throws {
        let entries = try ImageFixtures.entries(withPrefix: "jpeg_exif_") + ImageFixtures.entries(withPrefix: "png_exif_")
        XCTAssertEqual(entries.count, 9)
        for entry in entries {
            try ImageFixtures.assertDecodedMatchesPillow(entry)
        }
    }

    func testOrientationCanBeIgnored() throws {
        let url = try ImageFixtures.url("jpeg_exif_6.jpg")
        let stored = try ImageDecoder.decode(contentsOf: url, applyingExifOrientation: false)
        let upright = try ImageDecoder.decode(contentsOf: url)
        XCTAssertEqual([stored.width, stored.height], [40, 24])
        XCTAssertEqual([upright.width, upright.height], [24, 40])
        XCTAssertEqual(stored.applying(.rotate90Clockwise), upright)
    }

    /// Pillow opens 16-bit gray as `I;16` and clips it at 255 when converting to RGB; this
    /// decoder keeps the high byte instead (see `PNGDecoder`). Both behaviours are pinned here.
    func testSixteenBitGrayKeepsTheHighByteWherePillowClips() throws {
        let entry = try XCTUnwrap(ImageFixtures.entries(withPrefix: "png_gray16").first)
        let image = try ImageDecoder.decode(contentsOf: ImageFixtures.url(entry.file))
        XCTAssertEqual(image.pixels, try ImageFixtures.bytes("png_gray16.highbyte.rgb"))
        // The first row starts with the samples 0, 255, 256, 0x1234, 0x80FF, 0xFFFF.
        XCTAssertEqual((0..<6).map { image[$0, 0].red }, [0x00, 0x00, 0x01, 0x12, 0x80, 0xFF])
        let pillow = try ImageFixtures.bytes(entry.expected)
        XCTAssertEqual((0..<6).map { pillow[$0 * 3] }, [0, 255, 255, 255, 255, 255])
        XCTAssertNotEqual(image.pixels, pillow)
    }

    func testDecodingFromDataNeedsNoFileName() throws {
        let data = try Data(contentsOf: ImageFixtures.url("png_rgb8.png"))
        let image = try ImageDecoder.decode(data, source: "in memory")
        XCTAssertEqual(image.pixels, try ImageFixtures.bytes("png_rgb8.rgb"))
        // The extension is not consulted: a PNG named .jpg decodes as PNG.
        let renamed = FileManager.default.temporaryDirectory.appendingPathComponent("mobilenet-\(UUID()).jpg")
        try data.write(to: renamed)
        defer { try? FileManager.default.removeItem(at: renamed) }
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: renamed), image)
    }

    func testDecodingIsThreadSafe() throws {
        let data = try Data(contentsOf: ImageFixtures.url("jpeg_progressive.jpg"))
        let expected = try ImageFixtures.bytes("jpeg_progressive.rgb")
        let mismatches = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 32) { _ in
            if (try? ImageDecoder.decode(data, source: "concurrent"))?.pixels != expected {
                mismatches.increment()
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// The fixtures of `Scripts/generate_image_fixtures.py` under `Fixtures/images`.
enum ImageFixtures {
    struct Manifest: Decodable {
        var generator: String
        var pillow: String
        var images: [Entry]
    }

    struct Entry: Decodable {
        var file: String
        var expected: String
        var width: Int
        var height: Int
        var sha256: String
        var note: String
    }

    static func url(_ name: String) throws -> URL {
        let base = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures/images") else {
            throw ImageError.fileNotFound(path: "Fixtures/images/\(name)")
        }
        return url
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name)))
    }

    static func entries(withPrefix prefix: String) throws -> [Entry] {
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url("manifest.json")))
        return manifest.images.filter { $0.file.hasPrefix(prefix) }
    }

    static func assertDecodedMatchesPillow(_ entry: Entry, file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try ImageDecoder.decode(contentsOf: url(entry.file))
        let expected = try bytes(entry.expected)
        XCTAssertEqual(expected.count, entry.width * entry.height * 3, entry.file, file: file, line: line)
        XCTAssertEqual([image.width, image.height], [entry.width, entry.height], entry.file, file: file, line: line)
        guard image.pixels != expected else { return }
        let differing = zip(image.pixels, expected).filter { $0 != $1 }.count
        let worst = zip(image.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? -1
        XCTFail(
            "\(entry.file) (\(entry.note)): \(differing) of \(expected.count) bytes differ from Pillow, worst by \(worst)",
            file: file, line: line)
    }
}
