import MobileNetDetection
import MobileNetTensor
import XCTest

/// SSD's loss against torchvision's `compute_loss` (`Fixtures/ssd_loss.json`): the matching,
/// both terms, and the gradients with respect to both head outputs.
final class SSDLossTests: XCTestCase {
    struct Fixture: Decodable {
        struct Target: Decodable {
            var boxes: [[Float]]
            var labels: [Int]
        }
        struct Gradient: Decodable {
            var sum: Double
            var square_sum: Double
            var sample: [Float]
        }
        var classes: Int
        var targets: [Target]
        var regression_loss: Double
        var classification_loss: Double
        var matches: [[[Int]]]
        var gradient_sample_every: Int
        var regression_gradient: Gradient
        var logit_gradient: Gradient
    }

    private func draws(_ name: String, _ count: Int, scale: Double) -> [Float] {
        var generator = SplitMix64(seed: SplitMix64.seed(for: name))
        return (0..<count).map { _ in Float((generator.nextUnitInterval() * 2 - 1) * scale) }
    }

    func testLossAndGradientsEqualTorchvision() throws {
        let fixture = try DetectionFixtures.load("ssd_loss", as: Fixture.self)
        let detector = try SSDLite(SSDLiteConfiguration(classCount: fixture.classes), seed: nil)
        let anchors = detector.anchors
        let count = anchors.count
        let targets = fixture.targets.map { target in
            DetectionTarget(
                boxes: target.boxes.map { BoundingBox(x1: $0[0], y1: $0[1], x2: $0[2], y2: $0[3]) }, labels: target.labels)
        }
        let loss = SSDLoss()
        for (image, target) in targets.enumerated() {
            let expected = fixture.matches[image].flatMap { Array(repeating: $0[0], count: $0[1]) }
            XCTAssertEqual(loss.match(anchors: anchors, boxes: target.boxes), expected, "matches of image \(image)")
        }

        let regression = try Tensor(shape: [3, count, 4], values: draws("loss regression", 3 * count * 4, scale: 2))
        let logits = try Tensor(shape: [3, count, fixture.classes], values: draws("loss logits", 3 * count * fixture.classes, scale: 4))
        let tape = GradientTape()
        let (watchedRegression, watchedLogits) = (tape.watch(regression), tape.watch(logits))
        let terms = try tape.record {
            try loss(SSDHeadOutputs(boxRegression: watchedRegression, classLogits: watchedLogits), targets: targets, anchors: anchors)
        }
        XCTAssertEqual(Double(terms.boxRegression.scalars[0]), fixture.regression_loss, accuracy: fixture.regression_loss * 1e-5)
        XCTAssertEqual(Double(terms.classification.scalars[0]), fixture.classification_loss, accuracy: fixture.classification_loss * 1e-5)
        try tape.backward(from: try tape.record { try terms.total() })
        for (name, gradient, expected) in [
            ("regression", try XCTUnwrap(tape.gradient(for: watchedRegression)), fixture.regression_gradient),
            ("logits", try XCTUnwrap(tape.gradient(for: watchedLogits)), fixture.logit_gradient),
        ] {
            let values = gradient.scalars
            XCTAssertEqual(values.reduce(0.0) { $0 + Double($1) }, expected.sum, accuracy: 1e-5, name)
            XCTAssertEqual(values.reduce(0.0) { $0 + Double($1) * Double($1) }, expected.square_sum, accuracy: expected.square_sum * 1e-5, name)
            for (position, value) in expected.sample.enumerated() {
                XCTAssertEqual(values[position * fixture.gradient_sample_every], value, accuracy: 1e-6, "\(name) gradient \(position)")
            }
        }
    }

    /// The closed-form gradient against central differences of the loss, with the matching and
    /// the mining fixed (the differences are small enough not to change which negatives are hardest).
    func testGradientMatchesFiniteDifferences() throws {
        let anchors = (0..<12).map { BoundingBox(x1: Float($0 * 10), y1: 0, x2: Float($0 * 10 + 30), y2: 30) }
        let targets = [DetectionTarget(boxes: [BoundingBox(x1: 12, y1: 2, x2: 40, y2: 31)], labels: [2])]
        var generator = SplitMix64(seed: 9)
        let regression = Tensor.uniform([1, 12, 4], in: -1.5...1.5, using: &generator)
        let logits = Tensor.uniform([1, 12, 3], in: -2...2, using: &generator)
        let loss = SSDLoss()
        func value(_ r: Tensor, _ l: Tensor) throws -> Double {
            let terms = try loss(SSDHeadOutputs(boxRegression: r, classLogits: l), targets: targets, anchors: anchors)
            return Double(terms.boxRegression.scalars[0]) + Double(terms.classification.scalars[0])
        }
        let tape = GradientTape()
        let (r, l) = (tape.watch(regression), tape.watch(logits))
        let total = try tape.record { try loss(SSDHeadOutputs(boxRegression: r, classLogits: l), targets: targets, anchors: anchors).total() }
        try tape.backward(from: total)
        let step: Float = 1e-2
        for (position, (input, gradient)) in [(regression, try XCTUnwrap(tape.gradient(for: r))), (logits, try XCTUnwrap(tape.gradient(for: l)))].enumerated() {
            for index in 0..<input.elementCount {
                var plus = input, minus = input
                plus.withUnsafeMutableBufferPointer { $0[index] += step }
                minus.withUnsafeMutableBufferPointer { $0[index] -= step }
                let difference = position == 0
                    ? (try value(plus, logits) - value(minus, logits)) / Double(2 * step)
                    : (try value(regression, plus) - value(regression, minus)) / Double(2 * step)
                XCTAssertEqual(Double(gradient.scalars[index]), difference, accuracy: 2e-3, "operand \(position) element \(index)")
            }
        }
    }

    func testBadTargetsAreTypedErrors() throws {
        let anchors = [BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10)]
        let outputs = SSDHeadOutputs(boxRegression: .zeros([1, 1, 4]), classLogits: .zeros([1, 1, 3]))
        let box = BoundingBox(x1: 0, y1: 0, x2: 5, y2: 5)
        XCTAssertThrowsError(try SSDLoss()(outputs, targets: [DetectionTarget(boxes: [box], labels: [3])], anchors: anchors))
        XCTAssertThrowsError(try SSDLoss()(outputs, targets: [DetectionTarget(boxes: [box], labels: [0])], anchors: anchors))
        XCTAssertThrowsError(try SSDLoss()(outputs, targets: [], anchors: anchors))
        // No objects: no positives, so no negatives either; the loss is 0.
        let empty = try SSDLoss()(outputs, targets: [DetectionTarget(boxes: [], labels: [])], anchors: anchors)
        XCTAssertEqual(try empty.total().scalars, [0])
    }
}
