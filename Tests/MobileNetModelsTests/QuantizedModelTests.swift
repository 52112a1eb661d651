import MobileNetIO
import MobileNetModels
import MobileNetNN
import MobileNetTensor
import MobileNetTestSupport
import XCTest
@testable import MobileNetQuantization

/// int8 inference for every family: calibration, the quantized graph's choices, and the fused
/// int8 session against the fp32 one (the parity fixtures' deterministic weights).
final class QuantizedModelTests: XCTestCase {
    private func model(_ architecture: Architecture, width: Double, classes: Int = 10) throws -> any ImageClassifier {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: classes), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        return model
    }

    /// `count` images of `resolution`² drawn with `seed`, uniform in [-2, 2] like normalized photos.
    private func images(_ count: Int, resolution: Int, seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.uniform([count, resolution, resolution, 3], in: -2...2, using: &generator)
    }

    func testEveryFamilyRunsInInt8CloseToFP32() throws {
        let cases: [(Architecture, Double, Int)] = [(.v1, 0.25, 64), (.v2, 0.5, 64), (.v3Large, 0.5, 96), (.v3Small, 0.75, 64)]
        for (architecture, width, resolution) in cases {
            let model = try model(architecture, width: width)
            let int8 = try QuantizedModel(model, calibration: [images(4, resolution: resolution, seed: 1)])
            let batch = images(4, resolution: resolution, seed: 2)
            let quantized = try int8(batch)
            let fp32 = try InferenceModel(model)(batch)
            let error = zip(quantized.scalars, fp32.scalars).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
            let norm = fp32.scalars.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
            // Measured 2026-12-02, AVX-512 VNNI / AVX2: V1 0.03 / 0.05, V2 0.12 / 0.42, V3-Large
            // 0.18 / 0.57, V3-Small 0.02 / 0.15. These weights are uniform (most near their
            // channel's maximum, unlike trained ones), so without VNNI many 16-bit pair sums
            // saturate (``GraphQuantization/Accumulation/pairwiseSaturating``, which the
            // reference test pins bit for bit); a wrong scale, zero point or type anywhere gives
            // errors near 1 or beyond.
            let bound = GraphQuantization.Accumulation.native == .exact ? 0.4 : 0.8
            XCTAssertLessThan(error / norm, bound, "\(architecture) α=\(width) on \(CPUEngine.instructionSet)")
        }
    }
}

extension QuantizedModelTests {
    /// The fused oneDNN int8 plan against `InferenceGraph.evaluateQuantized`, the integer
    /// reference, bit for bit on every x86 CPU: the reference sums as this CPU's kernels do
    /// (exactly with VNNI; without it, in saturating 16-bit pairs), and activations are unsigned,
    /// whose sums oneDNN computes in full (``GraphQuantization``); CI's AVX2 leg runs it capped.
    /// These uniform weights saturate often: the two accumulations really differ here.
    func testFusedInt8EqualsTheIntegerReference() throws {
        let cases: [(Architecture, Double, Int)] = [(.v1, 0.25, 64), (.v2, 0.5, 64), (.v3Large, 0.5, 96), (.v3Small, 0.75, 64)]
        for (architecture, width, resolution) in cases {
            let model = try model(architecture, width: width)
            let calibration = [images(4, resolution: resolution, seed: 1)]
            let batch = images(3, resolution: resolution, seed: 2)
            // V1 has no residual add; the others in both add arithmetics.
            for arithmetic in GraphQuantization.AddArithmetic.allCases where architecture != .v1 && arithmetic != .onnxRuntime {
                let other = try QuantizedModel(model, calibration: calibration, addArithmetic: arithmetic)
                XCTAssertEqual(
                    try other(batch).scalars, try other.graph.evaluateQuantized(batch, other.quantization).scalars,
                    "\(architecture) α=\(width), adds as \(arithmetic), on \(CPUEngine.instructionSet)")
            }
            let int8 = try QuantizedModel(model, calibration: calibration)
            let fast = try int8(batch)
            let reference = try int8.graph.evaluateQuantized(batch, int8.quantization)
            XCTAssertEqual(fast.scalars, reference.scalars, "\(architecture) α=\(width) on \(CPUEngine.instructionSet)")
            let other: GraphQuantization.Accumulation = GraphQuantization.Accumulation.native == .exact ? .pairwiseSaturating : .exact
            let otherReference = try int8.graph.evaluateQuantized(batch, int8.quantization, accumulation: other)
            XCTAssertNotEqual(fast.scalars, otherReference.scalars, "\(architecture) α=\(width): \(other) should differ here")
        }
    }

