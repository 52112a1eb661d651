import MobileNetIO
import MobileNetTensor
import XCTest

@testable import MobileNetDetection

/// The detector's one-pass transform against its two-step definition: normalize the whole
/// picture, then ``resizeBilinear(_:height:width:)`` on the CPU engine, bit for bit.
final class DetectionTransformTests: XCTestCase {
    private func picture(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var generator = SplitMix64(seed: seed)
        return RGBImage(width: width, height: height, pixels: (0..<(width * height * 3)).map { _ in UInt8(generator.nextIndex(below: 256)) })
    }

    private func twoSteps(_ image: RGBImage, _ transform: DetectionTransform) throws -> Tensor {
        let normalized = Tensor(shape: [1, image.height, image.width, 3]) { index in
            (Float(image.pixels[index]) / 255 - transform.mean[index % 3]) / transform.standardDeviation[index % 3]
        }
        return try Engine.$current.withValue(CPUEngine.shared) { try resizeBilinear(normalized, height: transform.resolution, width: transform.resolution) }
    }

    func testOnePassEqualsNormalizingThenResizing() throws {
        let photo = try ImageDecoder.decode(contentsOf: DetectionFixtures.repository.appendingPathComponent("Examples/cat.jpg"))
        // Down and up, a tall and a wide one, a single pixel; ImageNet's statistics for a second transform.
        let pictures = [photo, picture(width: 97, height: 211, seed: 1), picture(width: 500, height: 37, seed: 2), picture(width: 1, height: 1, seed: 3)]
        for transform in [
            DetectionTransform(resolution: 320),
            DetectionTransform(resolution: 61, mean: [0.485, 0.456, 0.406], standardDeviation: [0.229, 0.224, 0.225]),
        ] {
            let batch = try transform.batch(pictures)
            XCTAssertEqual(batch.shape, [pictures.count, transform.resolution, transform.resolution, 3])
            let perImage = transform.resolution * transform.resolution * 3
            for (index, image) in pictures.enumerated() {
                let expected = try twoSteps(image, transform).scalars
                let got = Array(batch.scalars[(index * perImage)..<((index + 1) * perImage)])
                XCTAssertEqual(got, expected, "picture \(index) (\(image.width)x\(image.height)) at \(transform.resolution)")
                XCTAssertEqual(try transform(image).scalars, expected)
            }
        }
    }

    func testAPictureWithTheWrongNumberOfBytesIsAnError() {
        let broken = RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 0, count: 47))
        XCTAssertThrowsError(try DetectionTransform().batch([picture(width: 4, height: 4, seed: 4), broken])) { error in
            XCTAssertTrue("\(error)".contains("picture 1"), "\(error)")
        }
        XCTAssertThrowsError(try DetectionTransform()(RGBImage(width: 0, height: 3, pixels: [])))
    }
}
