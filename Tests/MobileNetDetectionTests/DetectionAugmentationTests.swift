import MobileNetData
import MobileNetIO
import MobileNetTensor
import XCTest

@testable import MobileNetDetection

/// SSD's box-aware augmentation: flip, crop, IoU crop, photometric distortion, resize, and the
/// seeded pipeline.
final class DetectionAugmentationTests: XCTestCase {
    /// A 40x30 picture of noise with four objects, one a crowd.
    private func sample() -> DetectionSample {
        var generator = SplitMix64(seed: 9)
        let pixels = (0..<(40 * 30 * 3)).map { _ in UInt8(generator.nextIndex(below: 256)) }
        let annotation = DetectionAnnotation(
            imageID: 5, width: 40, height: 30,
            boxes: [
                BoundingBox(x1: 2, y1: 3, x2: 12, y2: 9), BoundingBox(x1: 20, y1: 10, x2: 36, y2: 28),
                BoundingBox(x1: 5, y1: 15, x2: 15, y2: 25), BoundingBox(x1: 30, y1: 0, x2: 40, y2: 8),
            ],
            labels: [1, 2, 3, 4], isCrowd: [false, false, true, false])
        return DetectionSample(image: RGBImage(width: 40, height: 30, pixels: pixels), annotation: annotation)
    }

    func testFlipMirrorsBoxesAndTwiceIsIdentity() {
        let original = sample()
        let flipped = DetectionTransforms.horizontalFlip(original)
        XCTAssertEqual(flipped.boxes[0], BoundingBox(x1: 28, y1: 3, x2: 38, y2: 9))
        XCTAssertEqual(flipped.boxes[3], BoundingBox(x1: 0, y1: 0, x2: 10, y2: 8))
        XCTAssertEqual(flipped.image, ImageTransforms.horizontalFlip(original.image))
        XCTAssertEqual(flipped.labels, original.labels)
        XCTAssertEqual(DetectionTransforms.horizontalFlip(flipped), original)
    }

    func testCropKeepsExactlyTheBoxesWithCentresInsideShiftedAndClipped() throws {
        let original = sample()
        // Centres: (7, 6) inside, (28, 19) inside, (10, 20) on the bottom edge (outside: strictly),
        // (35, 4) right of the region.
        let region = CropRegion(left: 4, top: 2, width: 26, height: 18)
        let cropped = try DetectionTransforms.crop(original, to: region)
        XCTAssertEqual([cropped.image.width, cropped.image.height], [26, 18])
        XCTAssertEqual(cropped.image, try ImageTransforms.crop(original.image, left: 4, top: 2, width: 26, height: 18))
        XCTAssertEqual(cropped.labels, [1, 2])
        XCTAssertEqual(cropped.isCrowd, [false, false])
        XCTAssertEqual(cropped.boxes, [BoundingBox(x1: 0, y1: 1, x2: 8, y2: 7), BoundingBox(x1: 16, y1: 8, x2: 26, y2: 18)])
        XCTAssertEqual(cropped.annotation.areas, [48, 100], "a clipped box's area shrinks with it")
        XCTAssertEqual(cropped.imageID, 5)

        // Shifting alone: a region that contains every box moves them by its origin.
        let whole = try DetectionTransforms.crop(original, to: CropRegion(left: 0, top: 0, width: 40, height: 30))
        XCTAssertEqual(whole.boxes.count, 4)
    }

    func testRandomIoUCropFollowsItsRules() throws {
        let original = sample()
        let parameters = DetectionAugmentation.IoUCrop()
        var uncropped = 0
        for seed in 0..<300 {
            var generator = SplitMix64(seed: UInt64(seed))
            guard let region = DetectionAugmentation.randomIoUCropRegion(for: original.annotation, parameters, using: &generator) else {
                uncropped += 1
                continue
            }
            XCTAssertGreaterThanOrEqual(region.width, 12)   // int(40 * 0.3)
            XCTAssertGreaterThanOrEqual(region.height, 9)   // int(30 * 0.3)
            XCTAssertTrue((0.5...2).contains(Double(region.width) / Double(region.height)))
            XCTAssertTrue(region.left >= 0 && region.top >= 0 && region.left + region.width <= 40 && region.top + region.height <= 30)
            let frame = BoundingBox(x: Float(region.left), y: Float(region.top), width: Float(region.width), height: Float(region.height))
            let inside = original.boxes.filter { $0.hasCentre(strictlyInside: frame) }
            XCTAssertFalse(inside.isEmpty, "a crop keeps at least one box")
            let cropped = try DetectionTransforms.crop(original, to: region)
            XCTAssertEqual(cropped.boxes.count, inside.count)
        }
        // "Leave as is" is one option in seven, and other rounds may fail too.
        XCTAssertTrue((20...150).contains(uncropped), "\(uncropped) of 300 left whole")

        // A picture without boxes is never cropped.
        var generator = SplitMix64(seed: 1)
        let empty = original.annotation.keeping([])
        XCTAssertNil(DetectionAugmentation.randomIoUCropRegion(for: empty, using: &generator))
    }

