import MobileNetIO
import MobileNetTensor
import XCTest

@testable import MobileNetData

/// `ToTensor()` + `Normalize(mean, std)` against torchvision's float32 values.
final class ImageTransformsTensorTests: XCTestCase {
    private let mean: [Float] = [0.485, 0.456, 0.406]
    private let standardDeviation: [Float] = [0.229, 0.224, 0.225]

    func testNormalizedTensorMatchesTorchvision() throws {
        let fixture = try XCTUnwrap(TransformFixtures.manifest().tensor.first { $0.resize == nil })
        let image = try TransformFixtures.image(fixture.source, width: fixture.width, height: fixture.height)
        let tensor = try ImageTransforms.normalizedTensor([image], mean: mean, standardDeviation: standardDeviation)
        XCTAssertEqual(tensor.shape, [1, fixture.height, fixture.width, 3])
        let expected = try Tensor(shape: tensor.shape, values: TransformFixtures.floats(fixture.expected))
        // The same float32 operations in the same order: identical, well inside the 1e-6 bound.
        XCTAssertLessThanOrEqual(tensor.maxAbsoluteDifference(expected), 1e-6)
        XCTAssertEqual(tensor.scalars, expected.scalars)
        // Pixel (0, 0) is (0, 128, 255): (0 - 0.485) / 0.229 etc.
        XCTAssertEqual(tensor[0, 0, 0, 0], (0 - 0.485) / 0.229)
        XCTAssertEqual(tensor[0, 0, 0, 2], (1 - 0.406) / 0.225)
    }

    func testEvaluationPipelineTensorMatchesTorchvision() throws {
        let fixture = try XCTUnwrap(TransformFixtures.manifest().tensor.first { $0.resize != nil })
        let image = try ImageDecoder.decode(contentsOf: TransformFixtures.url(fixture.source))
        let prepared = try ImageTransforms.imageNetEvaluation(image, resize: fixture.resize!, crop: fixture.crop!)
        let tensor = try ImageTransforms.normalizedTensor(prepared, mean: mean, standardDeviation: standardDeviation)
        let expected = try Tensor(shape: [1, 28, 28, 3], values: TransformFixtures.floats(fixture.expected))
        XCTAssertLessThanOrEqual(tensor.maxAbsoluteDifference(expected), 1e-6)
    }

    func testBatchesStackImagesInOrder() throws {
        let dark = RGBImage(width: 2, height: 3, red: 0, green: 0, blue: 0)
        let bright = RGBImage(width: 2, height: 3, red: 255, green: 255, blue: 255)
        let batch = try ImageTransforms.normalizedTensor([dark, bright], mean: [0.5, 0.5, 0.5], standardDeviation: [0.5, 0.5, 0.5])
        XCTAssertEqual(batch.shape, [2, 3, 2, 3])
        XCTAssertEqual(Set(batch.scalars[0..<18]), [-1])
        XCTAssertEqual(Set(batch.scalars[18...]), [1])
    }

    func testTensorErrors() {
        let image = RGBImage(width: 2, height: 2, red: 1, green: 2, blue: 3)
        XCTAssertThrowsError(try ImageTransforms.normalizedTensor([], mean: mean, standardDeviation: standardDeviation)) {
            XCTAssertEqual($0 as? ImageTransformError, .emptyBatch)
        }
        let other = RGBImage(width: 3, height: 2, red: 1, green: 2, blue: 3)
        XCTAssertThrowsError(
            try ImageTransforms.normalizedTensor([image, other], mean: mean, standardDeviation: standardDeviation)
        ) {
            XCTAssertEqual(
                $0 as? ImageTransformError,
                .mismatchedImageSize(index: 1, expectedWidth: 2, expectedHeight: 2, width: 3, height: 2))
        }
        for (badMean, badDeviation) in [([Float](repeating: 0, count: 2), standardDeviation), (mean, [0.2, 0, 0.2])] {
            XCTAssertThrowsError(try ImageTransforms.normalizedTensor([image], mean: badMean, standardDeviation: badDeviation)) {
                XCTAssertEqual($0 as? ImageTransformError, .invalidNormalization(mean: badMean, standardDeviation: badDeviation))
            }
        }
    }
}
