import MobileNetIO
import MobileNetTensor
import XCTest

@testable import MobileNetData

/// Resizing against Pillow's `Image.resize(size, Image.BILINEAR)` and torchvision's `Resize(n)`,
/// byte for byte, plus a sweep of sizes against a plain floating-point twin.
final class ImageTransformsResizeTests: XCTestCase {
    func testResizeMatchesPillowBitForBit() throws {
        let cases = try TransformFixtures.manifest().resize
        XCTAssertEqual(cases.count, 15)
        for fixture in cases {
            let source = try TransformFixtures.source(fixture)
            let resized = try ImageTransforms.resize(source, width: fixture.width, height: fixture.height)
            TransformFixtures.assertIdentical(
                resized, try TransformFixtures.expected(fixture),
                "\(source.width)x\(source.height) -> \(fixture.width)x\(fixture.height) (\(fixture.note ?? ""))")
        }
    }

    func testResizeShorterSideMatchesTorchvision() throws {
        let cases = try TransformFixtures.manifest().resize_shorter_side
        XCTAssertEqual(cases.count, 5)
        for fixture in cases {
            let source = try TransformFixtures.source(fixture)
            let resized = try ImageTransforms.resizeShorterSide(source, to: try XCTUnwrap(fixture.size))
            TransformFixtures.assertIdentical(
                resized, try TransformFixtures.expected(fixture), "Resize(\(fixture.size!)) of \(fixture.source)")
        }
    }

    /// 160 random sizes (both pass orders, up and down, 1-pixel sides) on generated noise.
    func testRandomSizesMatchPillow() throws {
        let cases = try TransformFixtures.manifest().resize_sweep
        XCTAssertEqual(cases.count, 160)
        var mismatches: [String] = []
        for fixture in cases {
            let source = fixture.source
            let resized = try fixture.shorter_side.map { try ImageTransforms.resizeShorterSide(source, to: $0) }
                ?? ImageTransforms.resize(source, width: fixture.width, height: fixture.height)
            if resized.width != fixture.width || resized.height != fixture.height
                || TransformFixtures.fnv1a64(resized.pixels) != fixture.fnv1a64
            {
                mismatches.append("seed \(fixture.seed): \(source.width)x\(source.height) -> \(fixture.width)x\(fixture.height)")
            }
        }
        XCTAssertEqual(mismatches, [])
    }

    func testShorterSideArithmeticTruncatesLikePython() {
        // int(256 * 500 / 375) = int(341.33) = 341; int(256 * 640 / 427) = int(383.7) = 383.
        XCTAssertTrue(ImageTransforms.shorterSideSize(width: 500, height: 375, shorterSide: 256) == (341, 256))
        XCTAssertTrue(ImageTransforms.shorterSideSize(width: 427, height: 640, shorterSide: 256) == (256, 383))
        XCTAssertTrue(ImageTransforms.shorterSideSize(width: 300, height: 300, shorterSide: 256) == (256, 256))
        XCTAssertTrue(ImageTransforms.shorterSideSize(width: 1, height: 50, shorterSide: 3) == (3, 150))
        // 256 * 1023 / 768 = 341.0 exactly: no off-by-one from a rounding error.
        XCTAssertTrue(ImageTransforms.shorterSideSize(width: 1023, height: 768, shorterSide: 256) == (341, 256))
    }

    func testSameSizeIsACopy() {
        let image = RGBImage(width: 3, height: 2, pixels: Array(0..<18))
        XCTAssertEqual(try ImageTransforms.resize(image, width: 3, height: 2), image)
    }

    func testCoefficientsSumToOneInFixedPoint() {
        for (input, output) in [(97, 40), (61, 29), (40, 97), (1, 5), (300, 3), (256, 256)] {
            let coefficients = ResampleCoefficients(inputSize: input, outputSize: output)
            for pixel in 0..<output {
                let row = coefficients.weights[(pixel * coefficients.tapStride)..<((pixel + 1) * coefficients.tapStride)]
                // Each weight rounds on its own, so the sum may miss 2^22 by up to half a unit per tap.
                let total = row.reduce(0) { $0 + Int($1) }
                XCTAssertLessThanOrEqual(abs(total - (1 << 22)), coefficients.tapStride, "\(input)->\(output) at \(pixel)")
                XCTAssertGreaterThanOrEqual(coefficients.first[pixel], 0)
                XCTAssertLessThanOrEqual(coefficients.first[pixel] + coefficients.count[pixel], input)
            }
        }
    }

