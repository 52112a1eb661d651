import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

@testable import MobileNetData

/// The random training transforms against torchvision's own `get_params` code, run by
/// `Scripts/generate_training_fixtures.py` with PyTorch's draws replaced by a SplitMix64 twin.
final class ImageTransformsAugmentationTests: XCTestCase {
    struct Manifest: Decodable {
        struct ResizedCrop: Decodable {
            var seed: UInt64
            var width: Int
            var height: Int
            var scale: [Double]
            var ratio: [Double]
            var regions: [[Int]]
        }

        struct Crop: Decodable {
            var seed: UInt64
            var width: Int
            var height: Int
            var crop_width: Int
            var crop_height: Int
            var padding: Int
            var offsets: [[Int]]
        }

        struct Flip: Decodable {
            var seed: UInt64
            var probability: Float
            var flipped: [Bool]
        }

        var random_resized_crop: [ResizedCrop]
        var random_crop: [Crop]
        var horizontal_flip: Flip
    }

    private func manifest() throws -> Manifest {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/augmentation", withExtension: "json"))
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
    }

    func testRandomResizedCropRegionsMatchTorchvision() throws {
        let cases = try manifest().random_resized_crop
        XCTAssertEqual(cases.count, 7)
        for fixture in cases {
            var generator = SplitMix64(seed: fixture.seed)
            for (draw, expected) in fixture.regions.enumerated() {
                let region = ImageTransforms.randomResizedCropRegion(
                    width: fixture.width, height: fixture.height, scale: fixture.scale[0]...fixture.scale[1],
                    ratio: fixture.ratio[0]...fixture.ratio[1], using: &generator)
                XCTAssertEqual(
                    [region.left, region.top, region.width, region.height], expected,
                    "\(fixture.width)x\(fixture.height) scale \(fixture.scale) ratio \(fixture.ratio), draw \(draw)")
            }
        }
    }

    func testRandomCropOffsetsMatchTorchvision() throws {
        for fixture in try manifest().random_crop {
            var generator = SplitMix64(seed: fixture.seed)
            // Each pixel's red byte is its column and green its row, so the crop's first pixel
            // tells where it was taken from the padded picture.
            var image = RGBImage(width: fixture.width, height: fixture.height, red: 0, green: 0, blue: 255)
            for y in 0..<fixture.height { for x in 0..<fixture.width { image[x, y] = (UInt8(x), UInt8(y), 255) } }
            for expected in fixture.offsets {
                let cropped = try ImageTransforms.randomCrop(
                    image, width: fixture.crop_width, height: fixture.crop_height, padding: fixture.padding, using: &generator)
                XCTAssertEqual([cropped.width, cropped.height], [fixture.crop_width, fixture.crop_height])
                let (left, top) = (expected[0], expected[1])
                // The first pixel of the crop that lies inside the original picture.
                let x = max(left, fixture.padding), y = max(top, fixture.padding)
                let pixel = cropped[x - left, y - top]
                XCTAssertTrue(
                    pixel == (UInt8(x - fixture.padding), UInt8(y - fixture.padding), 255),
                    "offset \(expected) in \(fixture.width)x\(fixture.height) padded by \(fixture.padding)")
                if left < fixture.padding { XCTAssertTrue(cropped[0, y - top] == (0, 0, 0), "left padding is black") }
            }
        }
    }