    /// Awkward shapes the MobileNets do not have: odd channel counts, stride 2 with padding,
    /// depthwise, a residual with another scale, hard-swish, a batch of five across images.
    func testAwkwardShapesEqualTheReference() throws {
        var generator = SplitMix64(seed: 11)
        func weights(_ shape: Shape) -> Tensor { Tensor.uniform(shape, in: -0.5...0.5, using: &generator) }
        var graph = InferenceGraph()
        let input = graph.input(channels: 3)
        let stem = graph.convolution(
            input, weight: weights([7, 3, 3, 3]), bias: weights([7]), geometry: .init(stride: 2, padding: 1),
            post: [.activation(.hardSwish)])
        let depthwise = graph.convolution(
            stem, weight: weights([7, 1, 3, 3]), bias: weights([7]), geometry: .init(stride: 1, padding: 1, groups: 7),
            post: [.activation(.relu6)])
        let project = graph.convolution(depthwise, weight: weights([7, 7, 1, 1]), bias: weights([7]), geometry: .init(), post: [.add(stem)])
        let widen = graph.convolution(project, weight: weights([5, 7, 1, 1]), bias: weights([5]), geometry: .init(), post: [.activation(.relu)])
        let pooled = graph.globalAveragePool(widen)
        _ = graph.linear(pooled, weight: weights([3, 5]), bias: weights([3]))
        let calibration = Tensor.uniform([4, 17, 17, 3], in: -2...2, using: &generator)
        let quantization = GraphQuantizer.quantize(graph, statistics: try CalibrationStatistics(graph: graph, batches: [calibration]))
        XCTAssertEqual(quantization.values.map(\.type), [.uint8, .uint8, .uint8, .uint8, .uint8, .uint8, .float32])
        // The image, the hard-swish and the residual sum are asymmetric; the ReLUs' zero point is 0.
        XCTAssertEqual(quantization.values.map { $0.zeroPoint != 0 }, [true, true, false, true, false, false, false])
        let session = try InferenceSession(graph: graph, quantization: quantization)
        let threads = CPUEngine.threadCount
        CPUEngine.threadCount = 2
        defer { CPUEngine.threadCount = threads }
        let batch = Tensor.uniform([5, 17, 17, 3], in: -2...2, using: &generator)
        let reference = try graph.evaluateQuantized(batch, quantization)
        for parallelism in [InferenceSession.BatchParallelism.acrossImages, .withinPrimitives] {
            session.batchParallelism = parallelism
            let fast = try session.run(batch)
            XCTAssertEqual(fast.scalars, reference.scalars, "\(parallelism) on \(CPUEngine.instructionSet)")
        }
    }
}

/// The quantized model file: a round trip keeps every logit, and a foreign or damaged file is
/// refused naming the file and the key.
final class QuantizedModelFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("int8-file-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func quantized(_ architecture: Architecture = .v3Small, width: Double = 0.5) throws -> QuantizedModel {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: 10), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        var generator = SplitMix64(seed: 3)
        return try QuantizedModel(model, calibration: [Tensor.uniform([2, 64, 64, 3], in: -2...2, using: &generator)])
    }

    private let recipe = QuantizedModelFile.Recipe(method: "minmax", samples: 2, calibration: "random", biasCorrection: true)

    func testRoundTripKeepsEveryLogitAndTheRecipe() throws {
        for architecture in [Architecture.v1, .v2, .v3Small] {
            let original = try quantized(architecture)
            let url = folder.appendingPathComponent("\(architecture).safetensors")
            try QuantizedModelFile.write(original, recipe: recipe, to: url)
            let (loaded, recipe) = try QuantizedModelFile.read(contentsOf: url)
            XCTAssertEqual(recipe, self.recipe)
            XCTAssertEqual(loaded.configuration, original.configuration)
            XCTAssertEqual(loaded.quantization.values, original.quantization.values)
            var generator = SplitMix64(seed: 4)
            let batch = Tensor.uniform([2, 64, 64, 3], in: -2...2, using: &generator)
            XCTAssertEqual(try loaded(batch).scalars, try original(batch).scalars, "\(architecture)")
            XCTAssertThrowsError(try QuantizedModelFile.write(original, recipe: recipe, to: url), "no silent overwrite")
        }
    }

    func testForeignAndDamagedFilesAreRefusedByName() throws {
        let original = try quantized()
        let url = folder.appendingPathComponent("model.safetensors")
        try QuantizedModelFile.write(original, recipe: recipe, to: url)
        let good = try SafeTensors.readArchive(contentsOf: url)

        func refusal(_ archive: SafeTensorsArchive) throws -> String {
            let damaged = folder.appendingPathComponent("damaged-\(UUID().uuidString).safetensors")
            try SafeTensors.write(archive, to: damaged)
            do {
                _ = try QuantizedModelFile.read(contentsOf: damaged)
                return "accepted"
            } catch {
                XCTAssertTrue("\(error)".contains(damaged.path), "\(error) names the file")
                return "\(error)"
            }
        }
        // An ordinary float checkpoint.
        XCTAssertTrue(try refusal(SafeTensorsArchive(tensors: ["w": .float32(.zeros([2]))])).contains("not a quantized model"))
        var archive = good
        archive.metadata["variant"] = "v9"
        XCTAssertTrue(try refusal(archive).contains("\"variant\""))
        archive = good
        archive.metadata["width"] = "0.75"
        let widthRefusal = try refusal(archive)
        // Another width changes the shapes, and here where a block's channels match for a residual add (the step count).
        XCTAssertTrue(
            widthRefusal.contains("features.0.0.weight") || widthRefusal.contains("\"values.type\" is not U8"),
            "another width: the structure differs: \(widthRefusal)")
        archive = good
        archive.tensors["features.0.0.bias"] = nil
        XCTAssertTrue(try refusal(archive).contains("no tensor \"features.0.0.bias\""))
        archive = good
        archive.tensors["extra"] = .int8(shape: [1], values: [0])
        XCTAssertTrue(try refusal(archive).contains("\"extra\""))
        archive = good
        if case let .int8(shape, values)? = archive.tensors["features.0.0.weight"] {
            archive.tensors["features.0.0.weight"] = .int8(shape: shape, values: [-128] + values.dropFirst())
        }
        // The stem reads the image, whose zero point is not 0: its weights are 7-bit.
        XCTAssertTrue(try refusal(archive).contains("\"features.0.0.weight\": expected weights in ±63"))
        archive = good
        archive.tensors["values.zero_point"] = .int32(shape: [original.quantization.values.count], values: [256] + Array(repeating: 0, count: original.quantization.values.count - 1))
        XCTAssertTrue(try refusal(archive).contains("values.zero_point"))
        archive = good
        archive.metadata["version"] = "1"
        XCTAssertTrue(try refusal(archive).contains("\"version\" is \"1\", expected 4"))
        archive = good
        archive.metadata["add_arithmetic"] = "onednn"
        XCTAssertTrue(try refusal(archive).contains("\"add_arithmetic\" is \"onednn\", expected onnxruntime or xnnpack"))
        archive = good
        archive.tensors["values.scale"] = .float32(Tensor(repeating: .nan, shape: [original.quantization.values.count]))
        XCTAssertTrue(try refusal(archive).contains("values.scale"))

        // A file cut short is the reader's error, naming the file.
        let bytes = try Data(contentsOf: url)
        let cut = folder.appendingPathComponent("cut.safetensors")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        XCTAssertThrowsError(try QuantizedModelFile.read(contentsOf: cut)) { XCTAssertTrue("\($0)".contains(cut.path), "\($0)") }
    }
}

