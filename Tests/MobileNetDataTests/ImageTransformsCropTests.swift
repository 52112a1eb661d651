import MobileNetIO
import XCTest

@testable import MobileNetData

/// Cropping against torchvision's `CenterCrop` on PIL images, including half-pixel margins and
/// crops larger than the picture (zero padding).
final class ImageTransformsCropTests: XCTestCase {
    func testCenterCropMatchesTorchvision() throws {
        let cases = try TransformFixtures.manifest().center_crop
        XCTAssertEqual(cases.count, 6)
        for fixture in cases {
            let source = try TransformFixtures.source(fixture)
            let cropped = try ImageTransforms.centerCrop(source, width: fixture.width, height: fixture.height)
            TransformFixtures.assertIdentical(
                cropped, try TransformFixtures.expected(fixture), "CenterCrop(\(fixture.height), \(fixture.width)): \(fixture.note ?? "")")
        }
    }

    func testHalfPixelMarginsRoundToEven() throws {
        // 10 x 9 picture whose red channel is its column and green its row.
        var image = RGBImage(width: 10, height: 9, red: 0, green: 0, blue: 0)
        for y in 0..<9 { for x in 0..<10 { image[x, y] = (UInt8(x), UInt8(y), 0) } }
        // margins 5 and 5: round(2.5) = 2
        let even = try ImageTransforms.centerCrop(image, width: 5, height: 4)
        XCTAssertTrue(even[0, 0] == (2, 2, 0))
        // margins 3 and 3 in a 10 x 10 from 7 x 7: round(1.5) = 2
        let odd = try ImageTransforms.centerCrop(image, width: 7, height: 6)
        XCTAssertTrue(odd[0, 0] == (2, 2, 0))
    }

    func testPaddingSplitsTheExtraPixelAfter() throws {
        let image = RGBImage(width: 2, height: 1, red: 9, green: 9, blue: 9)
        let padded = try ImageTransforms.centerCrop(image, width: 5, height: 4)
        // Left (5 - 2) / 2 = 1, right 2; top (4 - 1) / 2 = 1, bottom 2.
        var lit: [[Int]] = []
        for y in 0..<4 {
            for x in 0..<5 where padded[x, y].red != 0 { lit.append([x, y]) }
        }
        XCTAssertEqual([padded.width, padded.height], [5, 4])
        XCTAssertEqual(lit, [[1, 1], [2, 1]])
    }

    func testCropErrors() {
        let image = RGBImage(width: 4, height: 3, red: 1, green: 2, blue: 3)
        XCTAssertThrowsError(try ImageTransforms.centerCrop(image, width: 0, height: 2)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "centerCrop", width: 0, height: 2))
        }
        XCTAssertThrowsError(try ImageTransforms.crop(image, left: 2, top: 0, width: 3, height: 3)) { error in
            XCTAssertEqual(
                error as? ImageTransformError,
                .regionOutsideImage(left: 2, top: 0, width: 3, height: 3, imageWidth: 4, imageHeight: 3))
        }
        let malformed = RGBImage(width: 4, height: 3, pixels: [0])
        XCTAssertThrowsError(try ImageTransforms.centerCrop(malformed, width: 2, height: 2)) { error in
            XCTAssertEqual(
                error as? ImageTransformError,
                .malformedImage(operation: "centerCrop", width: 4, height: 3, byteCount: 1))
            XCTAssertEqual(
                String(describing: error),
                "centerCrop: expected an RGB image with positive sides and 36 bytes for 4x3, found 1 bytes")
        }
    }
}
