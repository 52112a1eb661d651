import Foundation
import MobileNetExport
import MobileNetModels
import MobileNetQuantization
import MobileNetTensor
import MobileNetTestSupport
import XCTest

/// Exported ONNX files in the real runtime: `onnx.checker` and ONNX Runtime, through
/// `Scripts/check_export.py` in the test-only virtualenv `make test` creates
/// (`MOBILENET_EXPORT_PYTHON`, default `~/.cache/mobilenet-export-venv/bin/python`).
final class ONNXExportTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func images(_ count: Int, resolution: Int, seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        return Tensor.uniform([count, resolution, resolution, 3], in: -2...2, using: &generator)
    }

    /// Every family at a width and resolution of its own, a batch of three through the dynamic
    /// batch axis: ONNX Runtime's logits within 1e-4 of ours (max abs).
    func testEveryFamilyMatchesONNXRuntime() throws {
        let cases: [(Architecture, Double, Int)] = [(.v1, 0.5, 96), (.v2, 0.75, 128), (.v3Large, 1.0, 64), (.v3Small, 0.75, 112)]
        for (architecture, width, resolution) in cases {
            let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: 10), seed: nil)
            model.setTraining(false)
            DeterministicFill.fill(model)
            let batch = images(3, resolution: resolution, seed: 5)
            let expected = try InferenceModel(model)(batch)
            let label = "\(architecture)-\(width)-\(resolution)"
            let result = try ExportCheck.run(ONNXExporter.data(model, resolution: resolution), images: batch, expected: expected, label: label, in: folder)
            XCTAssertEqual(result["checker"] as? String, "ok", label)
            XCTAssertEqual(result["shape"] as? [Int], [3, 10], label)
            let difference = try XCTUnwrap(result["max_abs_diff"] as? Double, label)
            let largest = expected.scalars.map { abs(Double($0)) }.max() ?? 0
            XCTAssertLessThan(difference, 1e-4, "\(label): logits up to \(largest)")
        }
    }

    /// The export names its initializers after the state dict and declares what ONNX Runtime
    /// and torchvision users expect: ir 8, opset 17, `input` NCHW with a symbolic batch, `logits`.
    func testGraphInterfaceAndNames() throws {
        let model = try makeModel(ModelConfiguration(.v2, widthMultiplier: 0.5, classCount: 7), seed: 1)
        model.setTraining(false)
        let proto = try ONNXExporter.model(model, resolution: 160)
        XCTAssertEqual(proto.irVersion, 8)
        XCTAssertEqual(proto.opsetImport.map(\.version), [17])
        XCTAssertEqual(proto.graph.input.map(\.name), ["input"])
        XCTAssertEqual(proto.graph.output.map(\.name), ["logits"])
        let dimensions = proto.graph.input[0].type.tensorType.shape.dim
        XCTAssertEqual(dimensions.first?.dimParam, "N")
        XCTAssertEqual(dimensions.dropFirst().map(\.dimValue), [3, 160, 160])
        let names = Set(proto.graph.initializer.map(\.name))
        for key in ["features.0.0.weight", "features.0.0.bias", "features.3.conv.1.0.weight", "classifier.1.weight", "classifier.1.bias"] {
            XCTAssertTrue(names.contains(key), key)
        }
        // V2: 52 convolutions (batch norm folded), one Gemm; every ReLU6 a Clip.
        let types = proto.graph.node.map(\.opType)
        XCTAssertEqual(types.filter { $0 == "Conv" }.count, 52)
        XCTAssertEqual(types.filter { $0 == "Gemm" }.count, 1)
        XCTAssertEqual(types.filter { $0 == "Clip" }.count, 35)
        XCTAssertEqual(types.filter { $0 == "Add" }.count, 10)
        let fixed = try ONNXExporter.model(model, resolution: 160, batch: .fixed(4))
        XCTAssertEqual(fixed.graph.input[0].type.tensorType.shape.dim.first?.dimValue, 4)
    }
}

