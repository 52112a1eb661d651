import Foundation
import MobileNetTestSupport
import XCTest

@testable import MobileNetData

/// The real Fashion-MNIST files of Debian's `dataset-fashion-mnist`, and the checks on
/// hand-made ones.
final class FashionMNISTTests: XCTestCase {
    private func requireInstalled() throws {
        let (images, _) = FashionMNIST.files(for: .test)
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: images.path),
            "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    }

    func testReadsTheRealTrainingAndTestSets() throws {
        try requireInstalled()
        let test = try FashionMNIST(split: .test)
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual([test.rows, test.columns], [28, 28])
        // The first labels and the class balance, as numpy reads them from the same files.
        XCTAssertEqual((0..<10).map(test.label(at:)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        XCTAssertEqual(test.samplesPerClass, [Int](repeating: 1000, count: 10))

        let train = try FashionMNIST(split: .train)
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual((0..<10).map(train.label(at:)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        XCTAssertEqual(train.samplesPerClass, [Int](repeating: 6000, count: 10))
        // Pixel sums of the first and last pictures, and of all of them (numpy: 3431114169),
        // which give the mean 0.28604 the normalization uses.
        let first = train.image(at: 0)
        XCTAssertEqual([first.width, first.height], [28, 28])
        XCTAssertEqual(first.pixels.enumerated().reduce(0) { $0 + ($1.offset % 3 == 0 ? Int($1.element) : 0) }, 76_247)
        XCTAssertEqual(train.pixels[(59_999 * 784)...].reduce(0) { $0 + Int($1) }, 16_684)
        let total = train.pixels.withUnsafeBufferPointer { pixels in pixels.reduce(0) { $0 + Int($1) } }
        XCTAssertEqual(total, 3_431_114_169)
        XCTAssertEqual(Double(total) / Double(train.pixels.count) / 255, Double(FashionMNIST.mean[0]), accuracy: 5e-5)
    }

    func testGrayIsCopiedIntoEveryChannel() throws {
        let folder = try writeSplit(pixels: [0, 10, 20, 30, 40, 50, 60, 70], labels: [1, 9])
        let dataset = try FashionMNIST(split: .test, directory: folder.url)
        XCTAssertEqual(dataset.count, 2)
        XCTAssertEqual(dataset.image(at: 1).pixels, [40, 40, 40, 50, 50, 50, 60, 60, 60, 70, 70, 70])
        XCTAssertEqual(dataset.labels, [1, 9])
        XCTAssertTrue(dataset.sourceName(at: 1).hasSuffix("t10k-images-idx3-ubyte.gz#1"))
    }

    func testMismatchedCountsAndBadLabelsNameTheFiles() throws {
        let mismatched = try writeSplit(pixels: Array(repeating: 0, count: 8), labels: [1, 2, 3])
        XCTAssertThrowsError(try FashionMNIST(split: .test, directory: mismatched.url)) { error in
            let (images, labels) = FashionMNIST.files(for: .test, in: mismatched.url)
            XCTAssertEqual(
                error as? DatasetError, .countMismatch(images: images.path, imageCount: 2, labels: labels.path, labelCount: 3))
        }
        let badLabel = try writeSplit(pixels: Array(repeating: 0, count: 8), labels: [1, 10])
        XCTAssertThrowsError(try FashionMNIST(split: .test, directory: badLabel.url)) { error in
            let labels = FashionMNIST.files(for: .test, in: badLabel.url).labels
            XCTAssertEqual(error as? DatasetError, .labelOutOfRange(path: labels.path, index: 1, label: 10, classCount: 10))
        }
        let missing = try TemporaryFolder()
        XCTAssertThrowsError(try FashionMNIST(split: .train, directory: missing.url)) { error in
            XCTAssertEqual(error as? DatasetError, .notFound(path: FashionMNIST.files(for: .train, in: missing.url).images.path))
        }
    }

    func testPrefixLimitsTheSamples() throws {
        let folder = try writeSplit(pixels: Array(repeating: 5, count: 12), labels: [0, 1, 2])
        let dataset = try FashionMNIST(split: .test, directory: folder.url)
        XCTAssertEqual(dataset.prefix(2).labels, [0, 1])
        XCTAssertEqual(dataset.prefix(nil).count, 3)
        XCTAssertEqual(dataset.prefix(50).count, 3)
    }

    /// A test split of 2x2 pictures in a fresh folder.
    private func writeSplit(pixels: [UInt8], labels: [UInt8]) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        let (imagesURL, labelsURL) = FashionMNIST.files(for: .test, in: folder.url)
        try GzipBytes.member(IDXBytes.images(count: pixels.count / 4, rows: 2, columns: 2, pixels: pixels)).write(to: imagesURL)
        try GzipBytes.member(IDXBytes.labels(labels)).write(to: labelsURL)
        return folder
    }
}
