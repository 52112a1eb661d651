import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// `SafeTensors` against a file the Python `safetensors` package wrote
/// (`Scripts/generate_checkpoint_fixtures.py`), and against its own output.
final class CheckpointSafeTensorsTests: XCTestCase {
    func testReadsTheFilePythonWrote() throws {
        let state = try SafeTensors.read(contentsOf: CheckpointFixtures.url("tiny.safetensors"))
        XCTAssertEqual(Set(state.keys), ["a", "h", "b", "n"])
        XCTAssertEqual(state["a"]?.shape, [2, 2])
        XCTAssertEqual(state["a"]?.scalars, [1, 2, 3, 4])
        XCTAssertEqual(state["h"]?.scalars, [0.5, -1])
        XCTAssertEqual(state["b"]?.scalars, [2.5])
        XCTAssertEqual(state["n"]?.shape, [])
        XCTAssertEqual(state["n"]?.scalars, [42])
    }

    func testWriteThenReadGivesTheSameTensors() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("sample.safetensors")
        let state = CheckpointPyTorchTests.sampleState()
        try SafeTensors.write(state, to: url, metadata: ["format": "pt", "source": "swift-mobilenet"])
        assertEqualStates(try SafeTensors.read(contentsOf: url), state)
    }

    func testHeaderIsSortedPaddedAndCarriesMetadata() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("layout.safetensors")
        try SafeTensors.write(
            ["b": Tensor(repeating: 2, shape: [1]), "a": Tensor(repeating: 1, shape: [3])], to: url,
            metadata: ["format": "pt"])
        let bytes = [UInt8](try Data(contentsOf: url))
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(length % 8, 0)
        XCTAssertEqual(bytes.count, 8 + length + 16)
        let header = try XCTUnwrap(String(decoding: bytes[8..<8 + length], as: UTF8.self))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any])
        XCTAssertEqual(object["__metadata__"] as? [String: String], ["format": "pt"])
        // Sorted keys: "a" (3 floats) first, then "b".
        XCTAssertEqual((object["a"] as? [String: Any])?["data_offsets"] as? [Int], [0, 12])
        XCTAssertEqual((object["b"] as? [String: Any])?["data_offsets"] as? [Int], [12, 16])
        XCTAssertEqual((object["b"] as? [String: Any])?["dtype"] as? String, "F32")
    }

    func testFloat32TensorsViewTheMappedFile() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("mapped.safetensors")
        try SafeTensors.write(["a": Tensor(repeating: 1, shape: [4]), "b": Tensor(repeating: 2, shape: [4])], to: url)
        let state = try SafeTensors.read(contentsOf: url)
        let a = try XCTUnwrap(state["a"]), b = try XCTUnwrap(state["b"])
        // "b" starts 16 bytes after "a" in the file; separate allocations (64-byte aligned) never
        // sit 16 bytes apart, so both view the one mapping.
        XCTAssertEqual(b.storage.pointer - a.storage.pointer, 4)
        XCTAssertEqual(b.scalars, [2, 2, 2, 2])
    }

    func testWritingToAMappedTensorNeverReachesTheFile() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("private.safetensors")
        try SafeTensors.write(["a": Tensor(repeating: 1, shape: [2])], to: url)
        let bytes = try Data(contentsOf: url)
        var state = try SafeTensors.read(contentsOf: url)
        let shared = try XCTUnwrap(state["a"])
        state["a"]![1] = 5  // shared with `shared`: copy-on-write copies first
        XCTAssertEqual(state["a"]?.scalars, [1, 5])
        XCTAssertEqual(shared.scalars, [1, 1])
        var alone = try XCTUnwrap(try SafeTensors.read(contentsOf: url)["a"])
        alone[0] = 9  // the only reference: written in place, in the private mapping
        XCTAssertEqual(alone.scalars, [9, 1])
        XCTAssertEqual(try Data(contentsOf: url), bytes)
        XCTAssertEqual(try SafeTensors.read(contentsOf: url)["a"]?.scalars, [1, 1])
    }

    func testUnalignedFloat32IsCopied() throws {
        // One float16 (2 bytes) before a float32 puts the float32 at an offset of 2 mod 4.
        let url = try writeRaw(
            header: #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"f":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}"#,
            data: [0x00, 0x3C] + floatBytes([1.25, -7]))
        let state = try SafeTensors.read(contentsOf: url)
        XCTAssertEqual(state["h"]?.scalars, [1])
        XCTAssertEqual(state["f"]?.scalars, [1.25, -7])
        XCTAssertEqual(Int(bitPattern: state["f"]!.storage.pointer) % 4, 0)
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("kept.safetensors")
        try SafeTensors.write(["a": Tensor(repeating: 1, shape: [1])], to: url)
        XCTAssertThrowsError(try SafeTensors.write(["a": Tensor(repeating: 2, shape: [1])], to: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .fileExists(path: url.path))
        }
        XCTAssertEqual(try SafeTensors.read(contentsOf: url)["a"]?.scalars, [1])
        try SafeTensors.write(["a": Tensor(repeating: 2, shape: [1])], to: url, overwrite: true)
        XCTAssertEqual(try SafeTensors.read(contentsOf: url)["a"]?.scalars, [2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["kept.safetensors"])
    }

    func testRefusesATensorNamedLikeTheMetadata() throws {
        let folder = try CheckpointFixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("reserved.safetensors")
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": Tensor.zeros([1])], to: url)) { error in
            guard case let .invalidTensor(_, key, _, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)")
            }
            XCTAssertEqual(key, "__metadata__")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: - Helpers

    /// A safetensors file made of `header` (padded to 8 bytes) and `data`, written as is.
    func writeRaw(header: String, data: [UInt8]) throws -> URL {
        var json = Array(header.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init)
        bytes += json + data
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent("raw.safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }
}