/// Exported TFLite files in LiteRT (XNNPACK), through the same checker script.
final class TFLiteExportTests: XCTestCase {
    /// Every family at a width and resolution of its own.
    static let cases: [(Architecture, Double, Int)] = [(.v1, 0.5, 96), (.v2, 0.75, 128), (.v3Large, 1.0, 64), (.v3Small, 0.75, 112)]

    /// A 10-class model of `architecture` in eval mode, filled deterministically.
    static func filledModel(_ architecture: Architecture, width: Double) throws -> any ImageClassifier {
        let model = try makeModel(ModelConfiguration(architecture, widthMultiplier: width, classCount: 10), seed: nil)
        model.setTraining(false)
        DeterministicFill.fill(model)
        return model
    }

    /// Every family at a width and resolution of its own, a batch of three (the file's batch of
    /// one resized by LiteRT): logits within 1e-4 of ours.
    func testEveryFamilyMatchesLiteRT() throws {
        let folder = try TemporaryFolder(prefix: "tflite")
        for (architecture, width, resolution) in Self.cases {
            let model = try Self.filledModel(architecture, width: width)
            var generator = SplitMix64(seed: 5)
            let batch = Tensor.uniform([3, resolution, resolution, 3], in: -2...2, using: &generator)
            let expected = try InferenceModel(model)(batch)
            let label = "\(architecture)-\(width)-\(resolution)"
            let file = folder.url.appendingPathComponent(label + ".tflite")
            try TFLiteExporter.data(model, resolution: resolution).write(to: file)
            let result = try ExportCheck.run(file: file, images: batch, expected: expected, label: label, in: folder.url)
            XCTAssertEqual(result["shape"] as? [Int], [3, 10], label)
            let difference = try XCTUnwrap(result["max_abs_diff"] as? Double, label)
            XCTAssertLessThan(difference, 1e-4, label)
        }
    }

    /// The full-integer int8 file of every family (calibrated on random images) in LiteRT: the
    /// shape, and logits close to our int8 model's (the int8 layers compute the same integers up
    /// to rounding near ties, the float islands agree to float rounding).
    func testInt8FilesOfEveryFamilyRunInLiteRTCloseToOurInt8() throws {
        let folder = try TemporaryFolder(prefix: "tflite-int8")
        for (architecture, width, resolution) in Self.cases {
            let model = try Self.filledModel(architecture, width: width)
            var generator = SplitMix64(seed: 5)
            let calibration = Tensor.uniform([4, resolution, resolution, 3], in: -2...2, using: &generator)
            let batch = Tensor.uniform([3, resolution, resolution, 3], in: -2...2, using: &generator)
            let int8 = try QuantizedModel(model, calibration: [calibration])
            let expected = try int8(batch)
            let label = "\(architecture)-\(width)-\(resolution)-int8"
            let file = folder.url.appendingPathComponent(label + ".tflite")
            try TFLiteExporter.data(int8, resolution: resolution).write(to: file)
            let result = try ExportCheck.run(file: file, images: batch, expected: expected, label: label, in: folder.url)
            XCTAssertEqual(result["shape"] as? [Int], [3, 10], label)
            let difference = try XCTUnwrap(result["max_abs_diff"] as? Double, label)
            let largest = expected.scalars.map { abs(Double($0)) }.max() ?? 0
            print("TFLite int8 \(label): max abs difference \(difference) of logits up to \(largest)")
            if architecture == .v1, CPUEngine.hasInt8DotProduct {
                // No residual add: every int8 layer computes XNNPACK's integers (measured 2.7e-7).
                // Without VNNI our sums saturate in 16-bit pairs where XNNPACK's do not.
                XCTAssertLessThan(difference, 1e-4, label)
            } else {
                // XNNPACK's int8 ADD rounds in fixed point, ours in float: a step here and there,
                // grown through the layers after it (measured 0.02 to 0.08 of the largest logit).
                XCTAssertLessThan(difference, 0.3 * largest, label)
            }
        }
    }
}
