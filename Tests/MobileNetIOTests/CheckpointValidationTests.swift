import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// Hostile, truncated and malformed checkpoints end in a `CheckpointError` that says where and
/// what: never a crash, never code run, never a huge allocation.
final class CheckpointValidationTests: XCTestCase {
    // MARK: - Forbidden globals

    func testRefusesOsSystem() throws {
        let url = try CheckpointFixtures.url("malicious_os_system.pth")
        assertForbiddenGlobal(url, module: "os", name: "system")
    }

    func testRefusesBuiltinsEvalNamedByStackGlobal() throws {
        let url = try CheckpointFixtures.url("malicious_builtins_eval.pth")
        assertForbiddenGlobal(url, module: "builtins", name: "eval")
    }

    // MARK: - Sizes claimed by the file

    func testPthShapeOf2To40ElementsIsRefusedBeforeAllocating() throws {
        let url = try CheckpointFixtures.url("huge_shape.pth")
        let start = Date()
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case let .invalidTensor(file, key, _, found)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(key, "x")
            XCTAssertTrue(found.contains("4 element"), found)
            XCTAssertTrue("\(error)".contains("1099511627776"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testPthStorageShorterThanOffsetPlusExtentIsRefused() throws {
        let url = try CheckpointFixtures.url("short_storage.pth")
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case let .invalidTensor(_, key, expected, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)")
            }
            XCTAssertEqual(key, "x")
            XCTAssertTrue(expected.contains("3 + 4"), expected)
        }
    }

    func testSafeTensorsShapeOf2To40ElementsIsRefusedBeforeAllocating() throws {
        let start = Date()
        // Offsets that match the claim lie far beyond the file ...
        let beyond = try writeSafeTensors(
            header: #"{"x":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#, data: 16)
        assertInvalidTensor(beyond, key: "x")
        // ... and offsets inside the file do not match the claim.
        let mismatch = try writeSafeTensors(
            header: #"{"x":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,16]}}"#, data: 16)
        assertInvalidTensor(mismatch, key: "x")
        // A shape whose element count overflows 64 bits.
        let overflow = try writeSafeTensors(
            header: #"{"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}}"#, data: 16)
        assertInvalidTensor(overflow, key: "x")
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testSafeTensorsHeaderLengthBeyondTheFile() throws {
        var bytes = withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init)
        bytes += Array(#"{"x":1}"#.utf8)
        let url = try write(bytes, named: "long-header.safetensors")
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: url)) { error in
            guard case let .truncated(file, _, offset, needed, available)? = error as? CheckpointError else {
                return XCTFail("expected truncated, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(offset, 8)
            XCTAssertEqual(needed, 1 << 40)
            XCTAssertEqual(available, 7)
        }
    }

    func testSafeTensorsInvalidJSON() throws {
        let url = try writeSafeTensors(header: #"{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]"#, data: 4)
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: url)) { error in
            guard case .invalidHeader(url.path, _, _, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
        }
    }

    func testSafeTensorsWrongFieldTypeNamesTheKey() throws {
        let url = try writeSafeTensors(header: #"{"x":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#, data: 4)
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: url)) { error in
            guard case let .invalidHeader(_, key, _, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidHeader, got \(error)")
            }
            XCTAssertEqual(key, "x")
            XCTAssertEqual(
                "\(error)", "\(url.path): safetensors header, entry \"x\": expected \"shape[0]\" to be an integer, found a string")
        }
    }

    func testSafeTensorsUnknownDType() throws {
        let url = try writeSafeTensors(header: #"{"x":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: 8)
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .unsupportedDType(file: url.path, key: "x", dtype: "C64"))
        }
    }

    func testSafeTensorsOverlappingOffsets() throws {
        let url = try writeSafeTensors(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            data: 12)
        assertInvalidTensor(url, key: "b")
    }

    // MARK: - Truncation and corruption

    func testTruncatedPthGivesTypedErrors() throws {
        for name in ["tiny.pth", "tiny_legacy.pth"] {
            let bytes = try CheckpointFixtures.data(name)
            for length in cutPoints(bytes.count) {
                let url = try write([UInt8](bytes.prefix(length)), named: "cut-\(length)-\(name)")
                XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url), "\(name) cut at \(length)") { error in
                    XCTAssertTrue(error is CheckpointError, "\(name) cut at \(length): \(error)")
                }
                XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
                    XCTAssertTrue(error is CheckpointError, "\(name) cut at \(length): \(error)")
                }
            }
        }
    }

    func testTruncatedSafeTensorsGivesTypedErrors() throws {
        let bytes = try CheckpointFixtures.data("tiny.safetensors")
        for length in cutPoints(bytes.count) {
            let url = try write([UInt8](bytes.prefix(length)), named: "cut-\(length).safetensors")
            XCTAssertThrowsError(try SafeTensors.read(contentsOf: url), "cut at \(length)") { error in
                XCTAssertTrue(error is CheckpointError, "cut at \(length): \(error)")
            }
        }
    }

