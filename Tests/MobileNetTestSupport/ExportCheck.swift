import Foundation
import MobileNetTensor
import XCTest

/// Runs an exported model through `Scripts/check_export.py` in the test-only virtualenv `make
/// test` creates (`MOBILENET_EXPORT_PYTHON`, default `~/.cache/mobilenet-export-venv/bin/python`):
/// `onnx.checker` and ONNX Runtime.
public enum ExportCheck {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func python() throws -> String {
        let path = ProcessInfo.processInfo.environment["MOBILENET_EXPORT_PYTHON"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/mobilenet-export-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("skipped: no export-check virtualenv at \(path); run `make export-venv` (make test does)")
        }
        return path
    }

    /// `onnx` written to `folder`, checked and run by ONNX Runtime on `images` (NHWC, converted
    /// to NCHW) against `expected` logits: the checker script's JSON.
    public static func run(_ onnx: Data, images: Tensor, expected: Tensor, label: String, in folder: URL) throws -> [String: Any] {
        let file = folder.appendingPathComponent("\(label).onnx")
        try onnx.write(to: file)
        return try run(file: file, images: images, expected: expected, label: label, in: folder)
    }

    /// An exported file already written (`.onnx` or `.tflite`), checked the same way.
    public static func run(file: URL, images: Tensor, expected: Tensor, label: String, in folder: URL) throws -> [String: Any] {
        let python = try python()
        let (n, h, w, c) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let nhwc = images.scalars
        var nchw = [Float](repeating: 0, count: nhwc.count)
        for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
            nchw[((b * c + k) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + k]
        } } } }
        let input = folder.appendingPathComponent("\(label).input.f32")
        let logits = folder.appendingPathComponent("\(label).logits.f32")
        try nchw.withUnsafeBytes { Data($0) }.write(to: input)
        try expected.scalars.withUnsafeBytes { Data($0) }.write(to: logits)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            Self.repository.appendingPathComponent("Scripts/check_export.py").path, file.path,
            "--input", input.path, "--shape", "\(n),\(c),\(h),\(w)", "--expected", logits.path,
        ]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(label): \(complaint)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: printed) as? [String: Any], "\(label): \(complaint)")
    }

}
