import Foundation
import MobileNetTensor
import XCTest

@testable import MobileNetIO

/// PNG encoding, checked by decoding the result again (libspng reads what libspng writes, and
/// the decoder itself is checked against Pillow).
final class ImageEncoderTests: XCTestCase {
    func testRoundTripsPixelsExactly() throws {
        var generator = SplitMix64(seed: 3)
        for (width, height) in [(1, 1), (1, 9), (9, 1), (23, 17), (64, 48)] {
            let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let image = RGBImage(width: width, height: height, pixels: pixels)
            let data = try PNGEncoder.encode(image)
            XCTAssertEqual(ImageFormat(detecting: data), .png)
            XCTAssertEqual(try ImageDecoder.decode(data, source: "round trip"), image, "\(width)x\(height)")
        }
    }

    func testRoundTripsADecodedPhoto() throws {
        let photo = try ImageDecoder.decode(contentsOf: ImageFixtures.url("jpeg_baseline_444.jpg"))
        XCTAssertEqual(try ImageDecoder.decode(PNGEncoder.encode(photo), source: "photo"), photo)
    }

    func testWritesFiles() throws {
        let image = RGBImage(width: 4, height: 3, red: 200, green: 10, blue: 30)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mobilenet-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try PNGEncoder.write(image, to: url)
        XCTAssertEqual(try ImageDecoder.decode(contentsOf: url), image)
    }

    func testRefusesMalformedImages() {
        for image in [
            RGBImage(width: 2, height: 2, pixels: [1, 2, 3]),
            RGBImage(width: 0, height: 5, pixels: []),
            RGBImage(width: -1, height: -1, pixels: [0, 0, 0]),
        ] {
            XCTAssertThrowsError(try PNGEncoder.encode(image)) { error in
                XCTAssertEqual(
                    error as? ImageError,
                    .malformedImage(
                        source: "PNG encoder input", width: image.width, height: image.height,
                        byteCount: image.pixels.count))
            }
        }
    }
}
