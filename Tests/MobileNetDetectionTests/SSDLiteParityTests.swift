import MobileNetDetection
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// Same weights and the same photo as torchvision ⇒ the same head outputs and detections
/// (`Fixtures/ssdlite_parity.json`, `ssdlite_postprocess.json`, `dilated_v3.json` from
/// `Scripts/generate_detection_fixtures.py`).
final class SSDLiteParityTests: XCTestCase {
    /// |ours - torchvision's| ≤ 1e-4 · max(|torchvision's|, 1), for every compared value.
    private func assertClose(_ ours: Float, _ theirs: Float, _ tolerance: Float = 1e-4, _ label: @autoclosure () -> String) {
        XCTAssertLessThanOrEqual(abs(ours - theirs), tolerance * max(abs(theirs), 1), "\(label()): \(ours) vs \(theirs)")
    }

    /// The same detections as torchvision's, in the same order but for scores that tie within
    /// `scoreTolerance` (their order is the float rounding's): each of torchvision's detections
    /// matched to one of ours of the same label, score and box, at most a tie away in the list.
    /// `boxTolerance` is in pixels: a corner is the difference of a box's centre and half its
    /// side, so its error follows the box's size, not the corner's value.
    private func assertDetectionsEqual(
        _ ours: [Detection], _ theirs: DetectionFixtures.Detections, boxTolerance: Float, scoreTolerance: Float
    ) {
        XCTAssertEqual(ours.count, theirs.scores.count, "number of detections")
        func close(_ a: Float, _ b: Float, _ tolerance: Float) -> Bool { abs(a - b) <= tolerance * max(abs(b), 1) }
        var unmatched = Array(ours.indices)
        var reordered = 0
        for (index, box) in theirs.boxes.enumerated() {
            let reference = BoundingBox(x1: box[0], y1: box[1], x2: box[2], y2: box[3])
            let match = unmatched.firstIndex { candidate in
                let detection = ours[candidate]
                return detection.label == theirs.labels[index] && close(detection.score, theirs.scores[index], scoreTolerance)
                    && zip([detection.box.x1, detection.box.y1, detection.box.x2, detection.box.y2],
                           [reference.x1, reference.y1, reference.x2, reference.y2]).allSatisfy { abs($0 - $1) <= boxTolerance }
            }
            guard let match else {
                XCTFail("torchvision's detection \(index) (label \(theirs.labels[index]), score \(theirs.scores[index]), \(reference)) has no equal")
                continue
            }
            let position = unmatched.remove(at: match)
            if position != index {
                reordered += 1
                XCTAssertEqual(ours[position].score, theirs.scores[index], accuracy: scoreTolerance, "only ties may swap")
            }
        }
        XCTAssertLessThanOrEqual(reordered, 4, "detections out of torchvision's order")
    }

