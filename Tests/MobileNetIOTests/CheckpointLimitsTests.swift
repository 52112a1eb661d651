import Foundation
import MobileNetTensor
import XCTest
import ZIPFoundation

@testable import MobileNetIO

/// Hostile checkpoints that once crashed the reader or took gigabytes: deep nesting, reference
/// cycles, value floods, compression bombs. Each is built here, a few bytes to a few megabytes,
/// and must end in a `CheckpointError` at once.
final class CheckpointLimitsTests: XCTestCase {
    /// `()` wrapped in 50,000 1-tuples: `b'\x80\x02)' + b'\x85' * 50000 + b'.'`.
    private let nestedTuples: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 50_000) + [0x2E]

    // MARK: - Nesting and cycles

    func testDeeplyNestedTuplesAreRefusedAtTheLimit() throws {
        XCTAssertThrowsError(try unpickle(nestedTuples)) { error in
            guard case let .malformedPickle(file, offset, expected, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedPickle, got \(error)")
            }
            XCTAssertEqual(file, "test")
            // PROTO 2, (), then the 100th TUPLE1 would make the 101st level.
            XCTAssertEqual(offset, 3 + PickleMachine.maximumDepth - 1)
            XCTAssertEqual(expected, "containers nested at most \(PickleMachine.maximumDepth) deep")
            XCTAssertEqual(found, "TUPLE1 nesting them \(PickleMachine.maximumDepth + 1) deep")
        }
        // One level less is fine.
        let allowed = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: PickleMachine.maximumDepth - 1) + [0x2E]
        XCTAssertEqual(try unpickle(allowed).depth, PickleMachine.maximumDepth)
    }

    func testDeeplyNestedListsAndDictionariesAreRefused() throws {
        // [[[...]]]: EMPTY_LIST, then MARK, EMPTY_LIST ... closed by LIST ('l') 200 times.
        let lists = [UInt8](repeating: 0x28, count: 200) + [0x5D] + [UInt8](repeating: 0x6C, count: 200) + [0x2E]
        // {"k": {"k": ...}}: the innermost first, each wrapped by MARK "k" <dict> DICT.
        var dictionaries: [UInt8] = [0x7D]
        for _ in 0..<200 {
            dictionaries = [0x28, 0x8C, 0x01, 0x6B] + dictionaries + [0x64]
        }
        for program in [lists, dictionaries + [0x2E]] {
            XCTAssertThrowsError(try unpickle(program)) { error in
                guard case let .malformedPickle(_, _, expected, _)? = error as? CheckpointError else {
                    return XCTFail("expected malformedPickle, got \(error)")
                }
                XCTAssertTrue(expected.contains("nested at most 100 deep"), expected)
            }
        }
    }

    func testNestedTuplesInAZipCheckpointAreATypedError() throws {
        let url = try writeArchive(["archive/data.pkl": (nestedTuples, compressed: false)])
        for read in [PyTorchCheckpoint.read(contentsOf:), readStateDictionary(contentsOf:)] {
            XCTAssertThrowsError(try read(url)) { error in
                guard case let .malformedPickle(file, _, expected, _)? = error as? CheckpointError else {
                    return XCTFail("expected malformedPickle, got \(error)")
                }
                XCTAssertEqual(file, "\(url.path):archive/data.pkl")
                XCTAssertTrue(expected.contains("nested at most"), expected)
            }
        }
    }

    func testNestedTuplesInALegacyCheckpointAreATypedError() throws {
        // The legacy magic number's pickle, then the nested tuples where the version should be.
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + PyTorchCheckpoint.legacyMagic + [0x2E]
        let url = try write(magic + nestedTuples, named: "nested-legacy.pth")
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .malformedPickle(file, offset, expected, _)? = error as? CheckpointError else {
                return XCTFail("expected malformedPickle, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(offset, magic.count + 3 + PickleMachine.maximumDepth - 1)
            XCTAssertTrue(expected.contains("nested at most"), expected)
        }
    }

    func testTheSmallLegacyPicklesMayMakeOnlyAFewValues() throws {
        // The magic number and the protocol version, then a system-information pickle of 2,000 DUPs.
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + PyTorchCheckpoint.legacyMagic + [0x2E]
        let version: [UInt8] = [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        let flood: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x32, count: 2_000) + [0x2E]
        let url = try write(magic + version + flood, named: "flood-legacy.pth")
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .malformedPickle(file, offset, expected, _)? = error as? CheckpointError else {
                return XCTFail("expected malformedPickle, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(offset, magic.count + version.count + 3 + PyTorchCheckpoint.legacyHeaderValueLimit - 1)
            XCTAssertTrue(expected.hasPrefix("at most 1000 values"), expected)
        }
    }

    func testContainersThatWouldContainThemselvesAreRefused() throws {
        let key: [UInt8] = [0x8C, 0x05] + Array("model".utf8)
        let programs: [(String, [UInt8])] = [
            // l = []; l.append(l)
            ("APPEND", [0x5D, 0x32, 0x61, 0x2E]),
            // l = []; l.append((l,))
            ("APPEND", [0x5D, 0x32, 0x85, 0x61, 0x2E]),
            // l = []; l.extend([0, l])
            ("APPENDS", [0x5D, 0x71, 0x00, 0x28, 0x4B, 0x00, 0x68, 0x00, 0x65, 0x2E]),
            // d = {}; d["model"] = d
            ("SETITEM", [0x7D, 0x71, 0x00] + key + [0x68, 0x00, 0x73, 0x2E]),
            // d = {}; d.update({"model": [d]})
            ("SETITEMS", [0x7D, 0x71, 0x00, 0x28] + key + [0x28, 0x68, 0x00, 0x6C, 0x75, 0x2E]),
        ]
        for (operation, program) in programs {
            XCTAssertThrowsError(try unpickle(program), "\(program)") { error in
                guard case let .malformedPickle(_, _, expected, found)? = error as? CheckpointError else {
                    return XCTFail("expected malformedPickle, got \(error)")
                }
                XCTAssertEqual(expected, "a container not yet nested in another value for \(operation)")
                XCTAssertTrue(found.contains("already inside one"), found)
            }
        }
    }

    func testContainersFilledBeforeNestingStillRead() throws {
        // {"a": [1, {"b": ()}]}, built as Python's pickler builds it, with memo entries and a
        // shared reference to the inner dictionary.
        let program: [UInt8] = [0x80, 0x02, 0x7D, 0x94, 0x28, 0x8C, 0x01, 0x61, 0x5D, 0x94, 0x28, 0x4B, 0x01,
                                0x7D, 0x94, 0x8C, 0x01, 0x62, 0x29, 0x73, 0x65, 0x8C, 0x01, 0x63, 0x68, 0x02, 0x75, 0x2E]
        guard case let .dictionary(outer) = try unpickle(program), case let .list(list)? = outer["a"] else {
            return XCTFail("expected a dictionary holding a list")
        }
        XCTAssertEqual(list.items.count, 2)
        XCTAssertEqual(outer.depth, 4)
        guard case .dictionary? = outer["c"] else { return XCTFail("expected the shared dictionary under c") }
    }

    // MARK: - Memory

    func testAFloodOfValuesIsRefusedAtTheLimit() throws {
        // None, then DUP until the machine has made one value too many (against a limit lowered
        // to keep the test quick; the default is checked once below).
        let limit = 50_000
        let program = [0x4E] + [UInt8](repeating: 0x32, count: limit) + [0x2E]
        XCTAssertThrowsError(try unpickle(program, valueLimit: limit)) { error in
            guard case let .malformedPickle(_, offset, expected, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedPickle, got \(error)")
            }
            XCTAssertEqual(offset, limit)
            XCTAssertEqual(expected, "at most \(limit) values from one pickle (stack, memo and containers)")
            XCTAssertEqual(found, "more values on the stack than that")
        }
        // New memo entries count too: None, then PUT under ever new indexes.
        let memo: [UInt8] = [0x4E] + (0..<limit).flatMap { [0x72] + withUnsafeBytes(of: UInt32($0).littleEndian, Array.init) } + [0x2E]
        XCTAssertThrowsError(try unpickle(memo, valueLimit: limit)) { error in
            guard case let .malformedPickle(_, _, _, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedPickle, got \(error)")
            }
            XCTAssertEqual(found, "more memo entries than that")
        }
        XCTAssertEqual(PickleMachine.maximumValueCount, 1 << 22)
    }

    func testPickleValuesStaySmall() {
        // Millions of values may be made; the large payloads are boxed.
        XCTAssertLessThanOrEqual(MemoryLayout<PickleValue>.stride, 24)
    }

    func testACompressedEntryMayNotExpandFarBeyondTheFile() throws {
        // A storage of 4 MiB of zeros deflates to a few kilobytes.
        let storage = [UInt8](repeating: 0, count: 4 << 20)
        let pickle = PyTorchCheckpoint.statePickle(keys: ["x"], shapes: [[storage.count / 4]])
        let url = try writeArchive([
            "archive/data.pkl": (pickle, compressed: false),
            "archive/data/0": (storage, compressed: true),
        ])
        let fileSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        XCTAssertLessThan(fileSize, 64 << 10)
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case let .malformedArchive(file, expected, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedArchive, got \(error)")
            }
            XCTAssertEqual(file, "\(url.path):archive/data/0")
            XCTAssertTrue(expected.contains("\(PyTorchCheckpoint.maximumExpansion * fileSize) bytes"), expected)
            XCTAssertTrue(expected.contains("\(fileSize)-byte archive"), expected)
            XCTAssertTrue(found.contains("\(storage.count) bytes"), found)
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }

    func testACompressedPickleMayNotExpandFarBeyondTheFile() throws {
        // 4 million DUPs deflate to about 4 KB.
        let pickle = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x32, count: 4_000_000) + [0x2E]
        let url = try writeArchive(["archive/data.pkl": (pickle, compressed: true)])
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .malformedArchive(file, _, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedArchive, got \(error)")
            }
            XCTAssertEqual(file, "\(url.path):archive/data.pkl")
            XCTAssertTrue(found.contains("\(pickle.count) bytes"), found)
        }
    }

    func testModestlyCompressedCheckpointsStillRead() throws {
        // Random floats barely compress: a deflated archive of them is read as a stored one.
        var generator = SplitMix64(seed: 3)
        let values = (0..<4096).map { _ in Float.random(in: -1...1, using: &generator) }
        let storage = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let pickle = PyTorchCheckpoint.statePickle(keys: ["x"], shapes: [[values.count]])
        let url = try writeArchive([
            "archive/data.pkl": (pickle, compressed: true),
            "archive/data/0": (storage, compressed: true),
        ])
        let state = try PyTorchCheckpoint.read(contentsOf: url)
        XCTAssertEqual(state["x"]?.scalars, values)
    }

    // MARK: - Truncated archives

    func testAZipWithoutAnEndRecordInItsTailIsRefusedAtOnce() throws {
        // A local header and 8 MB of zeros: torch.save cut short. ZIPFoundation would scan all
        // of it for an end record (16 s for 56 MB).
        let url = try write([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 8 << 20), named: "cut.pth")
        let start = Date()
        XCTAssertThrowsError(try readStateDictionary(contentsOf: url)) { error in
            guard case let .malformedArchive(file, expected, found)? = error as? CheckpointError else {
                return XCTFail("expected malformedArchive, got \(error)")
            }
            XCTAssertEqual(file, url.path)
            XCTAssertTrue(expected.contains("end-of-central-directory record (within 65557 bytes of the end)"), expected)
            XCTAssertEqual(found, "none in the last 65557 of \((8 << 20) + 4) bytes (a truncated or incomplete file?)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testAnEndRecordFollowedByTheLongestCommentIsFound() throws {
        // The record may be followed by a comment of up to 65,535 bytes.
        var bytes = [UInt8](try CheckpointFixtures.data("tiny.pth"))
        let end = try XCTUnwrap(bytes.indices.last { bytes[$0...].starts(with: [0x50, 0x4B, 0x05, 0x06]) })
        XCTAssertEqual(end, bytes.count - 22)
        bytes[end + 20] = 0xFF
        bytes[end + 21] = 0xFF
        bytes += [UInt8](repeating: 0x20, count: 65_535)
        let state = try readStateDictionary(contentsOf: write(bytes, named: "commented.pth"))
        XCTAssertEqual(Set(state.keys), Set(try readStateDictionary(contentsOf: CheckpointFixtures.url("tiny.pth")).keys))
    }

    // MARK: - One line

    func testNamesFromTheFileCannotBreakTheErrorLine() throws {
        // STACK_GLOBAL "os\nx" "sys\ntem": a forbidden global whose names hold newlines.
        let program: [UInt8] = [0x8C, 0x04] + Array("os\nx".utf8) + [0x8C, 0x07] + Array("sys\ntem".utf8) + [0x93, 0x2E]
        XCTAssertThrowsError(try unpickle(program)) { error in
            XCTAssertEqual(error as? CheckpointError, .forbiddenGlobal(file: "test", module: "os\nx", name: "sys\ntem"))
            XCTAssertTrue("\(error)".hasPrefix("test: refusing the Python global os\\nx.sys\\ntem: "), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
        let image = ImageError.corrupt(source: "a\rb.png", format: .png, message: "bad\u{1B}[31m")
        XCTAssertEqual(image.description, "a\\rb.png: corrupt PNG: bad\\u{1B}[31m")
    }

    // MARK: - Helpers

    private func unpickle(_ program: [UInt8], valueLimit: Int = PickleMachine.maximumValueCount) throws -> PickleValue {
        try program.withUnsafeBytes { try PickleMachine.unpickle($0, file: "test", valueLimit: valueLimit).value }
    }

    private func write(_ bytes: [UInt8], named name: String) throws -> URL {
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A zip archive of `entries`, each stored or deflated.
    private func writeArchive(_ entries: [String: (bytes: [UInt8], compressed: Bool)]) throws -> URL {
        let url = try CheckpointFixtures.temporaryDirectory(for: self).appendingPathComponent("forged.pth")
        let archive = try Archive(accessMode: .create)
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(entry.bytes.count),
                compressionMethod: entry.compressed ? .deflate : .none
            ) { position, size in
                Data(entry.bytes[Int(position)..<Int(position) + size])
            }
        }
        try XCTUnwrap(archive.data).write(to: url)
        return url
    }
}
