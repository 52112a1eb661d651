import Foundation
import XCTest

@testable import MobileNetIO

final class ImageFormatTests: XCTestCase {
    func testDetectsBySignatureOnly() throws {
        XCTAssertEqual(ImageFormat(detecting: try Data(contentsOf: ImageFixtures.url("jpeg_gray.jpg"))), .jpeg)
        XCTAssertEqual(ImageFormat(detecting: try Data(contentsOf: ImageFixtures.url("png_gray8.png"))), .png)
        XCTAssertNil(ImageFormat(detecting: Data([0xFF, 0xD8])))
        XCTAssertNil(ImageFormat(detecting: Data()))
        XCTAssertNil(ImageFormat(detecting: Data("PNG".utf8)))
    }

    func testDetectionWorksOnSlices() throws {
        let data = try Data(contentsOf: ImageFixtures.url("png_gray8.png"))
        let slice = (Data([1, 2, 3]) + data).dropFirst(3)
        XCTAssertEqual(ImageFormat(detecting: slice), .png)
        XCTAssertEqual(try ImageDecoder.decode(slice, source: "slice").pixels, try ImageFixtures.bytes("png_gray8.rgb"))
    }

    func testHexPrefix() {
        XCTAssertEqual(ImageError.hexPrefix(of: [0x0A, 0xFF]), "0A FF (2 bytes)")
        XCTAssertEqual(ImageError.hexPrefix(of: [UInt8](repeating: 1, count: 9)), "01 01 01 01 01 01 01 01 … (9 bytes)")
    }
}