    func testHeadOutputsAndDetectionsEqualTorchvisionOnAPhoto() throws {
        let fixture = try DetectionFixtures.load("ssdlite_parity", as: DetectionFixtures.Parity.self)
        let detector = try SSDLite(SSDLiteConfiguration(classCount: fixture.classes), seed: nil)
        detector.setTraining(false)
        let checksum = DeterministicFill.fill(detector)
        XCTAssertEqual(checksum, fixture.weight_checksum, accuracy: abs(fixture.weight_checksum) * 1e-9, "the weights differ")
        let photo = try ImageDecoder.decode(contentsOf: DetectionFixtures.repository.appendingPathComponent("Examples/cat.jpg"))
        let input = try detector.transform(photo)
        let inputSum = input.scalars.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(inputSum, fixture.input_sum, accuracy: abs(fixture.input_sum) * 1e-6 + 1e-2, "the resized photo differs")

        let modules = try detector(input)
        // The compiled path gives the modules' outputs; both are compared with torchvision's.
        let fused = try SSDLiteInference(detector).headOutputs(input)
        XCTAssertLessThanOrEqual(fused.classLogits.maxAbsoluteDifference(modules.classLogits), 1e-3)
        XCTAssertLessThanOrEqual(fused.boxRegression.maxAbsoluteDifference(modules.boxRegression), 1e-3)
        for outputs in [modules, fused] {
            let regression = outputs.boxRegression.scalars, logits = outputs.classLogits.scalars
            for (row, expected) in fixture.regression_rows.enumerated() {
                for (column, value) in expected.enumerated() {
                    assertClose(regression[row * fixture.row_sample_every * 4 + column], value, 1e-4,
                                "regression row \(row * fixture.row_sample_every)")
                }
            }
            for (row, expected) in fixture.logit_rows.enumerated() {
                for (column, value) in expected.enumerated() {
                    assertClose(logits[row * fixture.row_sample_every * fixture.classes + column], value, 1e-4,
                                "logits row \(row * fixture.row_sample_every)")
                }
            }
            func sums(_ values: [Float]) -> (Double, Double) {
                values.reduce((0.0, 0.0)) { ($0.0 + Double($1), $0.1 + Double(abs($1))) }
            }
            let (regressionSum, regressionAbsSum) = sums(regression), (logitSum, logitAbsSum) = sums(logits)
            // Every anchor row, through its sums: a mean deviation of 1e-5 per value at most.
            XCTAssertEqual(regressionSum, fixture.regression_sum, accuracy: Double(regression.count) * 1e-5)
            XCTAssertEqual(regressionAbsSum, fixture.regression_abs_sum, accuracy: Double(regression.count) * 1e-5)
            XCTAssertEqual(logitSum, fixture.logit_sum, accuracy: Double(logits.count) * 1e-5)
            XCTAssertEqual(logitAbsSum, fixture.logit_abs_sum, accuracy: Double(logits.count) * 1e-5)
        }

        detector.postprocessor.scoreThreshold = fixture.score_threshold
        // Boxes in the photo's pixels, to 1e-4 of its larger side.
        let boxTolerance = 1e-4 * Float(max(photo.width, photo.height))
        assertDetectionsEqual(try detector.detect([photo])[0], fixture.detections, boxTolerance: boxTolerance, scoreTolerance: 1e-4)
        assertDetectionsEqual(
            try SSDLiteInference(detector).detect([photo])[0], fixture.detections, boxTolerance: boxTolerance, scoreTolerance: 1e-4)
    }

    /// torchvision's post-processing alone, on synthetic head outputs of 6 classes for a 500x375
    /// picture: every one of the 300 detections, in order.
    func testPostprocessingEqualsTorchvision() throws {
        let fixture = try DetectionFixtures.load("ssdlite_postprocess", as: DetectionFixtures.Postprocess.self)
        let detector = try SSDLite(SSDLiteConfiguration(classCount: fixture.classes), seed: nil)
        let anchors = detector.anchors
        XCTAssertEqual(anchors.count, fixture.anchor_count)
        func draws(_ name: String, _ count: Int, scale: Double) -> [Float] {
            var generator = SplitMix64(seed: SplitMix64.seed(for: name))
            return (0..<count).map { _ in Float((generator.nextUnitInterval() * 2 - 1) * scale) }
        }
        let outputs = SSDHeadOutputs(
            boxRegression: try Tensor(shape: [1, anchors.count, 4], values: draws("regression", anchors.count * 4, scale: 2)),
            classLogits: try Tensor(
                shape: [1, anchors.count, fixture.classes], values: draws("logits", anchors.count * fixture.classes, scale: 6)))
        let detections = try detector.postprocessor.detections(
            outputs, anchors: anchors, inputSize: (320, 320), originalSizes: [(fixture.width, fixture.height)])[0]
        assertDetectionsEqual(detections, fixture.detections, boxTolerance: 1e-3, scoreTolerance: 1e-6)
    }

    func testDilatedMobileNetV3EqualsTorchvision() throws {
        let fixture = try DetectionFixtures.load("dilated_v3", as: DetectionFixtures.Dilated.self)
        let model = MobileNetV3(ModelConfiguration(.v3Large, classCount: fixture.classes), dilated: true)
        model.setTraining(false)
        let checksum = DeterministicFill.fill(model)
        XCTAssertEqual(checksum, fixture.weight_checksum, accuracy: abs(fixture.weight_checksum) * 1e-9)
        let (input, _) = try DeterministicFill.input(batch: 1, resolution: fixture.resolution)
        let features = try model.extractFeatures(input, at: []).last
        XCTAssertEqual([features.shape[0], features.shape[3], features.shape[1], features.shape[2]], fixture.feature_shape)
        for (index, (mine, theirs)) in zip(try model(input).scalars, fixture.logits).enumerated() {
            assertClose(mine, theirs, 1e-4, "logit \(index)")
        }
    }
}
