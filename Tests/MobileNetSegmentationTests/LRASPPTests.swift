import MobileNetData
import MobileNetDetection
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

        // The modules, the fused graph (LRASPPInference) and that graph run step by step unfused
        // (both end at the scores, resized to the photo's size as the model does).
        let fused = try LRASPPInference(segmenter)
        let graphScores = try fused.session.graph.evaluate(input)
        let paths = [
            ("modules", try segmenter(input)), ("fused", try fused.logits(input)),
            ("graph", try resizeBilinear(graphScores, height: input.shape[1], width: input.shape[2])),
        ]
        for (path, logits) in paths {
            try assertLogits(logits, equal: fixture, path)
        }
    }

    private func assertLogits(_ logits: Tensor, equal fixture: SegmentationFixtures.Parity, _ path: String) throws {
        XCTAssertEqual(logits.shape, [1, fixture.height, fixture.width, fixture.classes], path)
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
        XCTAssertLessThanOrEqual(worst, 1e-4, "\(path): largest relative difference of the sampled logits")
        for k in 0..<classes {
            var sum = 0.0, absSum = 0.0
            for pixel in 0..<(height * width) {
                let v = Double(values[pixel * classes + k])
                sum += v
                absSum += abs(v)
            }
            // Every pixel, through the sums: a mean deviation of 1e-5 of each value's size at most.
            XCTAssertEqual(sum, fixture.class_sums[k], accuracy: fixture.class_abs_sums[k] * 1e-5, "\(path): class \(k)")
            XCTAssertEqual(absSum, fixture.class_abs_sums[k], accuracy: fixture.class_abs_sums[k] * 1e-5, "\(path): class \(k)")
        }
        var agreeing = 0
        for (position, expected) in fixture.argmax_sample.enumerated() {
            let pixel = position * fixture.pixel_sample_every
            let row = values[(pixel * classes)..<((pixel + 1) * classes)]
            if row.indices.max(by: { row[$0] < row[$1] })! - pixel * classes == expected { agreeing += 1 }
        }
        // Ties within float rounding may pick another class at a handful of pixels.
        XCTAssertGreaterThanOrEqual(Double(agreeing), 0.995 * Double(fixture.argmax_sample.count), path)
    }

    /// A batch of two through the fused graph (each thread taking an image) equals the modules,
    /// at a size whose low and high features do not divide evenly (odd sides), for a model
    /// with 11 classes at width 0.75.
    func testFusedBatchEqualsTheModules() throws {
        let segmenter = try LRASPP(LRASPPConfiguration(widthMultiplier: 0.75, classCount: 11), seed: 3)
        segmenter.setTraining(false)
        _ = DeterministicFill.fill(segmenter)
        let scenes = try FashionMNISTScenes(split: .test, count: 2, seed: 5, configuration: .init(canvasWidth: 83, canvasHeight: 61, itemSide: 12...40))
        let input = try SegmentationEvaluation.normalized([try scenes.image(at: 0), try scenes.image(at: 1)])
        let expected = try segmenter(input), fused = try LRASPPInference(segmenter)
        let ours = try fused.logits(input)
        XCTAssertEqual(ours.shape, [2, 61, 83, 11])
        let scale = expected.scalars.map(abs).max()!
        let worst = zip(ours.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1), "largest difference, of logits up to \(scale)")
        let scene = try scenes.image(at: 0)
        let (sampled, full) = (try fused.segment([scene], baseSize: 48)[0], try segmenter.segment([scene], baseSize: 48)[0])
        XCTAssertEqual(sampled.count, 83 * 61)
        // Ties within float rounding may go the other way at a pixel or two.
        XCTAssertGreaterThanOrEqual(zip(sampled, full).filter { $0 == $1 }.count, sampled.count * 998 / 1000)
        XCTAssertThrowsError(try fused.logits(Tensor.zeros([1, 8, 8, 3])), "smaller than the smallest input")
    }

    /// The class map sampled from the scores equals the long way (the scores resized to the
    /// input's size, the arg-max, the map resized to the photo's), for photos smaller and
    /// larger than the input, and classes that tie exactly (the first wins, as in the arg-max).
    func testClassMapFromScoresEqualsTheFullSizeArgmax() throws {
        let segmenter = try LRASPP(LRASPPConfiguration(widthMultiplier: 0.5, classCount: 5), seed: 1)
        let fused = try LRASPPInference(segmenter)
        var generator = SplitMix64(seed: 9)
        var values = (0..<(2 * 7 * 9 * 5)).map { _ in Float(generator.nextIndex(below: 1000)) / 100 }
        for pixel in stride(from: 0, to: 2 * 7 * 9, by: 5) { values[pixel * 5 + 3] = values[pixel * 5 + 1] }
        let scores = try Tensor(shape: [2, 7, 9, 5], values: values)
        for (input, photo) in [((width: 72, height: 56), (width: 41, height: 30)), ((width: 72, height: 56), (width: 150, height: 97))] {
            let maps = try fused.classMap(scores, inputSize: input, photoSize: photo)
            let logits = try resizeBilinear(scores, height: input.height, width: input.width)
            let labels = SegmentationEvaluation.argmax(logits, classes: 5)
            for n in 0..<2 {
                let pixels = input.width * input.height
                let expected = SegmentationTransforms.resizeLabels(
                    Array(labels[(n * pixels)..<((n + 1) * pixels)]), width: input.width, height: input.height, to: photo.width, photo.height)
                XCTAssertEqual(maps[n], expected, "image \(n), \(photo.width)x\(photo.height) from \(input.width)x\(input.height)")
            }
        }
        XCTAssertThrowsError(try fused.classMap(scores, inputSize: (0, 56), photoSize: (10, 10)))
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
