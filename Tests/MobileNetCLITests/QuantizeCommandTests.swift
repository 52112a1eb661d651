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
        XCTAssertTrue(quantize.output.contains("calibrated on 4 photo(s)"), quantize.output)
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

    func testReportListsEveryIntegerLayerWorstFirst() throws {
        try requireWeights()
        let calibration = Self.repository.appendingPathComponent("Examples").path
        let output = folder.appendingPathComponent("v2.safetensors").path
        let run = try MobileNetProcess.run(["quantize", "--calibration", calibration, "--output", output, "--report", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)
        XCTAssertEqual(report["images"] as? Int, 2)
        let layers = try XCTUnwrap(report["layers"] as? [[String: Any]])
        // V2: the image and 52 convolutions are integers; the pooled value too (the logits are float).
        XCTAssertEqual(layers.count, 54)
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
            (["classify", "--model", foreign.path, photo], "not a quantized model"),
            (["classify", "--model", folder.appendingPathComponent("missing.safetensors").path, photo], "missing.safetensors"),
            (["classify", "--model", foreign.path, "--weights", foreign.path, photo], "exclude each other"),
            (["classify", photo, "--crop", "16"], "--crop"),
            (["quantize", "--calibration", empty.path, "--output", output, "--json"], "--report"),
            (["bench", "--model", foreign.path, "--train"], "--model"),
            // Two threads at batch 1 under `make test`'s OMP_WAIT_POLICY=passive: still one line.
            (["bench", "--model", foreign.path, "--iterations", "1", "--threads", "2"], "not a quantized model"),
            (["classify", photo, "--resize", "100", "--crop", "224"], "--resize"),
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
