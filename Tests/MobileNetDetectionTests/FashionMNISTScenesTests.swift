import Foundation
import MobileNetData
import MobileNetIO
import MobileNetTestSupport
import XCTest

@testable import MobileNetDetection

/// The Fashion-MNIST scenes: deterministic per (seed, index), boxes that hug the garments, limited
/// overlap, `max` compositing, and a COCO round trip.
final class FashionMNISTScenesTests: XCTestCase {
    private static let testSplit = Result { try FashionMNIST(split: .test) }

    private func testPictures() throws -> FashionMNIST {
        let (images, _) = FashionMNIST.files(for: .test)
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: images.path), "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        return try Self.testSplit.get()
    }

    func testSameSceneForSameSeedAndIndexOnAnyThread() throws {
        let pictures = try testPictures()
        let scenes = try FashionMNISTScenes(source: pictures, count: 16, seed: 11)
        let again = try FashionMNISTScenes(source: pictures, count: 16, seed: 11)
        let other = try FashionMNISTScenes(source: pictures, count: 16, seed: 12)
        XCTAssertEqual(scenes.sample(at: 7), again.sample(at: 7))
        XCTAssertNotEqual(scenes.sample(at: 7), other.sample(at: 7))
        XCTAssertNotEqual(scenes.sample(at: 7), scenes.sample(at: 8))

        // Drawn in reverse order from several threads, every scene is the one drawn alone.
        let expected = (0..<scenes.count).map { scenes.sample(at: $0) }
        let results = Locked([DetectionSample?](repeating: nil, count: scenes.count))
        DispatchQueue.concurrentPerform(iterations: scenes.count) { step in
            let index = scenes.count - 1 - step
            let sample = again.sample(at: index)
            results.update { $0[index] = sample }
        }
        XCTAssertEqual(results.value, expected)
    }

    func testBoxesHugTheGarmentsWithinLimitedOverlap() throws {
        let pictures = try testPictures()
        let scenes = try FashionMNISTScenes(source: pictures, count: 30, seed: 3)
        XCTAssertEqual(scenes.classNames, ["background"] + FashionMNIST.classNames)
        XCTAssertEqual(scenes.labelCount, 11)
        let threshold = scenes.configuration.foregroundThreshold
        var itemCounts = Set<Int>()
        var widthShares: [Float] = []
        for index in 0..<scenes.count {
            let placements = scenes.placements(at: index)
            let sample = scenes.sample(at: index)
            XCTAssertEqual([sample.image.width, sample.image.height], [320, 320])
            XCTAssertEqual(sample.imageID, index + 1)
            XCTAssertEqual(sample.boxes, placements.map(\.box))
            XCTAssertEqual(sample.labels, placements.map { pictures.label(at: $0.sourceIndex) + 1 })
            XCTAssertTrue((1...6).contains(placements.count), "scene \(index) has \(placements.count) items")
            itemCounts.insert(placements.count)

            var composite = [UInt8](repeating: 0, count: 320 * 320)
            for (position, placement) in placements.enumerated() {
                let region = placement.region
                XCTAssertEqual(region.width, region.height)
                XCTAssertTrue((40...160).contains(region.width))
                XCTAssertEqual(placement.pixels.count, region.width * region.height)
                // The box is the exact extent of the pixels above the threshold.
                var extent = (x1: Int.max, y1: Int.max, x2: Int.min, y2: Int.min)
                for y in 0..<region.height {
                    for x in 0..<region.width {
                        let level = placement.pixels[y * region.width + x]
                        let offset = (region.top + y) * 320 + region.left + x
                        composite[offset] = max(composite[offset], level)
                        guard level > threshold else { continue }
                        extent = (min(extent.x1, x), min(extent.y1, y), max(extent.x2, x + 1), max(extent.y2, y + 1))
                    }
                }
                XCTAssertEqual(
                    placement.box,
                    BoundingBox(
                        x1: Float(region.left + extent.x1), y1: Float(region.top + extent.y1),
                        x2: Float(region.left + extent.x2), y2: Float(region.top + extent.y2)))
                widthShares.append(placement.box.width / Float(region.width))
                for earlier in placements[..<position] {
                    XCTAssertLessThanOrEqual(placement.box.intersectionOverUnion(earlier.box), 0.3)
                }
            }
            // Composited with max, gray in all three channels, black elsewhere.
            XCTAssertEqual(sample.image.pixels, composite.flatMap { [$0, $0, $0] })
        }
        XCTAssertGreaterThan(itemCounts.count, 3, "scenes should vary in how many items they hold")
        // Trousers and sandals are far narrower than their 28x28 frame; the mean share shows the
        // boxes follow the garments.
        XCTAssertLessThan(widthShares.reduce(0, +) / Float(widthShares.count), 0.95)
    }

    func testScaledItemIsTheBilinearResizeOfThePicture() throws {
        let pictures = try testPictures()
        let scenes = try FashionMNISTScenes(source: pictures, count: 1, seed: 5)
        let placement = try XCTUnwrap(scenes.placements(at: 0).first)
        let resized = try ImageTransforms.resize(
            pictures.image(at: placement.sourceIndex), width: placement.region.width, height: placement.region.height)
        XCTAssertEqual(placement.pixels, stride(from: 0, to: resized.pixels.count, by: 3).map { resized.pixels[$0] })
    }

    func testCustomCanvasAndRefusedConfigurations() throws {
        let pictures = try testPictures()
        let small = FashionMNISTScenes.Configuration(canvasWidth: 100, canvasHeight: 80, itemsPerScene: 2...3, itemSide: 20...200)
        let scenes = try FashionMNISTScenes(source: pictures, count: 10, seed: 1, configuration: small)
        for index in 0..<scenes.count {
            let sample = scenes.sample(at: index)
            XCTAssertEqual([sample.image.width, sample.image.height], [100, 80])
            for placement in scenes.placements(at: index) {
                XCTAssertTrue((20...80).contains(placement.region.width), "sides are capped at the shorter side")
                XCTAssertEqual(placement.box.clipped(width: 100, height: 80), placement.box)
            }
        }
        let tooLarge = FashionMNISTScenes.Configuration(canvasWidth: 30, canvasHeight: 30)
        XCTAssertThrowsError(try FashionMNISTScenes(source: pictures, count: 1, seed: 1, configuration: tooLarge)) { error in
            XCTAssertEqual(
                String(describing: error),
                "FashionMNISTScenes: expected item sides from 1 to the canvas's shorter side, got 40...160 on 30x30")
        }
        XCTAssertThrowsError(try FashionMNISTScenes(source: pictures, count: -1, seed: 1))
        XCTAssertThrowsError(try scenes.write(to: FileManager.default.temporaryDirectory, count: 11)) { error in
            XCTAssertEqual(String(describing: error), "FashionMNISTScenes.write: expected a count of 0 to 10, got 11")
        }
    }

    func testCOCORoundTripGivesIdenticalSamples() throws {
        let pictures = try testPictures()
        let scenes = try FashionMNISTScenes(source: pictures, count: 12, seed: 21)
        let folder = try TemporaryFolder()
        try scenes.write(to: folder.url, count: 9)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("images/000001.png").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("images/000009.png").path))

        let coco = try COCODetectionDataset(
            annotationsFile: folder.url.appendingPathComponent("instances.json"), imageFolder: folder.url)
        XCTAssertTrue(coco.skipped.isEmpty, coco.skipped.description)
        XCTAssertEqual(coco.count, 9)
        XCTAssertEqual(coco.classNames, scenes.classNames)
        XCTAssertEqual(coco.categoryIDs, Array(1...10))
        for index in 0..<coco.count {
            XCTAssertEqual(try coco.sample(at: index), scenes.sample(at: index), "scene \(index)")
        }
    }
}

/// A value shared by threads.
private final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func update(_ change: (inout Value) -> Void) {
        lock.lock()
        change(&stored)
        lock.unlock()
    }
}