/// The calibration methods' thresholds on histograms whose answer is known.
final class CalibrationMethodTests: XCTestCase {
    /// `count` magnitudes spread evenly over [0, 1), and one of 100: the histogram over [0, 100].
    private func histogram(uniform count: Double) -> [Double] {
        var bins = [Double](repeating: 0, count: CalibrationStatistics.bins)
        let inside = CalibrationStatistics.bins / 100 // the bins below 1
        for bin in 0..<inside { bins[bin] = count / Double(inside) }
        bins[bins.count - 1] += 1
        return bins
    }

    func testPercentileClipsTheRareLargest() {
        let threshold = CalibrationStatistics.threshold(histogram(uniform: 100_000), largest: 100, levels: 255, method: .percentile(0.9999))
        XCTAssertEqual(threshold, 1, accuracy: 100 / Float(CalibrationStatistics.bins), "the outlier saturates")
        XCTAssertEqual(CalibrationStatistics.threshold(histogram(uniform: 100_000), largest: 100, levels: 255, method: .percentile(1)), 100)
    }

    /// One value of 100 clipped to `t` costs (100 − t)²; the others round with steps of t/255 and
    /// cost N·(t/255)²/12. The sum is least at t = 100 / (1 + N / (12 · 255²)): 88.6 for N = 10⁵,
    /// 43.8 for N = 10⁶ (the candidates are 100/256 apart).
    func testMeanSquaredErrorWeighsClippingAgainstRounding() {
        for count in [100_000.0, 1_000_000.0] {
            let optimum = Float(100 / (1 + count / (12 * 255 * 255)))
            let threshold = CalibrationStatistics.threshold(histogram(uniform: count), largest: 100, levels: 255, method: .meanSquaredError)
            XCTAssertEqual(threshold, optimum, accuracy: 100 / 256, "N = \(count)")
        }
    }

    func testEveryMethodQuantizesAModel() throws {
        let model = try makeModel(ModelConfiguration(.v3Small, widthMultiplier: 0.5, classCount: 10), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        var generator = SplitMix64(seed: 5)
        let calibration = [Tensor.uniform([2, 64, 64, 3], in: -2...2, using: &generator)]
        let batch = Tensor.uniform([2, 64, 64, 3], in: -2...2, using: &generator)
        let fp32 = try InferenceModel(model)(batch)
        var scales: [[Float]] = []
        for method in [CalibrationMethod.minMax, .percentile(0.999), .meanSquaredError] {
            let int8 = try QuantizedModel(model, calibration: calibration, method: method)
            scales.append(int8.quantization.values.map(\.scale))
            XCTAssertLessThan(try int8(batch).maxAbsoluteDifference(fp32), 0.5 * (fp32.scalars.map(abs).max() ?? 1), "\(method)")
        }
        XCTAssertNotEqual(scales[0], scales[1], "percentile changes ranges")
    }
}