    func testHorizontalFlipDecisionsMatchTorchvision() throws {
        let fixture = try manifest().horizontal_flip
        var generator = SplitMix64(seed: fixture.seed)
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 1, 1, 1])
        let flipped = (0..<fixture.flipped.count).map { _ in
            ImageTransforms.randomHorizontalFlip(image, probability: fixture.probability, using: &generator).pixels[0] == 1
        }
        XCTAssertEqual(flipped, fixture.flipped)
    }

    func testHorizontalFlipMirrorsEveryRow() {
        var image = RGBImage(width: 3, height: 2, red: 0, green: 0, blue: 0)
        for y in 0..<2 { for x in 0..<3 { image[x, y] = (UInt8(x), UInt8(y), 7) } }
        let flipped = ImageTransforms.horizontalFlip(image)
        for y in 0..<2 { for x in 0..<3 { XCTAssertTrue(flipped[x, y] == (UInt8(2 - x), UInt8(y), 7)) } }
        XCTAssertEqual(ImageTransforms.horizontalFlip(flipped), image)
    }

    func testRandomResizedCropProducesTheRequestedSize() throws {
        var generator = SplitMix64(seed: 3)
        let image = RGBImage(width: 50, height: 30, red: 10, green: 20, blue: 30)
        for _ in 0..<20 {
            let result = try ImageTransforms.randomResizedCrop(image, width: 16, height: 12, using: &generator)
            XCTAssertEqual([result.width, result.height], [16, 12])
            XCTAssertTrue(result[5, 5] == (10, 20, 30), "a flat picture stays flat")
        }
    }

    func testArgumentErrors() {
        var generator = SplitMix64(seed: 1)
        let image = RGBImage(width: 4, height: 4, red: 0, green: 0, blue: 0)
        XCTAssertThrowsError(try ImageTransforms.randomCrop(image, width: 5, height: 4, using: &generator)) { error in
            XCTAssertEqual(
                error as? ImageTransformError,
                .regionOutsideImage(left: 0, top: 0, width: 5, height: 4, imageWidth: 4, imageHeight: 4))
        }
        XCTAssertThrowsError(try ImageTransforms.pad(image, by: -1)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "pad", width: -1, height: -1))
        }
        XCTAssertThrowsError(try ImageTransforms.randomResizedCrop(image, width: 0, height: 3, using: &generator)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "randomResizedCrop", width: 0, height: 3))
        }
    }

    func testPipelinePresets() throws {
        var generator = SplitMix64(seed: 5)
        let small = RGBImage(width: 28, height: 28, red: 100, green: 100, blue: 100)
        let training = try ImagePipeline.fashionMNISTTraining(resolution: 32).apply(small, using: &generator)
        XCTAssertEqual([training.width, training.height], [32, 32])
        XCTAssertEqual(ImagePipeline.fashionMNISTTraining().steps, [
            .randomCrop(width: 28, height: 28, padding: 3), .randomHorizontalFlip(probability: 0.5),
        ])
        let evaluation = try ImagePipeline.fashionMNISTEvaluation(resolution: 32).apply(small, using: &generator)
        XCTAssertEqual([evaluation.width, evaluation.height], [32, 32])
        XCTAssertEqual(evaluation, try ImageTransforms.resize(small, width: 32, height: 32))

        let photo = RGBImage(width: 90, height: 60, red: 1, green: 2, blue: 3)
        let folderTraining = try ImagePipeline.imageFolderTraining(resolution: 48).apply(photo, using: &generator)
        XCTAssertEqual([folderTraining.width, folderTraining.height], [48, 48])
        let folderEvaluation = try ImagePipeline.imageFolderEvaluation(resolution: 224).apply(photo, using: &generator)
        XCTAssertEqual(folderEvaluation, try ImageTransforms.imageNetEvaluation(photo))

        let tensor = try ImagePipeline.fashionMNISTEvaluation().tensor([small, small])
        XCTAssertEqual(tensor.shape, [2, 28, 28, 3])
        XCTAssertEqual(tensor[1, 3, 4, 2], (Float(100) / 255 - 0.2860) / 0.3530, accuracy: 1e-6)

        let bad = ImagePipeline(steps: [.resize(width: 0, height: 3)], mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        XCTAssertThrowsError(try bad.apply(small, using: &generator)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "resize", width: 0, height: 3))
        }
    }

    func testDerivedGeneratorsAreStableAndDistinct() {
        var first = SplitMix64(seed: 42, path: [2, 7, 1234])
        var same = SplitMix64(seed: 42, path: [2, 7, 1234])
        var other = SplitMix64(seed: 42, path: [2, 7, 1235])
        let a = (0..<4).map { _ in first.next() }
        XCTAssertEqual(a, (0..<4).map { _ in same.next() })
        XCTAssertNotEqual(a, (0..<4).map { _ in other.next() })
        var generator = SplitMix64(seed: 9)
        var values = Array(0..<10)
        values.seededShuffle(using: &generator)
        XCTAssertEqual(values.sorted(), Array(0..<10))
        XCTAssertNotEqual(values, Array(0..<10))
        for bound in [1, 2, 7, 1000] {
            XCTAssertTrue((0..<100).allSatisfy { _ in (0..<bound).contains(generator.nextIndex(below: bound)) })
        }
    }
}