    /// A 1x20000 PNG is 161 bytes, and its shorter side resized to 256 would be 256x5120000 (3.9 GB):
    /// refused before anything is allocated, on either axis and in every operation that resizes.
    func testExtremeAspectRatiosAreRefusedBeforeResizing() throws {
        let limit = ImageTransforms.maximumResizedPixelCount
        for (width, height) in [(1, 20_000), (20_000, 1)] {
            let png = try PNGEncoder.encode(RGBImage(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3)))
            let image = try ImageDecoder.decode(png, source: "strip.png")
            let (outputWidth, outputHeight) = width == 1 ? (256, 5_120_000) : (5_120_000, 256)
            let expected = ImageTransformError.outputTooLarge(
                operation: "resizeShorterSide", imageWidth: width, imageHeight: height,
                width: outputWidth, height: outputHeight, limit: limit)
            XCTAssertThrowsError(try ImageTransforms.resizeShorterSide(image, to: 256)) { error in
                XCTAssertEqual(error as? ImageTransformError, expected)
                XCTAssertEqual("\(error)", "resizeShorterSide: the \(width)x\(height) image would become "
                    + "\(outputWidth)x\(outputHeight), more than the limit of 67108864 pixels (an extreme aspect ratio?)")
            }
            XCTAssertThrowsError(try ImageTransforms.imageNetEvaluation(image)) { error in
                XCTAssertEqual(error as? ImageTransformError, expected)
            }
            var generator = SplitMix64(seed: 1)
            XCTAssertThrowsError(try ImagePipeline.imageFolderEvaluation().apply(image, using: &generator)) { error in
                XCTAssertEqual(error as? ImageTransformError, expected)
            }
        }
        // An exact size is bounded the same way, and a size beyond Int's range does not trap.
        let pixel = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        XCTAssertThrowsError(try ImageTransforms.resize(pixel, width: 8193, height: 8192)) { error in
            XCTAssertEqual(error as? ImageTransformError, .outputTooLarge(
                operation: "resize", imageWidth: 1, imageHeight: 1, width: 8193, height: 8192, limit: limit))
        }
        XCTAssertThrowsError(try ImageTransforms.resizeShorterSide(RGBImage(width: 1, height: 3, pixels: [UInt8](repeating: 0, count: 9)), to: .max))
    }

    func testInvalidSizesAndImagesAreTypedErrors() {
        let pixel = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        XCTAssertThrowsError(try ImageTransforms.resize(pixel, width: 0, height: 3)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "resize", width: 0, height: 3))
        }
        XCTAssertThrowsError(try ImageTransforms.resizeShorterSide(pixel, to: -1)) { error in
            XCTAssertEqual(error as? ImageTransformError, .invalidSize(operation: "resizeShorterSide", width: -1, height: -1))
        }
        let malformed = RGBImage(width: 2, height: 2, pixels: [1, 2, 3])
        XCTAssertThrowsError(try ImageTransforms.resize(malformed, width: 1, height: 1)) { error in
            XCTAssertEqual(error as? ImageTransformError, .malformedImage(operation: "resize", width: 2, height: 2, byteCount: 3))
        }
    }

    /// The fast fixed-point path against a direct floating-point reading of the same filter:
    /// they may differ by one step of rounding, never more, over many awkward sizes.
    func testSweepAgainstFloatingPointTwin() throws {
        var generator = SplitMix64(seed: 5)
        let sizes = [(1, 1), (1, 7), (7, 1), (2, 3), (13, 9), (31, 17), (64, 48), (97, 61)]
        for (width, height) in sizes {
            let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let image = RGBImage(width: width, height: height, pixels: pixels)
            for (outputWidth, outputHeight) in [(1, 1), (3, 5), (width, height + 3), (width * 2 + 1, height), (17, 11)] {
                let fast = try ImageTransforms.resize(image, width: outputWidth, height: outputHeight)
                let twin = ReferenceResize.resize(image, width: outputWidth, height: outputHeight)
                let worst = zip(fast.pixels, twin.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1, "\(width)x\(height) -> \(outputWidth)x\(outputHeight)")
            }
        }
    }
}

/// A plain, unoptimized reading of antialiased bilinear resampling in `Double`: a tent filter
/// widened by the shrink factor, weights normalized per output pixel, horizontal pass, rounding
/// to bytes, vertical pass.
enum ReferenceResize {
    static func weights(input: Int, output: Int) -> [[(index: Int, weight: Double)]] {
        let scale = Double(input) / Double(output)
        let width = max(scale, 1)
        return (0..<output).map { pixel in
            let center = (Double(pixel) + 0.5) * scale
            let taps = (0..<input).compactMap { index -> (Int, Double)? in
                let distance = abs(Double(index) + 0.5 - center) / width
                return distance < 1 ? (index, 1 - distance) : nil
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            return taps.map { ($0.0, $0.1 / total) }
        }
    }

    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        func byte(_ value: Double) -> UInt8 { UInt8(max(0, min(255, value.rounded()))) }
        var middle = [UInt8](repeating: 0, count: width * image.height * 3)
        let columns = weights(input: image.width, output: width)
        for y in 0..<image.height {
            for x in 0..<width {
                for channel in 0..<3 {
                    let sum = columns[x].reduce(0.0) { $0 + Double(image.pixels[(y * image.width + $1.index) * 3 + channel]) * $1.weight }
                    middle[(y * width + x) * 3 + channel] = width == image.width ? image.pixels[(y * image.width + x) * 3 + channel] : byte(sum)
                }
            }
        }
        var output = [UInt8](repeating: 0, count: width * height * 3)
        let rows = weights(input: image.height, output: height)
        for y in 0..<height {
            for x in 0..<width {
                for channel in 0..<3 {
                    let sum = rows[y].reduce(0.0) { $0 + Double(middle[($1.index * width + x) * 3 + channel]) * $1.weight }
                    output[(y * width + x) * 3 + channel] = height == image.height ? middle[(y * width + x) * 3 + channel] : byte(sum)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }
}
