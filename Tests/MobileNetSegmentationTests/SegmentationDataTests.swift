import Foundation
import MobileNetData
import MobileNetDetection
import MobileNetIO
import MobileNetSegmentation
import MobileNetTensor
import MobileNetTestSupport
import MobileNetTraining
import XCTest

/// The segmentation data: the scenes' class maps, the transforms that move a map with its
/// picture, the VOC reader and its errors, the confusion matrix's IoU.
final class SegmentationDataTests: XCTestCase {
    private func requireFashionMNIST() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: FashionMNIST.files(for: .train).images.path),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    /// A garment pixel is one brighter than the threshold; its label is the class of the item
    /// brightest there, and only items of the scene give labels.
    func testSceneMapsMarkTheGarmentsPixelsWithTheirClass() throws {
        try requireFashionMNIST()
        let scenes = try FashionMNISTScenes(split: .test, count: 12, seed: 3)
        let threshold = scenes.configuration.foregroundThreshold
        var garmentPixels = 0
        for index in 0..<scenes.count {
            let (image, labels) = scenes.segmentation(at: index)
            XCTAssertEqual(image, scenes.image(at: index))
            let placements = scenes.placements(at: index)
            let present = Set(placements.map { UInt8($0.label) })
            for pixel in labels.indices {
                let gray = image.pixels[pixel * 3]
                XCTAssertEqual(labels[pixel] != 0, gray > threshold, "scene \(index), pixel \(pixel)")
                if labels[pixel] != 0 {
                    garmentPixels += 1
                    XCTAssertTrue(present.contains(labels[pixel]))
                    // The item it names is the one whose picture shows that gray level there.
                    let (x, y) = (pixel % image.width, pixel / image.width)
                    let shows = placements.contains { placement in
                        let r = placement.region
                        guard UInt8(placement.label) == labels[pixel], (r.left..<(r.left + r.width)).contains(x),
                              (r.top..<(r.top + r.height)).contains(y) else { return false }
                        return placement.pixels[(y - r.top) * r.width + (x - r.left)] == gray
                    }
                    XCTAssertTrue(shows, "scene \(index), pixel (\(x), \(y))")
                }
            }
        }
        XCTAssertGreaterThan(garmentPixels, 12 * 1000)
        let dataset = FashionMNISTSceneMasks(scenes)
        XCTAssertEqual(dataset.classNames.count, 11)
        XCTAssertEqual(try dataset.sample(at: 2).labels, scenes.segmentation(at: 2).labels)
    }

    private func sample(width: Int, height: Int) -> SegmentationSample {
        var generator = SplitMix64(seed: 4)
        let pixels = (0..<(width * height * 3)).map { _ in UInt8(generator.nextIndex(below: 256)) }
        let labels = (0..<(width * height)).map { UInt8($0 % 7) }
        return SegmentationSample(image: RGBImage(width: width, height: height, pixels: pixels), labels: labels)
    }

    func testTransformsMoveTheMapWithThePicture() throws {
        let original = sample(width: 6, height: 4)
        // Nearest neighbour by pixel centres: 6 -> 3 columns takes columns 1, 3, 5; 4 -> 2 rows takes rows 1, 3.
        let half = try SegmentationTransforms.resize(original, width: 3, height: 2)
        let kept: [Int] = [7, 9, 11, 19, 21, 23]  // row 1 and row 3, columns 1, 3, 5, of a 6-wide map
        XCTAssertEqual(half.labels, kept.map { UInt8($0 % 7) })
        XCTAssertEqual(half.image, try ImageTransforms.resize(original.image, width: 3, height: 2))
        let flipped = SegmentationTransforms.horizontalFlip(original)
        XCTAssertEqual(flipped.labels[0], original.labels[5])
        XCTAssertEqual(SegmentationTransforms.horizontalFlip(flipped), original)
        let padded = SegmentationTransforms.padIfSmaller(original, width: 8, height: 5)
        XCTAssertEqual([padded.image.width, padded.image.height], [8, 5])
        XCTAssertEqual(padded.labels[6], 255)
        XCTAssertEqual(padded.labels[8 * 4], 255)
        XCTAssertEqual(padded.labels[8 + 2], original.labels[6 + 2])
        XCTAssertEqual(Array(padded.image.pixels[(6 * 3)..<(8 * 3)]), [0, 0, 0, 0, 0, 0])
        let cropped = try SegmentationTransforms.crop(original, left: 2, top: 1, width: 3, height: 2)
        let window: [Int] = [8, 9, 10, 14, 15, 16]
        XCTAssertEqual(cropped.labels, window.map { UInt8($0 % 7) })

        // The training augmentation: a crop of the asked side, the same for the same key.
        let augmentation = SegmentationAugmentation.training(baseSize: 40, cropSize: 32)
        let big = sample(width: 50, height: 30)
        let once = try augmentation.apply(big, seed: 1, epoch: 2, index: 3)
        XCTAssertEqual([once.image.width, once.image.height], [32, 32])
        XCTAssertEqual(once, try augmentation.apply(big, seed: 1, epoch: 2, index: 3))
        let outcomes = try Set((0..<20).map { try augmentation.apply(big, seed: 1, epoch: 2, index: $0).labels })
        XCTAssertGreaterThan(outcomes.count, 15, "crops, sizes and flips differ from sample to sample")
        let evaluation = try SegmentationAugmentation.evaluation(baseSize: 15).apply(big, seed: 0, epoch: 0, index: 0)
        XCTAssertEqual([evaluation.image.width, evaluation.image.height], [25, 15])
    }

    func testConfusionMatrixIoUAsTorchvisionsReference() {
        var matrix = ConfusionMatrix(classCount: 3)
        // Truth 0 0 1 1 2 255 ; predicted 0 1 1 1 1 2 (the 255 pixel is left out).
        matrix.add(truth: [0, 0, 1, 1, 2, 255] as [UInt8], predicted: [0, 1, 1, 1, 1, 2] as [UInt8])
        XCTAssertEqual(matrix.total, 5)
        XCTAssertEqual(matrix.accuracy, 3.0 / 5)
        let iou = matrix.intersectionOverUnion
        XCTAssertEqual(iou[0] ?? -1, 1.0 / 2, accuracy: 1e-12)  // 1 hit, 2 true, 1 predicted
        XCTAssertEqual(iou[1] ?? -1, 2.0 / 4, accuracy: 1e-12)  // 2 hits, 2 true, 4 predicted
        XCTAssertEqual(iou[2] ?? -1, 0, accuracy: 1e-12)
        XCTAssertEqual(matrix.meanIntersectionOverUnion, (0.5 + 0.5 + 0) / 3, accuracy: 1e-12)
        var empty = ConfusionMatrix(classCount: 4)
        empty.add(truth: [0, 1] as [UInt8], predicted: [0, 1] as [UInt8])
        XCTAssertNil(empty.intersectionOverUnion[3], "a class neither present nor predicted")
        XCTAssertEqual(empty.meanIntersectionOverUnion, 1)
    }

    /// A VOC folder with good and bad entries: each bad one a one-line error naming its file.
    func testVOCReaderAndItsErrors() throws {
        let folder = try TemporaryFolder()
        let root = folder.url
        for sub in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        func picture(_ id: String, width: Int, height: Int) throws {
            // The reader trusts the bytes, not the extension: a PNG named .jpg decodes.
            try PNGEncoder.encode(RGBImage(width: width, height: height, pixels: [UInt8](repeating: 90, count: width * height * 3)))
                .write(to: root.appendingPathComponent("JPEGImages/\(id).jpg"))
        }
        func mask(_ id: String, width: Int, height: Int, label: UInt8) throws {
            var labels = [UInt8](repeating: 0, count: width * height)
            labels[width + 1] = label
            labels[0] = 255
            try LabelMapPNG.encode(width: width, height: height, labels: labels)
                .write(to: root.appendingPathComponent("SegmentationClass/\(id).png"))
        }
        try picture("good", width: 5, height: 4); try mask("good", width: 5, height: 4, label: 15)
        try picture("nomask", width: 5, height: 4)
        try picture("small", width: 5, height: 4); try mask("small", width: 4, height: 4, label: 1)
        try picture("beyond", width: 5, height: 4); try mask("beyond", width: 5, height: 4, label: 30)
        try picture("rgb", width: 5, height: 4)
        try PNGEncoder.encode(RGBImage(width: 5, height: 4, pixels: [UInt8](repeating: 1, count: 60)))
            .write(to: root.appendingPathComponent("SegmentationClass/rgb.png"))
        try "good\nnomask\nsmall\nbeyond\nrgb\n".write(
            to: root.appendingPathComponent("ImageSets/Segmentation/train.txt"), atomically: true, encoding: .utf8)

        let dataset = try VOCSegmentationDataset(root: root, split: "train")
        XCTAssertEqual(dataset.count, 5)
        XCTAssertEqual(dataset.classNames.count, 21)
        let good = try dataset.sample(at: 0)
        XCTAssertEqual(good.labels[6], 15)
        XCTAssertEqual(good.labels[0], 255, "the ignore label is kept")
        for (index, mention) in [(1, "nomask.png"), (2, "small.png: the class map is 4x4, its picture 5x4"), (3, "label 30"), (4, "rgb.png")] {
            XCTAssertThrowsError(try dataset.sample(at: index)) { error in
                XCTAssertTrue("\(error)".contains(mention), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
        XCTAssertThrowsError(try VOCSegmentationDataset(root: root, split: "val")) { XCTAssertTrue("\($0)".contains("val.txt"), "\($0)") }
        // A class map survives a round trip through its palette PNG, colours aside.
        var labels: [UInt8] = (0..<21).map { UInt8($0) }
        labels[5] = 255
        let decoded = try LabelMapPNG.decode(LabelMapPNG.encode(width: 7, height: 3, labels: labels), source: "memory")
        XCTAssertEqual(decoded.labels, labels)
        XCTAssertEqual(LabelMapPNG.vocColor(1).0, 128)
        XCTAssertEqual([LabelMapPNG.vocColor(15).0, LabelMapPNG.vocColor(15).1, LabelMapPNG.vocColor(15).2], [192, 128, 128])
    }
}
