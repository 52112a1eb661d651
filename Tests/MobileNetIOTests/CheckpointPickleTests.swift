import Foundation
import MobileNetTensor
import XCTest

@testable import MobileNetIO

/// The symbolic unpickler and the pickle writer, opcode by opcode, and the element conversions.
final class CheckpointPickleTests: XCTestCase {
    func testWriterIntegersReadBackAtEveryWidth() throws {
        let values = [0, 1, 255, 256, 65_535, 65_536, -1, -129, Int(Int32.max), Int(Int32.min), 1 << 40, -(1 << 40), .max, .min]
        for value in values {
            var writer = PickleWriter()
            writer.integer(value)
            writer.emit(.stop)
            XCTAssertEqual(try unpickle(writer.bytes).integer, value, "\(value)")
        }
    }

    func testLongIntegersBeyond64BitsStayBytes() throws {
        // The legacy magic number, as LONG1 with 10 bytes.
        let program: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + PyTorchCheckpoint.legacyMagic + [0x2E]
        guard case let .bigInteger(bytes) = try unpickle(program) else { return XCTFail("expected a big integer") }
        XCTAssertEqual(bytes, PyTorchCheckpoint.legacyMagic)
        // Nine bytes that only sign-extend a 64-bit value still fit.
        XCTAssertEqual(try unpickle([0x8A, 0x09] + [UInt8](repeating: 0xFF, count: 9) + [0x2E]).integer, -1)
    }

    func testWriterStringsTuplesAndMemo() throws {
        var writer = PickleWriter()
        writer.emit(.mark)
        writer.string("features.0.0.weight")
        writer.put(300)
        writer.tuple([])
        writer.tuple([1, 2, 3])
        writer.tuple([4, 5, 6, 7])
        writer.get(300)
        writer.emit(.tuple)
        writer.emit(.stop)
        guard case let .tuple(items, _) = try unpickle(writer.bytes) else { return XCTFail("expected a tuple") }
        XCTAssertEqual(items.count, 5)
        XCTAssertEqual(items[0].string, "features.0.0.weight")
        XCTAssertEqual(items[1].integers, [])
        XCTAssertEqual(items[2].integers, [1, 2, 3])
        XCTAssertEqual(items[3].integers, [4, 5, 6, 7])
        XCTAssertEqual(items[4].string, "features.0.0.weight")
    }

    func testBinaryFloatIsBigEndian() throws {
        let program: [UInt8] = [0x47] + withUnsafeBytes(of: (0.1 as Double).bitPattern.bigEndian, Array.init) + [0x2E]
        guard case let .float(value) = try unpickle(program) else { return XCTFail("expected a float") }
        XCTAssertEqual(value, 0.1)
    }

    func testStatePickleDescribesEveryTensor() throws {
        let shapes: [Shape] = [[2, 3], [], [0, 4], [1, 2, 3, 4]]
        let keys = ["a", "b", "c", "d"]
        let value = try unpickle(PyTorchCheckpoint.statePickle(keys: keys, shapes: shapes))
        let records = try PyTorchCheckpoint.stateDictionary(in: value, file: "test")
        XCTAssertEqual(records.map(\.key), keys)
        for (index, (record, shape)) in zip(records.map(\.record), shapes).enumerated() {
            XCTAssertEqual(record.storage.key, String(index))
            XCTAssertEqual(record.storage.typeName, "FloatStorage")
            XCTAssertEqual(record.layout, StridedLayout(offset: 0, shape: shape.dimensions,
                                                        strides: PyTorchCheckpoint.rowMajorStrides(shape.dimensions)))
        }
        XCTAssertEqual(PyTorchCheckpoint.rowMajorStrides([2, 3, 4]), [12, 4, 1])
    }

    func testEveryPrefixOfAPickleIsATypedError() throws {
        let program = PyTorchCheckpoint.statePickle(keys: ["x.weight", "x.bias"], shapes: [[2, 2], [2]])
        XCTAssertNoThrow(try unpickle(program))
        for length in 0..<program.count {
            XCTAssertThrowsError(try unpickle(Array(program.prefix(length)))) { error in
                XCTAssertTrue(error is CheckpointError, "prefix \(length): \(error)")
            }
        }
    }

