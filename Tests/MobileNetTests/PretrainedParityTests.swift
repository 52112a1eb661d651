import Foundation
import MobileNet
import XCTest

/// torchvision's pretrained MobileNetV2 on the bundled photos, against PyTorch's own results
/// (fixture: `Fixtures/pretrained_mobilenet_v2.json`, from `Scripts/generate_pretrained_fixtures.py`).
///
/// Needs the checkpoint in the weights cache (`make weights`; `make test` fetches it).
final class PretrainedParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Photo: Decodable {
            struct Top: Decodable {
                var index: Int
                var probability: Float
            }
            var file: String
            var resized_size: [Int]
            var crop_fnv1a64: String
            var top5: [Top]
            var logits: [Float]
        }
        var photos: [Photo]
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func classifier() throws -> PretrainedClassifier {
        do {
            return try PretrainedClassifier(weights: .mobileNetV2ImageNet)
        } catch let error as WeightsCacheError {
            throw XCTSkip("skipped: \(error)")
        }
    }

    static func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "pretrained_mobilenet_v2", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// The modules with the published weights, for the layer-by-layer path.
    private func model() throws -> any ImageClassifier {
        try PretrainedClassifier.loadModel(
            configuration: PretrainedWeights.mobileNetV2ImageNet.configuration,
            file: WeightsCache.locate(PretrainedWeights.mobileNetV2ImageNet.fileName))
    }

    func testPhotosGetPyTorchsLogitsAndTopFive() throws {
        let classifier = try classifier()
        let model = try model()
        let fixture = try Self.fixture()
        XCTAssertEqual(fixture.photos.count, 2)
        for photo in fixture.photos {
            let image = try ImageDecoder.decode(contentsOf: Self.repository.appendingPathComponent(photo.file))
            let resized = try ImageTransforms.resizeShorterSide(image, to: 256)
            XCTAssertEqual([resized.width, resized.height], photo.resized_size, photo.file)
            let crop = try classifier.prepare(image)
            XCTAssertEqual(String(fnv1a64(crop.pixels)), photo.crop_fnv1a64, "\(photo.file): the 224x224 crop differs from PIL's")

            let logits = try model(classifier.inputBatch(prepared: [crop]))
            let expected = try Tensor(shape: [1, 1000], values: photo.logits)
            let error = logits.maxAbsoluteDifference(expected)
            XCTAssertLessThanOrEqual(error, 1e-3, "\(photo.file): max |Δlogit| = \(error)")

            let top = try classifier.classify([image], top: 5)[0]
            XCTAssertEqual(top.map(\.index), photo.top5.map(\.index), photo.file)
            for (mine, theirs) in zip(top, photo.top5) {
                XCTAssertEqual(mine.probability, theirs.probability, accuracy: 0.005, "\(photo.file) class \(mine.index)")
            }
        }
    }

    func testOneBatchEqualsSeparatePasses() throws {
        let classifier = try classifier()
        let images = try ["Examples/cat.jpg", "Examples/coffee.jpg"].map {
            try ImageDecoder.decode(contentsOf: Self.repository.appendingPathComponent($0))
        }
        let batch = try classifier.logits(images)
        for (row, image) in images.enumerated() {
            let single = try classifier.logits([image])
            for k in 0..<1000 {
                XCTAssertEqual(batch[row, k], single[0, k], accuracy: 1e-4)
            }
        }
        let labels = try classifier.classify(images, top: 1).map { $0[0].label }
        XCTAssertEqual(labels, ["Egyptian cat", "espresso"])
    }

    func testFusedPathEqualsTheUnfusedModelOnRealPhotos() throws {
        let classifier = try classifier()
        let images = try ["Examples/cat.jpg", "Examples/coffee.jpg"].map {
            try ImageDecoder.decode(contentsOf: Self.repository.appendingPathComponent($0))
        }
        let model = try model()
        let fused = try classifier.logits(images)
        let unfused = try model(classifier.inputBatch(prepared: images.map(classifier.prepare)))
        let error = fused.maxAbsoluteDifference(unfused)
        XCTAssertLessThanOrEqual(error, 1e-3, "fused vs unfused: max |Δlogit| = \(error)")
        let reference = try Engine.$current.withValue(ReferenceEngine()) {
            try model(classifier.inputBatch(prepared: [classifier.prepare(images[0])]))
        }
        let referenceError = try classifier.logits([images[0]]).maxAbsoluteDifference(reference)
        XCTAssertLessThanOrEqual(referenceError, 1e-3, "fused vs the reference engine: max |Δlogit| = \(referenceError)")
    }

    func testLabelsAreTheThousandImageNetClasses() {
        XCTAssertEqual(ImageNetLabels.names.count, 1000)
        XCTAssertEqual(ImageNetLabels.name(0), "tench")
        XCTAssertEqual(ImageNetLabels.name(967), "espresso")
        XCTAssertEqual(ImageNetLabels.name(999), "toilet tissue")
    }

    func testMissingWeightsSayHowToFetchThem() throws {
        setenv("MOBILENET_HOME", "/nonexistent/mobilenet-home", 1)
        defer { unsetenv("MOBILENET_HOME") }
        XCTAssertThrowsError(try PretrainedClassifier(weights: .mobileNetV2ImageNet)) { error in
            XCTAssertEqual(error as? WeightsCacheError, .notFound(path: "/nonexistent/mobilenet-home/mobilenet_v2-b0353104.pth"))
            XCTAssertTrue("\(error)".contains("make weights"))
        }
    }
}
