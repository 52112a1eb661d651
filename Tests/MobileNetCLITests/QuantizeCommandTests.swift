import Foundation
import XCTest

/// `mobilenet quantize` and `classify --model` as a user runs them.
final class QuantizeCommandTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("quantize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func requireWeights() throws {
        let home = ProcessInfo.processInfo.environment["MOBILENET_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/mobilenet")
        guard FileManager.default.fileExists(atPath: home.appendingPathComponent("mobilenet_v2-b0353104.pth").path) else {
            throw XCTSkip("skipped: pretrained weights not cached; run `make weights`")
        }
    }

    func testQuantizeThenClassifyInInt8() throws {
        try requireWeights()
        let output = folder.appendingPathComponent("v2-int8.safetensors").path
        let calibration = Self.repository.appendingPathComponent("Benchmarks/Fidelity/photos").path
        let quantize = try MobileNetProcess.run(["quantize", "--calibration", calibration, "--samples", "4", "--output", output])
        XCTAssertEqual(quantize.status, 0, quantize.error)
        XCTAssertTrue(quantize.output.contains("calibrated on 4 image(s)"), quantize.output)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        XCTAssertLessThan(size, 4_000_000, "int8 weights: about a quarter of the 14 MB float ones")

        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let coffee = Self.repository.appendingPathComponent("Examples/coffee.jpg").path
        let run = try MobileNetProcess.run(["classify", "--model", output, cat, coffee, "--top", "1", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let entries = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]])
        let first = entries.map { ($0["top"] as? [[String: Any]])?.first?["index"] as? Int }
        XCTAssertTrue((281...285).contains(first[0] ?? -1), "a cat: \(run.output)")
        XCTAssertEqual(first[1], 967, "espresso")

        let bench = try MobileNetProcess.run(["bench", "--model", output, "--iterations", "2", "--warmup", "0", "--threads", "1", "--json"])
        XCTAssertEqual(bench.status, 0, bench.error)
        let timing = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bench.output.utf8)) as? [String: Any])
        XCTAssertEqual(timing["precision"] as? String, "int8")

        let again = try MobileNetProcess.run(["quantize", "--calibration", calibration, "--samples", "1", "--output", output])
        XCTAssertNotEqual(again.status, 0, "an existing file is not replaced without --force")
        XCTAssertTrue(again.error.contains("--force"), again.error)
    }

    /// A model trained here, quantized on Fashion-MNIST through the run's own preprocessing and
    /// evaluated in int8 beside its fp32 self (a tiny run with `TrainCommandTests`' stable
    /// recipe, which short V2 runs are not; BENCHMARKS.md has the real V2 run).
    func testTrainedRunQuantizesOnFashionMNISTAndEvaluatesInInt8() throws {
        try XCTSkipUnless(
            FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
            "skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist; make test does)")
        let run = folder.appendingPathComponent("run").path
        let train = try MobileNetProcess.run([
            "train", "--dataset", "fashion-mnist", "--variant", "v1", "--width", "0.25", "--resolution", "32", "--epochs", "2",
            "--batch-size", "64", "--limit", "4096", "--lr", "0.2", "--warmup-epochs", "1", "--label-smoothing", "0.1",
            "--clip-norm", "10", "--threads", "1", "--seed", "7", "--output", run,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        let model = folder.appendingPathComponent("run-int8.safetensors").path
        let quantize = try MobileNetProcess.run([
            "quantize", "--checkpoint", run, "--calibration", "fashion-mnist", "--samples", "100", "--output", model,
        ])
        XCTAssertEqual(quantize.status, 0, quantize.error)
        XCTAssertTrue(quantize.output.contains("calibrated on 100 image(s) of fashion-mnist"), quantize.output)

        func accuracy(_ arguments: [String]) throws -> (Double, [String: Any]) {
            let evaluation = try MobileNetProcess.run(["evaluate", "--dataset", "fashion-mnist", "--split", "test", "--json"] + arguments)
            XCTAssertEqual(evaluation.status, 0, evaluation.error)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any], evaluation.output)
            return (try XCTUnwrap(object["accuracy"] as? Double), object)
        }
        let (fp32, _) = try accuracy(["--checkpoint", run])
        let (int8, object) = try accuracy(["--model", model])
        XCTAssertEqual(object["precision"] as? String, "int8")
        XCTAssertEqual(object["samples"] as? Int, 10_000)
        XCTAssertNotNil(object["isa"] as? String)
        // Two epochs on 4,096 pictures: far above chance (10 %), and int8 close to fp32.
        XCTAssertGreaterThan(fp32, 0.5)
        XCTAssertEqual(int8, fp32, accuracy: 0.03, "int8 \(int8) against fp32 \(fp32)")
    }

    func testReportListsEveryIntegerLayerWorstFirst() throws {
        try requireWeights()
        let calibration = Self.repository.appendingPathComponent("Examples").path
        let output = folder.appendingPathComponent("v2.safetensors").path
        let run = try MobileNetProcess.run(["quantize", "--calibration", calibration, "--output", output, "--report", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)
        XCTAssertEqual(report["images"] as? Int, 2)
        let layers = try XCTUnwrap(report["layers"] as? [[String: Any]])
        // V2: the image, 52 convolutions and 10 residual sums are integers; the pooled value too
        // (the logits are float).
        XCTAssertEqual(layers.count, 64)
        let ratios = layers.compactMap { $0["sqnr_db"] as? Double }
        XCTAssertEqual(ratios, ratios.sorted(), "worst first")
        XCTAssertGreaterThan(ratios.last ?? 0, 20, "the image itself is quantized finely")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output))
    }

    func testBadCalibrationAndModelFilesFailWithOneLine() throws {
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let foreign = folder.appendingPathComponent("float.safetensors")
        // An ordinary checkpoint: an 8-byte length, a header with one F32 tensor, its 4 bytes.
        let header = Data(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        try (withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) } + header + Data(count: 4)).write(to: foreign)
        let photo = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let output = folder.appendingPathComponent("out.safetensors").path
        let cases: [([String], String)] = [
            (["quantize", "--calibration", folder.appendingPathComponent("missing").path, "--output", output], "not a folder"),
            (["quantize", "--calibration", empty.path, "--output", output], "no JPEG or PNG"),
            (["quantize", "--calibration", empty.path, "--output", output, "--samples", "0"], "--samples"),
            (["quantize", "--calibration", empty.path, "--output", output, "--weight-bits", "6"], "--weight-bits"),
            (["quantize", "--calibration", empty.path, "--output", output, "--add-arithmetic", "onednn"], "--add-arithmetic"),
            (["classify", "--model", foreign.path, photo], "not a quantized model"),
            (["classify", "--model", folder.appendingPathComponent("missing.safetensors").path, photo], "missing.safetensors"),
            (["classify", "--model", foreign.path, "--weights", foreign.path, photo], "exclude each other"),
            (["classify", photo, "--crop", "16"], "--crop"),
            (["quantize", "--calibration", empty.path, "--output", output, "--json"], "--report"),
            (["bench", "--model", foreign.path, "--train"], "--model"),
            // Two threads at batch 1 under `make test`'s OMP_WAIT_POLICY=passive: still one line.
            (["bench", "--model", foreign.path, "--iterations", "1", "--threads", "2"], "not a quantized model"),
            (["classify", photo, "--resize", "100", "--crop", "224"], "--resize"),
            (["quantize", "--calibration", "fashion-mnist", "--output", output], "--checkpoint"),
            (["quantize", "--calibration", empty.path, "--checkpoint", folder.path, "--weights", foreign.path, "--output", output], "not both"),
            (["quantize", "--calibration", "fashion-mnist", "--checkpoint", empty.path, "--output", output], "no checkpoint"),
            (["evaluate", "--dataset", "fashion-mnist"], "one of --checkpoint and --model"),
            (["evaluate", "--dataset", "fashion-mnist", "--model", foreign.path, "--checkpoint", empty.path], "one of --checkpoint and --model"),
            (["evaluate", "--dataset", "fashion-mnist", "--model", foreign.path], "not a quantized model"),
            (["evaluate", "--dataset", "fashion-mnist", "--model", foreign.path, "--ema"], "--ema"),
        ]
        for (arguments, mention) in cases {
            let run = try MobileNetProcess.run(arguments)
            XCTAssertTrue((1..<128).contains(run.status), "\(arguments): status \(run.status)")
            XCTAssertTrue(run.error.hasPrefix("mobilenet: "), "\(arguments): \(run.error)")
            XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.error)")
            XCTAssertTrue(run.error.contains(mention), "\(arguments): \(run.error) does not say \(mention)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }
}

