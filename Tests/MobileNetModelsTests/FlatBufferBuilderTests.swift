@testable import MobileNetExport
import XCTest

/// The FlatBuffers writer against a reader that follows the format's rules by hand: root
/// offset, file identifier, vtable, fields, strings and vectors, and every scalar aligned.
final class FlatBufferBuilderTests: XCTestCase {
    private struct Reader {
        let bytes: [UInt8]

        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func i32(_ at: Int) -> Int32 { Int32(bitPattern: u32(at)) }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }

        /// The position of field `slot` of the table at `table`, nil if absent.
        func field(_ table: Int, _ slot: Int) -> Int? {
            let vtable = table - Int(i32(table))
            let length = u16(vtable)
            let entry = 4 + 2 * slot
            guard entry < length, u16(vtable + entry) != 0 else { return nil }
            return table + u16(vtable + entry)
        }

        func target(_ at: Int) -> Int { at + Int(u32(at)) }
    }

    func testTablesStringsAndVectorsReadBack() throws {
        var builder = FlatBufferBuilder()
        let name = builder.string("conv")
        let shape = builder.vector([Int32(1), 224, 224, 3])
        let data = builder.vector([UInt8](repeating: 7, count: 5), alignment: 16)
        builder.startTable()
        builder.add(0, shape)
        builder.add(1, Int8(9))
        builder.add(2, UInt32(0))  // the default: left out
        builder.add(3, name)
        builder.add(5, data)
        let inner = builder.endTable()
        let list = builder.vector(offsets: [inner, inner])
        builder.startTable()
        builder.add(0, UInt32(3))
        builder.add(1, list)
        let root = builder.endTable()
        let bytes = builder.finish(root, identifier: "TFL3")

        let reader = Reader(bytes: bytes)
        XCTAssertEqual(Array(bytes[4..<8]), Array("TFL3".utf8))
        let model = reader.target(0)
        XCTAssertEqual(model % 4, 0)
        XCTAssertEqual(reader.u32(try XCTUnwrap(reader.field(model, 0))), 3)
        let vector = reader.target(try XCTUnwrap(reader.field(model, 1)))
        XCTAssertEqual(reader.u32(vector), 2)
        for element in 0..<2 {
            let table = reader.target(vector + 4 + 4 * element)
            let shapeVector = reader.target(try XCTUnwrap(reader.field(table, 0)))
            XCTAssertEqual(reader.u32(shapeVector), 4)
            XCTAssertEqual((0..<4).map { reader.i32(shapeVector + 4 + 4 * $0) }, [1, 224, 224, 3])
            XCTAssertEqual(bytes[try XCTUnwrap(reader.field(table, 1))], 9)
            XCTAssertNil(reader.field(table, 2), "a default value is not written")
            let text = reader.target(try XCTUnwrap(reader.field(table, 3)))
            let count = Int(reader.u32(text))
            XCTAssertEqual(String(decoding: bytes[(text + 4)..<(text + 4 + count)], as: UTF8.self), "conv")
            XCTAssertEqual(bytes[text + 4 + count], 0, "strings end in a zero byte")
            XCTAssertNil(reader.field(table, 4))
            let blob = reader.target(try XCTUnwrap(reader.field(table, 5)))
            XCTAssertEqual((blob + 4) % 16, 0, "tensor data aligned to 16")
            XCTAssertEqual(Array(bytes[(blob + 4)..<(blob + 9)]), [7, 7, 7, 7, 7])
        }
        XCTAssertEqual(bytes.count % 16, 0, "the buffer's length is a multiple of its largest alignment")
    }
}
