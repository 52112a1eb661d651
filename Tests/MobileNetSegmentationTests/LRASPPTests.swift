import MobileNetData
import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetSegmentation
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// LR-ASPP against torchvision's `lraspp_mobilenet_v3_large`: structure
/// (`Fixtures/lraspp_structure.json`) and logits on a photo (`Fixtures/lraspp_parity.json`).
final class LRASPPTests: XCTestCase {
    func testParametersKeysAndShapesEqualTorchvision() throws {
        let fixture = try SegmentationFixtures.load("lraspp_structure", as: SegmentationFixtures.Structure.self)
        XCTAssertEqual(fixture.models.map(\.parameters), [3_221_538, 3_219_838])  // the numbers
        for model in fixture.models {
            let segmenter = try LRASPP(LRASPPConfiguration(classCount: model.classes), seed: nil)
            XCTAssertEqual(segmenter.parameterCount, model.parameters, "\(model.classes) classes")
            let ours = segmenter.namedState().map { "\($0.key) \($0.parameter.shape.dimensions)" }
            let theirs = model.state.map { entry -> String in
                guard case let .key(key) = entry[0], case let .shape(shape) = entry[1] else { return "?" }
                return "\(key) \(shape)"
            }
            XCTAssertEqual(ours.count, theirs.count, "\(model.classes) classes")
            for (mine, reference) in zip(ours, theirs) where mine != reference {
                XCTFail("\(model.classes) classes: \(mine) where torchvision has \(reference)")
                break
            }
        }
        let segmenter = try LRASPP(LRASPPConfiguration(classCount: 11), seed: 1)
        segmenter.setTraining(false)
        let (low, high) = try segmenter.features(Tensor(repeating: 0.1, shape: [1, 512, 512, 3]))
        XCTAssertEqual([low.shape[0], low.shape[3], low.shape[1], low.shape[2]], fixture.low_shape)
        XCTAssertEqual([high.shape[0], high.shape[3], high.shape[1], high.shape[2]], fixture.high_shape)
    }

    func testLogitsEqualTorchvisionOnAPhoto() throws {
        let fixture = try SegmentationFixtures.load("lraspp_parity", as: SegmentationFixtures.Parity.self)
        let segmenter = try LRASPP(LRASPPConfiguration(classCount: fixture.classes), seed: nil)
        segmenter.setTraining(false)
        let checksum = DeterministicFill.fill(segmenter)
        XCTAssertEqual(checksum, fixture.weight_checksum, accuracy: abs(fixture.weight_checksum) * 1e-9, "the weights differ")
        let photo = try ImageDecoder.decode(contentsOf: SegmentationFixtures.repository.appendingPathComponent("Examples/cat.jpg"))
        let input = try ImageTransforms.normalizedTensor(photo, mean: fixture.mean, standardDeviation: fixture.std)
        let inputSum = input.scalars.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(inputSum, fixture.input_sum, accuracy: abs(fixture.input_sum) * 1e-6 + 1e-2, "the normalized photo differs")

        let logits = try segmenter(input)
        XCTAssertEqual(logits.shape, [1, fixture.height, fixture.width, fixture.classes])
        let (height, width, classes) = (fixture.height, fixture.width, fixture.classes)
        let values = logits.scalars
        // The fixture is NCHW: value i is class i / (H W), pixel i mod (H W).
        func value(nchw index: Int) -> Float {
            let k = index / (height * width), pixel = index % (height * width)
            return values[pixel * classes + k]
        }
        var worst: Float = 0
        for (position, expected) in fixture.sample.enumerated() {
            let ours = value(nchw: position * fixture.sample_every)
            worst = max(worst, abs(ours - expected) / max(abs(expected), 1))
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, "largest relative difference of the sampled logits")
        for k in 0..<classes {
            var sum = 0.0, absSum = 0.0
            for pixel in 0..<(height * width) {
                let v = Double(values[pixel * classes + k])
                sum += v
                absSum += abs(v)
            }
            // Every pixel, through the sums: a mean deviation of 1e-5 of each value's size at most.
            XCTAssertEqual(sum, fixture.class_sums[k], accuracy: fixture.class_abs_sums[k] * 1e-5, "class \(k)")
            XCTAssertEqual(absSum, fixture.class_abs_sums[k], accuracy: fixture.class_abs_sums[k] * 1e-5, "class \(k)")
        }
        var agreeing = 0
        for (position, expected) in fixture.argmax_sample.enumerated() {
            let pixel = position * fixture.pixel_sample_every
            let row = values[(pixel * classes)..<((pixel + 1) * classes)]
            if row.indices.max(by: { row[$0] < row[$1] })! - pixel * classes == expected { agreeing += 1 }
        }
        // Ties within float rounding may pick another class at a handful of pixels.
        XCTAssertGreaterThanOrEqual(Double(agreeing), 0.995 * Double(fixture.argmax_sample.count))
    }

    func testPerPixelCrossEntropyWithIgnoredPixelsEqualsPyTorch() throws {
        let fixture = try SegmentationFixtures.load("cross_entropy_ignore", as: SegmentationFixtures.CrossEntropy.self)
        let classes = fixture.shape_nhwc[3]
        let logits = try Tensor(shape: Shape(fixture.shape_nhwc), values: fixture.logits_nhwc)
        let tape = GradientTape()
        let tracked = tape.watch(logits)
        let loss = try tape.record {
            try crossEntropy(logits: tracked.reshaped([fixture.target.count, classes]), labels: fixture.target, ignoreIndex: 255)
        }
        XCTAssertEqual(loss.scalars[0], fixture.loss, accuracy: 1e-6)
        try tape.backward(from: loss)
        let gradient = try XCTUnwrap(tape.gradient(for: tracked))
        // Float32 log-softmax on both sides, rounded differently: a few ulps of the inputs.
        for (ours, theirs) in zip(gradient.scalars, fixture.gradient_nhwc) {
            XCTAssertEqual(ours, theirs, accuracy: 1e-6)
        }
        XCTAssertEqual(zip(gradient.scalars, fixture.target.flatMap { Array(repeating: $0, count: classes) }).filter { $1 == 255 && $0 != 0 }.count, 0,
                       "ignored pixels get no gradient")
        // Every pixel ignored: nothing to learn from, not NaN.
        let none = try crossEntropy(logits: logits.reshaped([fixture.target.count, classes]),
                                    labels: Array(repeating: 255, count: fixture.target.count), ignoreIndex: 255)
        XCTAssertEqual(none.scalars[0], 0)
        XCTAssertThrowsError(try crossEntropy(logits: logits.reshaped([fixture.target.count, classes]),
                                              labels: Array(repeating: 254, count: fixture.target.count), ignoreIndex: 255))
    }
}
