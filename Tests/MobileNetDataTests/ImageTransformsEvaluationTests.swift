import MobileNetIO
import XCTest

@testable import MobileNetData

/// The whole ImageNet evaluation geometry from JPEG bytes: decode, `Resize(256)`,
/// `CenterCrop(224)`, compared with torchvision on PIL byte for byte.
final class ImageTransformsEvaluationTests: XCTestCase {
    func testEvaluationMatchesTorchvisionFromJPEG() throws {
        let cases = try TransformFixtures.manifest().evaluation
        XCTAssertEqual(cases.count, 2)
        for fixture in cases {
            let image = try ImageDecoder.decode(contentsOf: TransformFixtures.url(fixture.source))
            let prepared = try ImageTransforms.imageNetEvaluation(image, resize: fixture.resize!, crop: fixture.crop!)
            XCTAssertEqual([prepared.width, prepared.height], [224, 224])
            TransformFixtures.assertIdentical(prepared, try TransformFixtures.expected(fixture), fixture.source)
        }
    }

    func testDefaultsAreTheImageNetRecipe() throws {
        let image = RGBImage(width: 50, height: 40, red: 10, green: 20, blue: 30)
        let prepared = try ImageTransforms.imageNetEvaluation(image)
        XCTAssertEqual([prepared.width, prepared.height], [224, 224])
        // A flat color stays flat through the filter.
        XCTAssertEqual(Set(stride(from: 0, to: prepared.pixels.count, by: 3).map { prepared.pixels[$0] }), [10])
    }

    func testEvaluationRejectsBadArguments() {
        let image = RGBImage(width: 5, height: 5, red: 0, green: 0, blue: 0)
        XCTAssertThrowsError(try ImageTransforms.imageNetEvaluation(image, resize: 0, crop: 4))
        XCTAssertThrowsError(try ImageTransforms.imageNetEvaluation(image, resize: 8, crop: -1))
        XCTAssertThrowsError(try ImageTransforms.imageNetEvaluation(RGBImage(width: 5, height: 5, pixels: []), resize: 8, crop: 4))
    }
}
