import Foundation
import XCTest

/// `mobilenet classify` and `mobilenet convert` as a user runs them.
final class ClassifyCommandTests: XCTestCase {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private var weights: URL {
        let home = ProcessInfo.processInfo.environment["MOBILENET_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/mobilenet")
        return home.appendingPathComponent("mobilenet_v2-b0353104.pth")
    }

    private func requireWeights() throws {
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw XCTSkip("skipped: pretrained weights not at \(weights.path); run `make weights`")
        }
    }

    func testClassifyPrintsTheContractJSON() throws {
        try requireWeights()
        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let coffee = Self.repository.appendingPathComponent("Examples/coffee.jpg").path
        let run = try MobileNetProcess.run(["classify", cat, coffee, "--top", "3", "--json"])
        XCTAssertEqual(run.status, 0, run.error)
        let entries = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]])
        XCTAssertEqual(entries.map { $0["image"] as? String }, [cat, coffee])
        let tops = entries.map { $0["top"] as? [[String: Any]] ?? [] }
        XCTAssertEqual(tops.map(\.count), [3, 3])
        XCTAssertEqual(tops[0].first?["index"] as? Int, 285)
        XCTAssertEqual(tops[0].first?["label"] as? String, "Egyptian cat")
        XCTAssertEqual(tops[1].first?["index"] as? Int, 967)
        XCTAssertEqual(try XCTUnwrap(tops[1].first?["probability"] as? Double), 0.9881, accuracy: 0.005)
    }

    func testConvertRoundTripsAndClassifiesTheSame() throws {
        try requireWeights()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let safetensors = folder.appendingPathComponent("v2.safetensors").path
        let back = folder.appendingPathComponent("v2.pth").path
        XCTAssertEqual(try MobileNetProcess.run(["convert", weights.path, safetensors]).status, 0)
        XCTAssertEqual(try MobileNetProcess.run(["convert", safetensors, back]).status, 0)

        let refused = try MobileNetProcess.run(["convert", weights.path, safetensors])
        XCTAssertNotEqual(refused.status, 0, "an existing file is not overwritten without --force")
        XCTAssertTrue(refused.error.hasPrefix("mobilenet: ") && refused.error.contains(safetensors), refused.error)
        XCTAssertEqual(try MobileNetProcess.run(["convert", weights.path, safetensors, "--force"]).status, 0)

        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path
        let outputs = try [weights.path, safetensors, back].map {
            try MobileNetProcess.run(["classify", cat, "--weights", $0, "--json"]).output
        }
        XCTAssertEqual(Set(outputs).count, 1, "the same weights in three files classify identically")
    }

    func testBadInputsFailWithOneLine() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.jpg")
        try Data("not a photo".utf8).write(to: text)
        let truncatedJPEG = folder.appendingPathComponent("cut.jpg")
        let jpeg = try Data(contentsOf: Self.repository.appendingPathComponent("Examples/cat.jpg"))
        try jpeg.prefix(jpeg.count / 3).write(to: truncatedJPEG)
        let truncatedCheckpoint = folder.appendingPathComponent("cut.pth")
        try Data(repeating: 0x80, count: 3).write(to: truncatedCheckpoint)
        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path

        let cases: [([String], String)] = [
            (["classify", folder.appendingPathComponent("missing.jpg").path, "--weights", truncatedCheckpoint.path], "cut.pth"),
            (["classify", cat, "--weights", folder.appendingPathComponent("none.pth").path], "none.pth"),
            (["classify", cat, "--variant", "v3-small"], "v3-small"),
            (["classify", cat, "--top", "0"], "--top"),
            (["convert", cat, folder.appendingPathComponent("x.bin").path], "x.bin"),
        ]
        for (arguments, mention) in cases {
            let run = try MobileNetProcess.run(arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertTrue(run.error.hasPrefix("mobilenet: "), "\(arguments): \(run.error)")
            XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, "\(arguments): \(run.error)")
            XCTAssertTrue(run.error.contains(mention), "\(arguments): \(run.error)")
        }
        if FileManager.default.fileExists(atPath: weights.path) {
            // 1x20000 pixels: resizing its shorter side to 256 would make 256x5120000 (3.9 GB).
            let strip = folder.appendingPathComponent("strip.png")
            try Self.greyPNG(width: 1, height: 20_000).write(to: strip)
            for image in [text.path, truncatedJPEG.path, strip.path] {
                let run = try MobileNetProcess.run(["classify", image])
                XCTAssertNotEqual(run.status, 0, image)
                XCTAssertTrue(run.error.hasPrefix("mobilenet: ") && run.error.contains(image), run.error)
                XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, run.error)
            }
        }
    }

    /// An 8-bit grey PNG of `width` x `height` black pixels, its image data in stored (not
    /// compressed) deflate blocks, so no compressor is needed.
    static func greyPNG(width: Int, height: Int) -> Data {
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func bigEndian(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        func chunk(_ kind: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(kind.utf8) + data
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
        }
        let raw = [UInt8]((0..<height).flatMap { _ in [0] + [UInt8](repeating: 0, count: width) })
        var zlib: [UInt8] = [0x78, 0x01]
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        let blocks = stride(from: 0, to: raw.count, by: 65_535).map { raw[$0..<min($0 + 65_535, raw.count)] }
        for (index, block) in blocks.enumerated() {
            let length = UInt16(block.count)
            zlib += [index == blocks.count - 1 ? 1 : 0, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            zlib += block
        }
        zlib += bigEndian(b << 16 | a)
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", []))
    }

    /// A copy of the published weights as safetensors, with every value of `key` set to `value`.
    private func patchedWeights(_ converted: URL, key: String, value: Float, to file: URL) throws {
        var data = try Data(contentsOf: converted)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any])
        let offsets = try XCTUnwrap((header[key] as? [String: Any])?["data_offsets"] as? [Int])
        let bytes = withUnsafeBytes(of: value.bitPattern.littleEndian) { Data($0) }
        for offset in stride(from: 8 + headerLength + offsets[0], to: 8 + headerLength + offsets[1], by: 4) {
            data.replaceSubrange(offset..<offset + 4, with: bytes)
        }
        try data.write(to: file)
    }

    /// NaN logits once printed `-nan%` and exited 0, or failed with `EncodingError.invalidValue`
    /// with --json. Weights holding a NaN are refused at load, naming the file and the key;
    /// finite weights whose logits overflow fail the image, in both output modes.
    func testNonFiniteWeightsAndOutputsFailWithOneLine() throws {
        try requireWeights()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let converted = folder.appendingPathComponent("v2.safetensors")
        XCTAssertEqual(try MobileNetProcess.run(["convert", weights.path, converted.path]).status, 0)
        let nan = folder.appendingPathComponent("nan.safetensors")
        try patchedWeights(converted, key: "features.3.conv.1.0.weight", value: .nan, to: nan)
        let huge = folder.appendingPathComponent("huge.safetensors")
        try patchedWeights(converted, key: "classifier.1.weight", value: 3e38, to: huge)
        let cat = Self.repository.appendingPathComponent("Examples/cat.jpg").path

        for json in [[], ["--json"]] {
            for (file, mentions) in [(nan, [nan.path, "features.3.conv.1.0.weight", "not finite"]), (huge, [cat, huge.path, "not finite"])] {
                let run = try MobileNetProcess.run(["classify", cat, "--weights", file.path] + json)
                XCTAssertTrue((1..<128).contains(run.status), "\(file.lastPathComponent) \(json): status \(run.status)")
                XCTAssertEqual(run.output, "", "\(file.lastPathComponent) \(json)")
                XCTAssertTrue(run.error.hasPrefix("mobilenet: "), run.error)
                XCTAssertEqual(run.error.filter { $0 == "\n" }.count, 1, run.error)
                for mention in mentions {
                    XCTAssertTrue(run.error.contains(mention), "\(run.error) does not name \(mention)")
                }
            }
        }
    }
}