/// `mobilenet export` as a user runs it: the files it writes and the one-line refusals.
final class ExportCommandTests: XCTestCase {
    func testExportWritesONNXAndRefusesBadInput() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A checkpoint of one's own: two steps of training on Fashion-MNIST.
        let run = folder.appendingPathComponent("run").path
        let train = try MobileNetProcess.run([
            "train", "--dataset", "fashion-mnist", "--variant", "v1", "--width", "0.25", "--resolution", "32", "--epochs", "1",
            "--batch-size", "64", "--limit", "128", "--threads", "1", "--output", run,
        ])
        try XCTSkipIf(train.status != 0 && train.error.contains("Fashion-MNIST"), "skipped: Fashion-MNIST is not installed")
        XCTAssertEqual(train.status, 0, train.error)
        let weights = URL(fileURLWithPath: run).appendingPathComponent("epoch-1.safetensors").path
        let output = folder.appendingPathComponent("v1.onnx").path
        let export = try MobileNetProcess.run([
            "export", "--format", "onnx", "--variant", "v1", "--width", "0.25", "--classes", "10", "--weights", weights,
            "--resolution", "64", "--batch", "2", "--output", output,
        ])
        XCTAssertEqual(export.status, 0, export.error)
        XCTAssertTrue(export.output.contains("opset 17"), export.output)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: output)[.size] as? Int)
        XCTAssertGreaterThan(size, 100_000, "V1 α=0.25: about 0.2 M float parameters")

        let int8 = folder.appendingPathComponent("int8.safetensors").path
        let quantize = try MobileNetProcess.run(["quantize", "--checkpoint", run, "--calibration", "fashion-mnist", "--samples", "16", "--output", int8])
        XCTAssertEqual(quantize.status, 0, quantize.error)
        let cases: [([String], String)] = [
            (["export", "--format", "tflite2", "--output", folder.appendingPathComponent("x").path], "--format"),
            (["export", "--format", "tflite", "--model", int8, "--variant", "v3-small", "--output", folder.appendingPathComponent("y.tflite").path], "--variant v3-small"),
            (["export", "--format", "onnx", "--variant", "v1", "--width", "0.25", "--classes", "10", "--weights", weights, "--output", output], "--force"),
            (["export", "--format", "onnx", "--model", int8, "--variant", "v2", "--output", folder.appendingPathComponent("y.onnx").path], "--variant v2"),
            (["export", "--format", "onnx", "--model", int8, "--weights", weights, "--output", folder.appendingPathComponent("y.onnx").path], "exclude"),
            (["export", "--format", "onnx", "--batch", "many", "--output", folder.appendingPathComponent("y.onnx").path], "--batch"),
            (["export", "--format", "onnx", "--model", weights, "--output", folder.appendingPathComponent("y.onnx").path], "not a quantized model"),
        ]
        for (arguments, mention) in cases {
            let result = try MobileNetProcess.run(arguments)
            XCTAssertTrue((1..<128).contains(result.status), "\(arguments): status \(result.status)")
            XCTAssertEqual(result.error.filter { $0 == "\n" }.count, 1, "\(arguments): \(result.error)")
            XCTAssertTrue(result.error.contains(mention), "\(arguments): \(result.error) does not say \(mention)")
        }
        let tflite = try MobileNetProcess.run([
            "export", "--format", "tflite", "--variant", "v1", "--width", "0.25", "--classes", "10", "--weights", weights,
            "--resolution", "64", "--output", folder.appendingPathComponent("v1.tflite").path,
        ])
        XCTAssertEqual(tflite.status, 0, tflite.error)
        let bytes = try Data(contentsOf: folder.appendingPathComponent("v1.tflite"))
        XCTAssertEqual(Array(bytes[4..<8]), Array("TFL3".utf8), "the TFLite file identifier")
        let qdq = try MobileNetProcess.run(["export", "--format", "onnx", "--model", int8, "--output", folder.appendingPathComponent("q.onnx").path])
        XCTAssertEqual(qdq.status, 0, qdq.error)
        XCTAssertTrue(qdq.output.contains("int8 (QDQ) at 32x32"), qdq.output)
        let integer = try MobileNetProcess.run(["export", "--format", "tflite", "--model", int8, "--output", folder.appendingPathComponent("q.tflite").path])
        XCTAssertEqual(integer.status, 0, integer.error)
        XCTAssertTrue(integer.output.contains("int8 (full integer) at 32x32"), integer.output)
    }
}