    func testPhotometricOperations() {
        let image = RGBImage(width: 2, height: 1, pixels: [201, 100, 0, 255, 0, 0])
        XCTAssertEqual(PhotometricDistortion.adjustBrightness(image, factor: 0.5).pixels, [100, 50, 0, 127, 0, 0])
        XCTAssertEqual(PhotometricDistortion.adjustBrightness(image, factor: 1.125).pixels, [226, 112, 0, 255, 0, 0])
        XCTAssertEqual(PhotometricDistortion.adjustContrast(image, factor: 1), image)
        XCTAssertEqual(PhotometricDistortion.adjustSaturation(image, factor: 1), image)
        XCTAssertEqual(PhotometricDistortion.adjustHue(image, factor: 0), image)
        // Gray levels 0.2989 R + 0.587 G + 0.114 B, truncated: 118 and 76; their mean 97.
        XCTAssertEqual(PhotometricDistortion.adjustSaturation(image, factor: 0).pixels, [118, 118, 118, 76, 76, 76])
        XCTAssertEqual(PhotometricDistortion.adjustContrast(image, factor: 0).pixels, [97, 97, 97, 97, 97, 97])
        // Half a turn of hue takes red to cyan.
        XCTAssertEqual(PhotometricDistortion.adjustHue(image, factor: 0.5).pixels[3...], [0, 255, 255])
        XCTAssertEqual(PhotometricDistortion.permuteChannels(image, [2, 0, 1]).pixels, [0, 201, 100, 0, 255, 0])
        // The distortion's steps leave a gray picture gray.
        let gray = RGBImage(width: 1, height: 1, pixels: [90, 90, 90])
        var generator = SplitMix64(seed: 4)
        for _ in 0..<20 {
            let distorted = PhotometricDistortion().apply(gray, using: &generator)
            XCTAssertEqual(Set(distorted.pixels).count, 1)
        }
    }

    func testResizeScalesBoxes() throws {
        let resized = try DetectionTransforms.resize(sample(), width: 80, height: 15)
        XCTAssertEqual([resized.image.width, resized.image.height], [80, 15])
        XCTAssertEqual(resized.boxes[1], BoundingBox(x1: 40, y1: 5, x2: 72, y2: 14))
        XCTAssertEqual(resized.annotation.areas[1], 16 * 18)
    }

    func testSeededPipelineIsReproducibleAndDiffersAcrossEpochs() throws {
        let original = sample()
        let augmentation = DetectionAugmentation.ssdliteTraining(resolution: 32)
        var differs = false
        for index in 0..<8 {
            let first = try augmentation.apply(original, seed: 7, epoch: 0, index: index)
            XCTAssertEqual(try augmentation.apply(original, seed: 7, epoch: 0, index: index), first)
            if try augmentation.apply(original, seed: 7, epoch: 1, index: index) != first { differs = true }
        }
        XCTAssertTrue(differs, "epochs draw different augmentations")
        let evaluation = try DetectionAugmentation.evaluation(resolution: 32).apply(original, seed: 7, epoch: 0, index: 0)
        XCTAssertEqual(evaluation, try DetectionTransforms.resize(original, width: 32, height: 32))
    }

    func testBoxesStayWithinTheImage() throws {
        let original = sample()
        let augmentation = DetectionAugmentation.ssdliteTraining(resolution: 32)
        var sizes = Set<Int>()
        for index in 0..<200 {
            let output = try augmentation.apply(original, seed: 3, epoch: 2, index: index)
            XCTAssertEqual([output.image.width, output.image.height], [32, 32])
            XCTAssertFalse(output.boxes.isEmpty)
            XCTAssertEqual(output.labels.count, output.boxes.count)
            XCTAssertEqual(output.isCrowd.count, output.boxes.count)
            sizes.insert(output.boxes.count)
            for box in output.boxes {
                XCTAssertEqual(box.clipped(width: 32, height: 32), box)
                XCTAssertFalse(box.isEmpty, "\(box)")
            }
        }
        XCTAssertGreaterThan(sizes.count, 1, "crops drop some boxes some of the time")
    }
}