    func testRandomlyDamagedPicklesNeverCrash() throws {
        let program = PyTorchCheckpoint.statePickle(keys: ["x.weight", "x.bias"], shapes: [[2, 2], [2]])
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            var damaged = program
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            do {
                _ = try PyTorchCheckpoint.stateDictionary(in: unpickle(damaged), file: "damaged")
            } catch {
                XCTAssertTrue(error is CheckpointError, "\(error)")
            }
        }
    }

    func testUnsupportedOpcodesAreRefusedWithTheirOffset() throws {
        // INST ('i') would build an object through another route; it is not interpreted.
        XCTAssertThrowsError(try unpickle([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2E])) { error in
            XCTAssertEqual(error as? CheckpointError, .malformedPickle(
                file: "test", offset: 2, expected: "an opcode used by PyTorch state dictionaries", found: "opcode 0x69 'i'"))
        }
    }

    func testStorageTypesCannotBeCalled() throws {
        // REDUCE on torch.FloatStorage: allowed as a name, meaningless as a call.
        XCTAssertThrowsError(try unpickle(Array("ctorch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E])) { error in
            guard case .malformedPickle? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testSelfContainingDictionaryIsRefused() throws {
        // d = {}; d["model"] = d: a reference cycle, refused as it is made (see CheckpointLimitsTests).
        let program: [UInt8] = [0x7D, 0x71, 0x00, 0x58, 5, 0, 0, 0] + Array("model".utf8) + [0x68, 0x00, 0x73, 0x2E]
        XCTAssertThrowsError(try PyTorchCheckpoint.stateDictionary(in: unpickle(program), file: "loop")) { error in
            guard case .malformedPickle(_, 15, _, _)? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testSelfContainingListInALegacyCheckpointIsATypedError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-cycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Magic number, protocol version 1001, {} for the system information, then the object
        // l = []; l.append(l) and an empty list of storage keys.
        let file: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + PyTorchCheckpoint.legacyMagic + [0x2E]
            + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E] + [0x80, 0x02, 0x7D, 0x2E]
            + [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E] + [0x80, 0x02, 0x5D, 0x2E]
        let url = folder.appendingPathComponent("cycle.pth")
        try Data(file).write(to: url)
        XCTAssertThrowsError(try PyTorchCheckpoint.read(contentsOf: url)) { error in
            guard case .malformedPickle? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    func testHalfPrecisionConversionIsExact() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24),
            (0x0400, 0x1p-14), (0x7C00, .infinity), (0xFC00, -.infinity), (0x3555, 0.333251953125),
        ]
        for (bits, expected) in cases {
            XCTAssertEqual(StoredElementType.float(half: bits), expected, "0x\(String(bits, radix: 16))")
        }
        XCTAssertEqual(StoredElementType.float(half: 0x8000).sign, .minus)
        XCTAssertTrue(StoredElementType.float(half: 0x7E00).isNaN)
    }

    func testBigEndianStoragesAreSwapped() {
        let big: [UInt8] = [0x3F, 0x80, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00]  // 1.0, -2.0
        var result = [Float](repeating: 0, count: 2)
        big.withUnsafeBytes { source in
            result.withUnsafeMutableBufferPointer { StoredElementType.float32.convert(source.baseAddress!, count: 2, littleEndian: false, into: $0.baseAddress!) }
        }
        XCTAssertEqual(result, [1, -2])
    }

    func testGatherWalksEveryAxis() throws {
        // A [2, 3] view with strides (1, 2) of the storage 0...5: element [i, j] = i + 2j.
        let layout = StridedLayout(offset: 0, shape: [2, 3], strides: [1, 2])
        let extent = try layout.validated(storageCount: 6, file: "test", key: "x")
        XCTAssertEqual(extent, .init(elementCount: 6, span: 6))
        XCTAssertFalse(layout.isRowMajor)
        let storage: [Float] = [0, 1, 2, 3, 4, 5]
        var result = [Float](repeating: -1, count: 6)
        storage.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { layout.gather(from: source.baseAddress!, into: $0.baseAddress!, elementCount: 6) }
        }
        XCTAssertEqual(result, [0, 2, 4, 1, 3, 5])
        XCTAssertTrue(StridedLayout(offset: 5, shape: [1, 4, 1], strides: [99, 1, 7]).isRowMajor)
    }

    func testExpandedViewsLargerThanTheirStorageAreRefused() {
        let expanded = StridedLayout(offset: 0, shape: [1 << 40], strides: [0])
        XCTAssertThrowsError(try expanded.validated(storageCount: 1, file: "test", key: "x")) { error in
            guard case .invalidTensor(_, "x", _, _)? = error as? CheckpointError else { return XCTFail("\(error)") }
        }
    }

    // MARK: - Helpers

    private func unpickle(_ program: [UInt8]) throws -> PickleValue {
        try program.withUnsafeBytes { try PickleMachine.unpickle($0, file: "test").value }
    }
}
