import Foundation
import MobileNetDetection
import XCTest

/// `COCOEvaluator` against pycocotools' `COCOeval` on the fixture from
/// `Scripts/generate_coco_eval_fixtures.py`, and on cases small enough to work out by hand.
final class COCOEvaluationTests: XCTestCase {
    struct Fixture: Decodable {
        struct Scenario: Decodable {
            let name: String
            let imageIDs: [Int]
            let categoryIDs: [Int]
            let stats: [Double]
            let categoryAveragePrecision: [Double]
            let table: String
            let annotations: [COCOGroundTruth]
            let detections: [COCODetection]
        }

        let pycocotools: String
        let scenarios: [Scenario]
    }

    func testTheTwelveNumbersAreThoseOfPycocotools() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "coco_eval", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.scenarios.map(\.name), ["synthetic", "small-only", "quirks"])
        for scenario in fixture.scenarios {
            let evaluator = try COCOEvaluator(
                groundTruths: scenario.annotations, imageIDs: scenario.imageIDs, categoryIDs: scenario.categoryIDs)
            let evaluation = try evaluator.evaluate(scenario.detections)
            let stats = evaluation.summary.stats
            XCTAssertEqual(stats.count, 12)
            for (index, (ours, theirs)) in zip(stats, scenario.stats).enumerated() {
                XCTAssertEqual(ours, theirs, accuracy: 1e-6, "\(scenario.name) stats[\(index)]")
            }
            let categories = zip(evaluation.categoryAveragePrecision, scenario.categoryAveragePrecision)
            for (category, (ours, theirs)) in zip(scenario.categoryIDs, categories) {
                XCTAssertEqual(ours, theirs, accuracy: 1e-6, "\(scenario.name) AP of category \(category)")
            }
            // The same float64 operations in the same order: equal to the last bit.
            XCTAssertEqual(stats, scenario.stats, scenario.name)
            XCTAssertEqual(evaluation.categoryAveragePrecision, scenario.categoryAveragePrecision, scenario.name)
            XCTAssertEqual(evaluation.description, scenario.table, scenario.name)
        }
    }

    func testThresholdsAreNumpysLinspace() {
        let parameters = COCOEvaluationParameters.boundingBox
        XCTAssertEqual(parameters.iouThresholds, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95])
        XCTAssertEqual(parameters.recallThresholds.count, 101)
        XCTAssertEqual(parameters.recallThresholds.first, 0)
        XCTAssertEqual(parameters.recallThresholds.last, 1)
        XCTAssertEqual(parameters.recallThresholds[35], 0.35000000000000003)
        XCTAssertEqual(parameters.recallThresholds[70], 0.7000000000000001)
        XCTAssertEqual(parameters.recallThresholds[50], 0.5)
        XCTAssertEqual(parameters.maxDetections, [1, 10, 100])
        XCTAssertEqual(parameters.areaRanges.map(\.label), ["all", "small", "medium", "large"])
        XCTAssertEqual(parameters.areaRanges.map(\.upperBound), [1e10, 1024, 9216, 1e10])
    }

    func testAPerfectDetectorHasAPOne() throws {
        let truths = [
            groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 10, height: 10)),
            groundTruth(2, image: 1, box: COCOBox(x: 50, y: 50, width: 60, height: 60)),
            groundTruth(3, image: 2, box: COCOBox(x: 0, y: 0, width: 200, height: 100)),
        ]
        let evaluation = try COCOEvaluator(groundTruths: truths).evaluate(
            truths.map { detection(image: $0.imageID, box: $0.box, score: 0.9) })
        XCTAssertEqual(evaluation.summary.averagePrecision, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averagePrecision50, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averagePrecisionSmall, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averagePrecisionMedium, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averagePrecisionLarge, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averageRecall100, 1)
        // maxDets 1 keeps one detection per image and category: 2 of the 3 objects.
        XCTAssertEqual(evaluation.summary.averageRecall1, 2.0 / 3.0, accuracy: 1e-12)
        // tp / (fp + tp + np.spacing(1)): one true positive alone has precision 1 - 2⁻⁵², not 1
        // (from two on, tp + 2⁻⁵² rounds back to tp).
        let single = try COCOEvaluator(groundTruths: [truths[0]])
            .evaluate([detection(image: 1, box: truths[0].box, score: 1)])
        XCTAssertEqual(single.precision(iou: 0, recall: 0, category: 0, area: 0, maxDetections: 2), 1 - 0x1p-52)
        XCTAssertEqual(evaluation.precision(iou: 0, recall: 100, category: 0, area: 0, maxDetections: 2), 1)
    }

    func testAFalsePositiveAboveTheTruePositiveHalvesThePrecision() throws {
        let truth = groundTruth(1, image: 1, box: COCOBox(x: 10, y: 10, width: 40, height: 40))
        let evaluator = try COCOEvaluator(groundTruths: [truth])
        let falseFirst = try evaluator.evaluate([
            detection(image: 1, box: COCOBox(x: 100, y: 100, width: 40, height: 40), score: 0.9),
            detection(image: 1, box: truth.box, score: 0.8),
        ])
        // Precision 0 then 1/2 at recall 1; the envelope makes it 1/2 at every recall threshold.
        XCTAssertEqual(falseFirst.summary.averagePrecision, 0.5, accuracy: 1e-12)
        XCTAssertEqual(falseFirst.summary.averageRecall100, 1)
        XCTAssertEqual(falseFirst.summary.averageRecall1, 0)
        let trueFirst = try evaluator.evaluate([
            detection(image: 1, box: COCOBox(x: 100, y: 100, width: 40, height: 40), score: 0.8),
            detection(image: 1, box: truth.box, score: 0.9),
        ])
        XCTAssertEqual(trueFirst.summary.averagePrecision, 1, accuracy: 1e-12)
        // Equal scores keep the given order.
        let tied = try evaluator.evaluate([
            detection(image: 1, box: COCOBox(x: 100, y: 100, width: 40, height: 40), score: 0.9),
            detection(image: 1, box: truth.box, score: 0.9),
        ])
        XCTAssertEqual(tied.summary.averagePrecision, 0.5, accuracy: 1e-12)
    }

    func testACrowdAbsorbsDuplicateDetections() throws {
        let person = groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 20, height: 40))
        let crowd = groundTruth(2, image: 1, box: COCOBox(x: 100, y: 0, width: 300, height: 200), isCrowd: true)
        let evaluator = try COCOEvaluator(groundTruths: [person, crowd])
        let inside = (0..<5).map { i in
            let box = COCOBox(x: 110 + 50 * Double(i), y: 20, width: 30, height: 60)
            return detection(image: 1, box: box, score: 0.95 - 0.01 * Double(i))
        }
        let found = detection(image: 1, box: person.box, score: 0.5)
        let evaluation = try evaluator.evaluate(inside + [found])
        // The five detections inside the crowd overlap it fully (intersection over their own area)
        // and are ignored, so the one real object is found without a false positive.
        XCTAssertEqual(evaluation.summary.averagePrecision, 1, accuracy: 1e-12)
        XCTAssertEqual(
            COCOBox(x: 110, y: 20, width: 30, height: 60).intersectionOverUnion(groundTruth: crowd.box, isCrowd: true), 1)
        // Without the crowd they are five false positives above the true one.
        let withoutCrowd = try COCOEvaluator(groundTruths: [person]).evaluate(inside + [found])
        XCTAssertEqual(withoutCrowd.summary.averagePrecision, 1.0 / 6.0, accuracy: 1e-12)
    }

    func testAnIoUOfExactlyTheThresholdMatches() throws {
        let truth = groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 100, height: 100))
        let half = detection(image: 1, box: COCOBox(x: 0, y: 0, width: 100, height: 50), score: 1)
        XCTAssertEqual(half.box.intersectionOverUnion(groundTruth: truth.box, isCrowd: false), 0.5)
        let evaluation = try COCOEvaluator(groundTruths: [truth]).evaluate([half])
        XCTAssertEqual(evaluation.summary.averagePrecision50, 1, accuracy: 1e-12)
        XCTAssertEqual(evaluation.summary.averagePrecision75, 0)
        XCTAssertEqual(evaluation.summary.averagePrecision, 0.1, accuracy: 1e-12)
    }

    func testAnAreaRangeWithoutGroundTruthIsMinusOne() throws {
        let small = groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 20, height: 20))
        let medium = groundTruth(2, image: 2, box: COCOBox(x: 0, y: 0, width: 50, height: 50), area: 1500)
        let evaluation = try COCOEvaluator(groundTruths: [small, medium], categoryIDs: [1, 2]).evaluate([
            detection(image: 1, box: small.box, score: 0.9),
            detection(image: 2, box: COCOBox(x: 300, y: 300, width: 200, height: 200), score: 0.8),
        ])
        let summary = evaluation.summary
        XCTAssertEqual(summary.averagePrecisionLarge, -1)
        XCTAssertEqual(summary.averageRecallLarge, -1)
        XCTAssertEqual(summary.averagePrecisionSmall, 1, accuracy: 1e-12)
        XCTAssertEqual(summary.averagePrecisionMedium, 0)
        // Category 2 has no ground truth: -1, and out of every mean.
        XCTAssertEqual(evaluation.averagePrecision(categoryID: 2), -1)
        XCTAssertNil(evaluation.averagePrecision(categoryID: 3))
        // Recall stops at 1/2: precision 1 at the 51 recall thresholds 0...0.5, 0 at the others.
        XCTAssertEqual(summary.averagePrecision, 51.0 / 101.0, accuracy: 1e-12)
        XCTAssertTrue(summary.description.hasSuffix("area= large | maxDets=100 ] = -1.000"), summary.description)
    }

    func testNoDetectionsGiveZeroAndAnImageWithoutAnnotationsCounts() throws {
        let truth = groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 50, height: 50))
        let evaluator = try COCOEvaluator(groundTruths: [truth], imageIDs: [1, 2])
        XCTAssertEqual(try evaluator.evaluate([]).summary.stats, [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1])
        // A detection on the image without annotations is a false positive above the true one.
        let evaluation = try evaluator.evaluate([
            detection(image: 2, box: truth.box, score: 0.9), detection(image: 1, box: truth.box, score: 0.8),
        ])
        XCTAssertEqual(evaluation.summary.averagePrecision, 0.5, accuracy: 1e-12)
    }

    func testBadInputIsRefused() throws {
        let truth = groundTruth(1, image: 1, box: COCOBox(x: 0, y: 0, width: 50, height: 50))
        let evaluator = try COCOEvaluator(groundTruths: [truth])
        XCTAssertThrowsError(try evaluator.evaluate([detection(image: 7, box: truth.box, score: 1)])) { error in
            XCTAssertEqual(error as? COCOEvaluationError, .detectionImageNotListed(detectionIndex: 0, imageID: 7))
        }
        let negative = COCOBox(x: 0, y: 0, width: -5, height: 5)
        let found = detection(image: 1, box: truth.box, score: 1)
        XCTAssertThrowsError(try evaluator.evaluate([found, detection(image: 1, box: negative, score: 1)])) {
            XCTAssertEqual($0 as? COCOEvaluationError, .invalidDetectionBox(detectionIndex: 1, box: negative))
        }
        XCTAssertThrowsError(try evaluator.evaluate([detection(image: 1, box: truth.box, score: .nan)])) {
            guard case .invalidScore(detectionIndex: 0, _) = $0 as? COCOEvaluationError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try COCOEvaluator(groundTruths: [truth, truth])) {
            XCTAssertEqual($0 as? COCOEvaluationError, .duplicateAnnotationID(1))
        }
        XCTAssertThrowsError(try COCOEvaluator(groundTruths: [truth], imageIDs: [2])) {
            XCTAssertEqual($0 as? COCOEvaluationError, .annotationImageNotListed(annotationID: 1, imageID: 1))
        }
        XCTAssertThrowsError(try COCOEvaluator(groundTruths: [groundTruth(3, image: 1, box: negative)])) {
            XCTAssertEqual($0 as? COCOEvaluationError, .invalidAnnotationBox(annotationID: 3, box: negative))
        }
        XCTAssertThrowsError(try COCOEvaluator(groundTruths: [groundTruth(4, image: 1, box: truth.box, area: -1)])) {
            XCTAssertEqual($0 as? COCOEvaluationError, .invalidArea(annotationID: 4, area: -1))
        }
        // A detection of a category not evaluated is left out, as pycocotools leaves it out.
        let other = try evaluator.evaluate([
            detection(image: 1, box: truth.box, score: 1, category: 9), detection(image: 1, box: truth.box, score: 0.5),
        ])
        XCTAssertEqual(other.summary.averagePrecision, 1, accuracy: 1e-12)
        XCTAssertEqual(
            COCOEvaluationError.detectionImageNotListed(detectionIndex: 0, imageID: 7).description,
            "detection 0 is on image 7, which is not among the evaluated images")
    }

    func testCOCOJSONForms() throws {
        let annotation = #"{"id":3,"image_id":5,"category_id":2,"bbox":[1,2,3.5,4],"iscrowd":1}"#
        let decoded = try JSONDecoder().decode(COCOGroundTruth.self, from: Data(annotation.utf8))
        let box = COCOBox(x: 1, y: 2, width: 3.5, height: 4)
        XCTAssertEqual(decoded, groundTruth(3, image: 5, box: box, isCrowd: true, category: 2))
        XCTAssertEqual(decoded.area, 14)
        XCTAssertEqual(try JSONDecoder().decode(COCOGroundTruth.self, from: JSONEncoder().encode(decoded)), decoded)
        let result = #"{"image_id":5,"category_id":2,"bbox":[1,2,3,4],"score":0.25}"#
        XCTAssertEqual(
            try JSONDecoder().decode(COCODetection.self, from: Data(result.utf8)),
            detection(image: 5, box: COCOBox(x: 1, y: 2, width: 3, height: 4), score: 0.25, category: 2))
        XCTAssertThrowsError(try JSONDecoder().decode(COCOBox.self, from: Data("[1,2,3]".utf8)))
        XCTAssertEqual(COCOBox(BoundingBox(x1: 1, y1: 2, x2: 4, y2: 8)), COCOBox(x: 1, y: 2, width: 3, height: 6))
    }

    /// 2,000 images of 100 detections each over 80 categories: seconds, not minutes.
    func testTwoThousandImagesOfAHundredDetections() throws {
        var generator = SplitMix(seed: 11)
        var truths: [COCOGroundTruth] = [], detections: [COCODetection] = []
        for image in 0..<2000 {
            for _ in 0..<7 {
                let box = COCOBox(x: generator.next(below: 500), y: generator.next(below: 400),
                                  width: 4 + generator.next(below: 200), height: 4 + generator.next(below: 200))
                let category = Int(generator.next(below: 80))
                truths.append(groundTruth(truths.count + 1, image: image, box: box, category: category))
            }
            for index in 0..<100 {
                // Two noisy copies of each of the image's 7 objects, then false positives.
                let anchor = truths[truths.count - 1 - index % 7]
                let box = index < 14
                    ? COCOBox(x: anchor.box.x + generator.next(below: 6), y: anchor.box.y + generator.next(below: 6),
                              width: anchor.box.width, height: anchor.box.height)
                    : COCOBox(x: generator.next(below: 600), y: generator.next(below: 400),
                              width: 2 + generator.next(below: 100), height: 2 + generator.next(below: 100))
                let category = index < 14 ? anchor.categoryID : Int(generator.next(below: 80))
                detections.append(detection(image: image, box: box, score: generator.next(below: 1), category: category))
            }
        }
        let start = Date()
        let evaluation = try COCOEvaluator(groundTruths: truths).evaluate(detections)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(evaluation.summary.averagePrecision50, 0.05)
        XCTAssertLessThan(seconds, 60, "\(seconds) s")
        print("COCO evaluation of \(detections.count) detections on 2,000 images: \(String(format: "%.2f", seconds)) s")
    }

    private func groundTruth(
        _ id: Int, image: Int, box: COCOBox, area: Double? = nil, isCrowd: Bool = false, category: Int = 1
    ) -> COCOGroundTruth {
        COCOGroundTruth(id: id, imageID: image, categoryID: category, box: box, area: area, isCrowd: isCrowd)
    }

    private func detection(image: Int, box: COCOBox, score: Double, category: Int = 1) -> COCODetection {
        COCODetection(imageID: image, categoryID: category, box: box, score: score)
    }
}

/// A small seeded generator, so the timing test draws the same boxes on every machine.
private struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(below limit: Double) -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53) * limit
    }
}