    func testCorruptedStorageBytesFailTheChecksum() throws {
        // The first float of "conv.weight" (-1.0) lies in the entry archive/data/0 of tiny.pth.
        var bytes = [UInt8](try CheckpointFixtures.data("tiny.pth"))
        let minusOne = withUnsafeBytes(of: Float(-1).bitPattern.littleEndian, Array.init) + withUnsafeBytes(
            of: Float(-0.5).bitPattern.littleEndian, Array.init)
        let offset = try XCTUnwrap(bytes.firstRange(of: minusOne)?.lowerBound)
        bytes[offset] ^= 0xFF
        let url = try write(bytes, named: "corrupt.pth")
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case let .malformedArchive(file, _, _)? = error as? CheckpointError else {
                return XCTFail("expected malformedArchive, got \(error)")
            }
            XCTAssertTrue(file.hasPrefix(url.path))
        }
    }

    func testZIP64OffsetsBeyondTheFileAreRefused() throws {
        // torch.save writes a ZIP64 end record; an offset of 2^63 or more there once trapped
        // inside ZIPFoundation instead of throwing.
        var bytes = [UInt8](try CheckpointFixtures.data("tiny.pth"))
        let record = try XCTUnwrap(bytes.indices.last { bytes[$0...].starts(with: [0x50, 0x4B, 0x06, 0x06]) })
        bytes[record + 55] = 0xDB  // the top byte of the central directory's offset
        let url = try write(bytes, named: "far-directory.pth")
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .malformedArchive(file, expected, _)? = error as? CheckpointError else {
                return XCTFail("expected malformedArchive, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertTrue(expected.contains("ZIP64"), expected)
        }
    }

    func testRandomlyDamagedFilesNeverCrash() throws {
        var generator = SplitMix64(seed: 2024)
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        for name in ["tiny.pth", "tiny_legacy.pth", "tiny.safetensors"] {
            let original = [UInt8](try CheckpointFixtures.data(name))
            for attempt in 0..<150 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                let url = folder.appendingPathComponent("\(attempt)-\(name)")
                try Data(bytes).write(to: url)
                do {
                    _ = try readStateDictionary(contentsOf: url)
                } catch {
                    XCTAssertTrue(error is CheckpointError, "\(name), attempt \(attempt): \(error)")
                }
            }
        }
    }

    // MARK: - Files that are not there or not checkpoints

    func testMissingFileNamesThePath() throws {
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent("absent.pth")
        let readers: [(URL) throws -> [String: Tensor]] = [
            PyTorchCheckpoint.read(contentsOf:), SafeTensors.read(contentsOf:), readStateDictionary(contentsOf:),
        ]
        for read in readers {
            XCTAssertThrowsError(try read(url)) { error in
                XCTAssertEqual(error as? CheckpointError, .fileNotFound(path: url.path))
                XCTAssertEqual("\(error)", "no such file: \(url.path)")
            }
        }
    }

    func testUnrecognizedFormat() throws {
        let url = try write(Array("just some text, not a checkpoint".utf8), named: "notes.pth")
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .unrecognizedFormat(file, _, found)? = error as? CheckpointError else {
                return XCTFail("expected unrecognizedFormat, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertTrue(found.hasPrefix("bytes 6A 75 73 74"), found)
        }
        let empty = try write([], named: "empty.safetensors")
        XCTAssertThrowsError(try readStateDictionary(contentsOf: empty)) { error in
            XCTAssertEqual(error as? CheckpointError, .unrecognizedFormat(
                file: empty.path, expected: "a checkpoint: a zip archive (\"PK\"), a legacy PyTorch pickle (80 02 8A 0A) "
                    + "or safetensors (a length, then \"{\")", found: "an empty file"))
        }
    }

    func testErrorDescriptionsAreOneLine() throws {
        for name in ["malicious_os_system.pth", "huge_shape.pth", "short_storage.pth"] {
            XCTAssertThrowsError(try readStateDictionary(contentsOf: CheckpointFixtures.url(name))) { error in
                let text = "\(error)"
                XCTAssertFalse(text.contains("\n"), text)
                XCTAssertTrue(text.contains(name), text)
            }
        }
    }

    // MARK: - Helpers

    /// Where to cut a file: inside its first bytes, around its middle and just before its end.
    private func cutPoints(_ count: Int) -> [Int] {
        Array(Set([0, 1, 2, 4, 7, 8, 9, 16, 30, 64, 100, count / 3, count / 2, 2 * count / 3, count - 40, count - 22, count - 8, count - 1]
            .filter { $0 >= 0 && $0 < count })).sorted()
    }

    private func assertForbiddenGlobal(_ url: URL, module: String, name: String, line: UInt = #line) {
        for read in [PyTorchCheckpoint.read(contentsOf:), readStateDictionary(contentsOf:)] {
            XCTAssertThrowsError(try read(url), line: line) { error in
                guard case let .forbiddenGlobal(file, foundModule, foundName)? = error as? CheckpointError else {
                    return XCTFail("expected forbiddenGlobal, got \(error)", line: line)
                }
                XCTAssertEqual(foundModule, module, line: line)
                XCTAssertEqual(foundName, name, line: line)
                XCTAssertTrue(file.hasPrefix(url.path), file, line: line)
                XCTAssertTrue("\(error)".contains("\(module).\(name)"), "\(error)", line: line)
            }
        }
    }

    private func assertInvalidTensor(_ url: URL, key: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: url), line: line) { error in
            guard case let .invalidTensor(file, foundKey, _, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)", line: line)
            }
            XCTAssertEqual(file, url.path, line: line)
            XCTAssertEqual(foundKey, key, line: line)
        }
    }

    private func writeSafeTensors(header: String, data count: Int) throws -> URL {
        var json = Array(header.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + [UInt8](repeating: 0, count: count)
        return try write(bytes, named: "forged-\(UUID().uuidString).safetensors")
    }

    private func write(_ bytes: [UInt8], named name: String) throws -> URL {
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}
