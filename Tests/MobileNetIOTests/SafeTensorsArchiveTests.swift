import Foundation
import MobileNetIO
import MobileNetTensor
import XCTest

/// `SafeTensors.readArchive` and `write(_: SafeTensorsArchive, …)`: integer tensors and metadata
/// kept bit for bit, the file laid out as the safetensors format says, and hostile files refused
/// with an error naming the file and the key.
final class SafeTensorsArchiveTests: XCTestCase {
    // MARK: - Round trips

    func testEveryTypeRoundTripsExactly() throws {
        let strangeFloats: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 / 3]
        let archive = SafeTensorsArchive(
            tensors: [
                "int8": .int8(shape: [2, 1, 3], values: [-128, -1, 0, 1, 126, 127]),
                "uint8": .uint8(shape: [5], values: [0, 1, 128, 254, 255]),
                "int32": .int32(shape: [1, 5], values: [.min, -1, 0, 16_777_217, .max]),
                "float32": .float32(try Tensor(shape: [7], values: strangeFloats)),
                // A NaN with a payload, which a trip through Double or arithmetic could change.
                "nan": .float32(try Tensor(shape: [1], values: [Float(bitPattern: 0x7FC0_1234)])),
                "scalar-int8": .int8(shape: [], values: [-7]),
                "scalar-int32": .int32(shape: [], values: [-2_000_000_001]),
                "empty-int8": .int8(shape: [0], values: []),
                "empty-uint8": .uint8(shape: [3, 0, 2], values: []),
                "empty-int32": .int32(shape: [0, 4], values: []),
                "empty-float32": .float32(Tensor.zeros([2, 0])),
            ],
            metadata: ["method": "minmax", "samples": "512"])
        let url = try temporaryURL("every-type.safetensors")
        try SafeTensors.write(archive, to: url)
        let back = try SafeTensors.readArchive(contentsOf: url)
        assertEqualArchives(back, archive)
    }

    func testInt32BeyondFloatPrecisionIsNotRounded() throws {
        // 2^24 + 1 is the first integer a Float cannot hold; the float reader rounds it.
        let url = try temporaryURL("bias.safetensors")
        let archive = SafeTensorsArchive(tensors: ["bias": .int32(shape: [2], values: [16_777_217, -16_777_217])])
        try SafeTensors.write(archive, to: url)
        guard case let .int32(_, values)? = try SafeTensors.readArchive(contentsOf: url).tensors["bias"] else {
            return XCTFail("expected an int32 tensor")
        }
        XCTAssertEqual(values, [16_777_217, -16_777_217])
        XCTAssertEqual(try SafeTensors.read(contentsOf: url)["bias"]?.scalars, [16_777_216, -16_777_216])
    }

    func testMetadataRoundTrips() throws {
        let metadata = [
            "method": "minmax", "samples": "512", "isa": "avx512_core_vnni", "variant": "v3-small", "width": "0.75",
            "quotes \"and\" \\backslashes\\": "line\nbreak\ttab", "unicode": "größe · 幅 · 🐈", "empty": "",
            "path/with/slashes": "a/b",
        ]
        let url = try temporaryURL("metadata.safetensors")
        try SafeTensors.write(SafeTensorsArchive(tensors: ["w": .int8(shape: [1], values: [3])], metadata: metadata), to: url)
        XCTAssertEqual(try SafeTensors.readArchive(contentsOf: url).metadata, metadata)

        // No metadata: no `__metadata__` object at all, and none read back.
        let bare = try temporaryURL("bare.safetensors")
        try SafeTensors.write(SafeTensorsArchive(tensors: ["w": .int8(shape: [1], values: [3])]), to: bare)
        XCTAssertFalse(String(decoding: try Data(contentsOf: bare), as: UTF8.self).contains("__metadata__"))
        XCTAssertEqual(try SafeTensors.readArchive(contentsOf: bare).metadata, [:])
    }

    func testAnEmptyArchiveRoundTrips() throws {
        let url = try temporaryURL("empty.safetensors")
        try SafeTensors.write(SafeTensorsArchive(), to: url)
        // `{}` padded to 8 bytes, and no data.
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        let back = try SafeTensors.readArchive(contentsOf: url)
        XCTAssertTrue(back.tensors.isEmpty)
        XCTAssertTrue(back.metadata.isEmpty)
    }

    func testReadsTheFloatReadersFiles() throws {
        let url = try temporaryURL("float.safetensors")
        let state = CheckpointPyTorchTests.sampleState()
        try SafeTensors.write(state, to: url, metadata: ["format": "pt"])
        let archive = try SafeTensors.readArchive(contentsOf: url)
        XCTAssertEqual(archive.metadata, ["format": "pt"])
        var floats: [String: Tensor] = [:]
        for (name, tensor) in archive.tensors {
            guard case let .float32(value) = tensor else { return XCTFail("\(name): expected float32, got \(tensor.dtype)") }
            floats[name] = value
        }
        assertEqualStates(floats, state)
    }

    // MARK: - Layout

    /// The whole file, byte for byte, as the safetensors format defines it: an 8-byte little-endian
    /// header length, the JSON header (sorted keys, padded with spaces to a multiple of 8), then
    /// the data. The data holds the 4-byte tensors first ("b", "s"), then the 1-byte ones by name
    /// ("q", "z"). Written out by hand from the format, not by running the writer.
    func testTheFileIsLaidOutByteForByte() throws {
        let archive = SafeTensorsArchive(
            tensors: [
                "q": .int8(shape: [3], values: [-128, 0, 127]),
                "s": .float32(try Tensor(shape: [1], values: [0.5])),
                "b": .int32(shape: [2], values: [.min, .max]),
                "z": .uint8(shape: [0, 2], values: []),
            ],
            metadata: ["method": "minmax"])
        let json = #"{"__metadata__":{"method":"minmax"},"#
            + #""b":{"data_offsets":[0,8],"dtype":"I32","shape":[2]},"#
            + #""q":{"data_offsets":[12,15],"dtype":"I8","shape":[3]},"#
            + #""s":{"data_offsets":[8,12],"dtype":"F32","shape":[1]},"#
            + #""z":{"data_offsets":[15,15],"dtype":"U8","shape":[0,2]}}"#
            + "   "  // 253 bytes of JSON, padded to 256
        let expected: [UInt8] = [0x00, 0x01, 0, 0, 0, 0, 0, 0]  // 256
            + Array(json.utf8)
            + [0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0x7F]  // b: Int32.min, Int32.max
            + [0x00, 0x00, 0x00, 0x3F]  // s: 0.5 = 0x3F000000
            + [0x80, 0x00, 0x7F]  // q: -128, 0, 127
        XCTAssertEqual(json.utf8.count, 256)
        let url = try temporaryURL("layout.safetensors")
        try SafeTensors.write(archive, to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), expected)
    }

    func testAFloatOnlyArchiveIsTheFloatWritersFile() throws {
        let state = CheckpointPyTorchTests.sampleState()
        let viaTensors = try temporaryURL("tensors.safetensors")
        let viaArchive = try temporaryURL("archive.safetensors")
        try SafeTensors.write(state, to: viaTensors, metadata: ["format": "pt"])
        let archive = SafeTensorsArchive(tensors: state.mapValues(StoredTensor.float32), metadata: ["format": "pt"])
        try SafeTensors.write(archive, to: viaArchive)
        XCTAssertEqual(try Data(contentsOf: viaArchive), try Data(contentsOf: viaTensors))
    }

    func testFloat32BesideIntegersStaysAlignedAndViewsTheFile() throws {
        // By name, "a" (3 bytes) would come first and put "b" and "c" at odd offsets.
        let url = try temporaryURL("aligned.safetensors")
        try SafeTensors.write(SafeTensorsArchive(tensors: [
            "a": .int8(shape: [3], values: [1, 2, 3]),
            "b": .float32(Tensor(repeating: 1, shape: [4])),
            "c": .float32(Tensor(repeating: 2, shape: [4])),
        ]), to: url)
        let archive = try SafeTensors.readArchive(contentsOf: url)
        guard case let .float32(b)? = archive.tensors["b"], case let .float32(c)? = archive.tensors["c"] else {
            return XCTFail("expected float32 tensors")
        }
        // Adjacent in the file: both view the one mapping (separate allocations are 64-byte aligned).
        XCTAssertEqual(c.storage.pointer - b.storage.pointer, 4)
        XCTAssertEqual(c.scalars, [2, 2, 2, 2])
    }

    func testUnalignedIntegersAndFloatsAreReadExactly() throws {
        // A file another writer laid out by name: the I32 and the F32 start at odd offsets.
        let url = try writeRaw(
            header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"#
                + #""i":{"dtype":"I32","shape":[2],"data_offsets":[1,9]},"f":{"dtype":"F32","shape":[1],"data_offsets":[9,13]}}"#,
            data: [0xFF, 0x00, 0x00, 0x00, 0x80, 0xFE, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC0, 0x3F])
        let archive = try SafeTensors.readArchive(contentsOf: url)
        assertEqualArchives(archive, SafeTensorsArchive(tensors: [
            "a": .uint8(shape: [1], values: [255]),
            "i": .int32(shape: [2], values: [.min, -2]),
            "f": .float32(try Tensor(shape: [1], values: [1.5])),
        ]))
    }

    // MARK: - The float API is unchanged

    func testTheFloatReaderStillRefusesInt8AndUInt8() throws {
        for (dtype, name) in [("I8", "w"), ("U8", "zero_point")] {
            let url = try writeRaw(header: #"{"\#(name)":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2])
            XCTAssertThrowsError(try SafeTensors.read(contentsOf: url)) { error in
                XCTAssertEqual(error as? CheckpointError, .unsupportedDType(file: url.path, key: name, dtype: dtype))
            }
        }
    }

    // MARK: - Hostile files

    func testMetadataThatIsNotAnObjectIsRefused() throws {
        for metadata in [#"["minmax"]"#, #""minmax""#, "512", "null"] {
            let url = try writeRaw(
                header: #"{"__metadata__":\#(metadata),"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: [1])
            assertInvalidHeader(url, key: "__metadata__", mentioning: nil, "metadata \(metadata)")
        }
    }

    func testMetadataWithValuesThatAreNotStringsIsRefused() throws {
        for value in ["512", "true", "null", #"["a"]"#, #"{"k":"v"}"#] {
            let url = try writeRaw(
                header: #"{"w":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"#
                    + #""__metadata__":{"method":"minmax","samples":\#(value)}}"#,
                data: [1])
            assertInvalidHeader(url, key: "__metadata__", mentioning: "samples", "samples: \(value)")
        }
    }

    func testByteRangesThatDoNotMatchTheShapeAreRefused() throws {
        let cases: [(header: String, data: Int)] = [
            (#"{"w":{"dtype":"I8","shape":[4],"data_offsets":[0,3]}}"#, 4),  // one byte short
            (#"{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,5]}}"#, 5),  // one byte long
            (#"{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,1]}}"#, 1),  // empty, yet a byte
            (#"{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,4]}}"#, 8),  // counted as bytes, not elements
            (#"{"w":{"dtype":"I8","shape":[-1],"data_offsets":[0,0]}}"#, 0),
            (#"{"w":{"dtype":"I8","shape":[1099511627776],"data_offsets":[0,1099511627776]}}"#, 8),
            (#"{"w":{"dtype":"I32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, 8),
            (#"{"w":{"dtype":"I8","shape":[2],"data_offsets":[2,0]}}"#, 2),
            (#"{"w":{"dtype":"I8","shape":[2],"data_offsets":[0]}}"#, 2),
        ]
        let start = Date()
        for (header, data) in cases {
            assertInvalidTensor(try writeRaw(header: header, data: [UInt8](repeating: 0, count: data)), key: "w", header)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testOverlappingIntegerTensorsAreRefused() throws {
        let url = try writeRaw(
            header: #"{"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},"#
                + #""b":{"dtype":"I32","shape":[1],"data_offsets":[3,7]}}"#,
            data: [UInt8](repeating: 0, count: 7))
        assertInvalidTensor(url, key: "b", "overlap")
    }

    func testTypesAnArchiveCannotHoldExactlyAreRefused() throws {
        for dtype in ["F64", "F16", "BF16", "I64", "C64", "i8"] {
            let url = try writeRaw(
                header: #"{"w":{"dtype":"\#(dtype)","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
            XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: url), dtype) { error in
                guard case let .invalidTensor(file, key, expected, found)? = error as? CheckpointError else {
                    return XCTFail("\(dtype): expected invalidTensor, got \(error)")
                }
                XCTAssertEqual(file, url.path)
                XCTAssertEqual(key, "w")
                XCTAssertTrue(expected.contains("F32, I8, U8 or I32"), expected)
                XCTAssertEqual(found, #"dtype "\#(dtype)""#)
            }
        }
        // The Python fixture holds I64, BF16 and F16 beside F32: the float reader's business. Which
        // of the three is named first depends on the header's (unordered) dictionary.
        XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: CheckpointFixtures.url("tiny.safetensors"))) { error in
            guard case let .invalidTensor(_, key, _, _)? = error as? CheckpointError, ["n", "b", "h"].contains(key) else {
                return XCTFail("got \(error)")
            }
        }
    }

    func testTruncatedArchivesGiveTypedErrors() throws {
        let url = try temporaryURL("whole.safetensors")
        try SafeTensors.write(SafeTensorsArchive(
            tensors: [
                "w": .int8(shape: [4, 3], values: (0..<12).map { Int8($0) - 6 }),
                "b": .int32(shape: [4], values: [.min, 0, 1, .max]),
                "s": .float32(Tensor(repeating: 0.25, shape: [4])),
                "z": .uint8(shape: [2], values: [0, 255]),
            ],
            metadata: ["method": "minmax"]), to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        for length in 0..<bytes.count {
            let cut = try writeRaw(bytes: Array(bytes.prefix(length)), named: "cut-\(length).safetensors")
            XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: cut), "cut at \(length)") { error in
                guard let error = error as? CheckpointError else { return XCTFail("cut at \(length): \(error)") }
                switch error {
                case let .truncated(file, _, _, _, _), let .invalidHeader(file, _, _, _):
                    XCTAssertEqual(file, cut.path, "cut at \(length)")
                    XCTAssertLessThanOrEqual(length, 8 + headerLength, "cut at \(length): \(error)")
                case let .invalidTensor(file, key, _, _):
                    // Inside the data: the last tensor in the file no longer fits ("z", then the others).
                    XCTAssertEqual(file, cut.path, "cut at \(length)")
                    XCTAssertTrue(["w", "b", "s", "z"].contains(key), "cut at \(length): \(error)")
                    XCTAssertGreaterThanOrEqual(length, 8 + headerLength, "cut at \(length): \(error)")
                default:
                    XCTFail("cut at \(length): \(error)")
                }
            }
        }
    }

    func testRandomlyDamagedArchivesNeverCrash() throws {
        let url = try temporaryURL("original.safetensors")
        try SafeTensors.write(SafeTensorsArchive(
            tensors: ["w": .int8(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "b": .int32(shape: [2], values: [7, 8]),
                      "s": .float32(Tensor(repeating: 1, shape: [2])), "z": .uint8(shape: [1], values: [9])],
            metadata: ["method": "minmax", "samples": "8"]), to: url)
        let original = [UInt8](try Data(contentsOf: url))
        var generator = SplitMix64(seed: 8)
        for attempt in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let damaged = try writeRaw(bytes: bytes, named: "damaged-\(attempt).safetensors")
            do {
                _ = try SafeTensors.readArchive(contentsOf: damaged)
            } catch {
                XCTAssertTrue(error is CheckpointError, "attempt \(attempt): \(error)")
            }
        }
    }

    func testAMissingFileNamesThePath() throws {
        let url = try temporaryURL("absent.safetensors")
        XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .fileNotFound(path: url.path))
        }
    }

    // MARK: - What the writer refuses

    func testValuesThatDoNotFillTheShapeAreRefusedBeforeWriting() throws {
        let cases: [(String, StoredTensor)] = [
            ("w", .int8(shape: [2, 2], values: [1, 2, 3])),
            ("zero_point", .uint8(shape: [1], values: [1, 2])),
            ("bias", .int32(shape: [0], values: [1])),
            ("negative", .int8(shape: [-1], values: [])),
            ("overflow", .int32(shape: [4_294_967_296, 4_294_967_296], values: [])),
        ]
        for (name, tensor) in cases {
            let url = try temporaryURL("refused-\(name).safetensors")
            let archive = SafeTensorsArchive(tensors: ["fine": .int8(shape: [1], values: [1]), name: tensor])
            XCTAssertThrowsError(try SafeTensors.write(archive, to: url), name) { error in
                guard case let .invalidTensor(file, key, _, _)? = error as? CheckpointError else {
                    return XCTFail("\(name): expected invalidTensor, got \(error)")
                }
                XCTAssertEqual(file, url.path)
                XCTAssertEqual(key, name)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), name)
        }
    }

    func testATensorNamedLikeTheMetadataIsRefused() throws {
        let url = try temporaryURL("reserved.safetensors")
        let archive = SafeTensorsArchive(tensors: ["__metadata__": .int8(shape: [1], values: [1])])
        XCTAssertThrowsError(try SafeTensors.write(archive, to: url)) { error in
            guard case .invalidTensor(url.path, "__metadata__", _, _)? = error as? CheckpointError else {
                return XCTFail("expected invalidTensor, got \(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        let url = try temporaryURL("kept.safetensors")
        try SafeTensors.write(SafeTensorsArchive(tensors: ["w": .int8(shape: [1], values: [1])]), to: url)
        let second = SafeTensorsArchive(tensors: ["w": .int8(shape: [1], values: [2])])
        XCTAssertThrowsError(try SafeTensors.write(second, to: url)) { error in
            XCTAssertEqual(error as? CheckpointError, .fileExists(path: url.path))
        }
        try SafeTensors.write(second, to: url, overwrite: true)
        guard case let .int8(_, values)? = try SafeTensors.readArchive(contentsOf: url).tensors["w"] else {
            return XCTFail("expected an int8 tensor")
        }
        XCTAssertEqual(values, [2])
    }

    // MARK: - Helpers

    private func assertEqualArchives(
        _ actual: SafeTensorsArchive, _ expected: SafeTensorsArchive, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.metadata, expected.metadata, file: file, line: line)
        XCTAssertEqual(Set(actual.tensors.keys), Set(expected.tensors.keys), file: file, line: line)
        for (name, tensor) in expected.tensors {
            guard let other = actual.tensors[name] else { continue }
            XCTAssertEqual(other.shape, tensor.shape, name, file: file, line: line)
            XCTAssertEqual(other.dtype, tensor.dtype, name, file: file, line: line)
            switch (other, tensor) {
            case let (.int8(_, a), .int8(_, b)): XCTAssertEqual(a, b, name, file: file, line: line)
            case let (.uint8(_, a), .uint8(_, b)): XCTAssertEqual(a, b, name, file: file, line: line)
            case let (.int32(_, a), .int32(_, b)): XCTAssertEqual(a, b, name, file: file, line: line)
            case let (.float32(a), .float32(b)):
                XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), name, file: file, line: line)
            default: break  // the dtypes differ, reported above
            }
        }
    }

    private func assertInvalidHeader(_ url: URL, key: String, mentioning text: String?, _ message: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: url), message, line: line) { error in
            guard case let .invalidHeader(file, foundKey, _, _)? = error as? CheckpointError else {
                return XCTFail("\(message): expected invalidHeader, got \(error)", line: line)
            }
            XCTAssertEqual(file, url.path, message, line: line)
            XCTAssertEqual(foundKey, key, message, line: line)
            if let text {
                XCTAssertTrue("\(error)".contains(text), "\(message): \(error)", line: line)
            }
        }
    }

    private func assertInvalidTensor(_ url: URL, key: String, _ message: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.readArchive(contentsOf: url), message, line: line) { error in
            guard case let .invalidTensor(file, foundKey, _, _)? = error as? CheckpointError else {
                return XCTFail("\(message): expected invalidTensor, got \(error)", line: line)
            }
            XCTAssertEqual(file, url.path, message, line: line)
            XCTAssertEqual(foundKey, key, message, line: line)
        }
    }

    private func temporaryURL(_ name: String) throws -> URL {
        try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent(name)
    }

    /// A safetensors file made of `header` (padded to 8 bytes) and `data`, written as is.
    private func writeRaw(header: String, data: [UInt8]) throws -> URL {
        var json = Array(header.utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        let bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
        return try writeRaw(bytes: bytes, named: "forged-\(UUID().uuidString).safetensors")
    }

    private func writeRaw(bytes: [UInt8], named name: String) throws -> URL {
        let url = try temporaryURL(name)
        try Data(bytes).write(to: url)
        return url
    }
}
