import XCTest

@testable import MobileNetIO

/// The EXIF orientation parser on hand-made TIFF structures, and the eight transpositions on a
/// picture small enough to check by eye. (`ImageDecoderTests` checks them against Pillow.)
final class ImageOrientationTests: XCTestCase {
    /// A TIFF header and an IFD0 holding `entries` (tag, type, value), in either byte order.
    private func tiff(bigEndian: Bool, entries: [(tag: UInt16, type: UInt16, value: UInt32)]) -> [UInt8] {
        func bytes16(_ value: UInt16) -> [UInt8] {
            bigEndian ? [UInt8(value >> 8), UInt8(value & 0xFF)] : [UInt8(value & 0xFF), UInt8(value >> 8)]
        }
        func bytes32(_ value: UInt32) -> [UInt8] {
            let big = (0..<4).map { UInt8((value >> (24 - 8 * UInt32($0))) & 0xFF) }
            return bigEndian ? big : big.reversed()
        }
        var data: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        data += bytes16(42) + bytes32(8) + bytes16(UInt16(entries.count))
        for entry in entries {
            data += bytes16(entry.tag) + bytes16(entry.type) + bytes32(1)
            // A SHORT sits in the first two bytes of the value field.
            data += entry.type == 3 ? bytes16(UInt16(entry.value)) + [0, 0] : bytes32(entry.value)
        }
        return data + bytes32(0)
    }

    func testReadsBothByteOrdersAndBothIntegerTypes() {
        for bigEndian in [false, true] {
            for orientation in ExifOrientation.allCases {
                let short = tiff(bigEndian: bigEndian, entries: [(0x010F, 2, 0), (0x0112, 3, UInt32(orientation.rawValue))])
                XCTAssertEqual(ExifOrientation(tiff: short), orientation)
                let long = tiff(bigEndian: bigEndian, entries: [(0x0112, 4, UInt32(orientation.rawValue))])
                XCTAssertEqual(ExifOrientation(tiff: long), orientation)
            }
        }
    }

    func testMalformedOrAbsentTagsGiveNil() {
        let valid = tiff(bigEndian: false, entries: [(0x0112, 3, 6)])
        XCTAssertEqual(ExifOrientation(tiff: valid), .rotate90Clockwise)
        XCTAssertNil(ExifOrientation(tiff: tiff(bigEndian: false, entries: [(0x0112, 3, 0)])))
        XCTAssertNil(ExifOrientation(tiff: tiff(bigEndian: false, entries: [(0x0112, 3, 9)])))
        XCTAssertNil(ExifOrientation(tiff: tiff(bigEndian: true, entries: [(0x0112, 2, 6)])), "ASCII type")
        XCTAssertNil(ExifOrientation(tiff: tiff(bigEndian: true, entries: [(0x010F, 3, 6)])), "no orientation tag")
        XCTAssertNil(ExifOrientation(tiff: [UInt8]()))
        XCTAssertNil(ExifOrientation(tiff: Array("XX*\0\0\0\0\u{8}".utf8)), "unknown byte order")
        // Every truncation before the end of the value is refused, none reads out of bounds; the
        // SHORT value ends 20 bytes in (header 8, count 2, tag, type, count 8, value 2).
        for length in 0..<valid.count {
            let parsed = ExifOrientation(tiff: valid.prefix(length))
            XCTAssertEqual(parsed, length < 20 ? nil : .rotate90Clockwise, "cut to \(length)")
        }
        // IFD0 offset pointing past the end, and an entry count larger than the data.
        var farOffset = valid
        farOffset[4] = 0xFF
        farOffset[7] = 0x7F
        XCTAssertNil(ExifOrientation(tiff: farOffset))
        var manyEntries = valid
        manyEntries[8] = 0xFF
        manyEntries[9] = 0xFF
        XCTAssertEqual(ExifOrientation(tiff: manyEntries), .rotate90Clockwise, "the tag is found before the end")
        var manyEntriesNoTag = tiff(bigEndian: false, entries: [(0x010F, 3, 1)])
        manyEntriesNoTag[8] = 0xFF
        XCTAssertNil(ExifOrientation(tiff: manyEntriesNoTag))
    }

    func testTranspositionsOfASmallPicture() {
        // 3 x 2, pixel values 1…6 in reading order:  1 2 3
        //                                            4 5 6
        let image = RGBImage(width: 3, height: 2, pixels: (1...6).flatMap { [UInt8($0), 0, 0] })
        func reds(_ image: RGBImage) -> [[UInt8]] {
            (0..<image.height).map { y in (0..<image.width).map { x in image[x, y].red } }
        }
        XCTAssertEqual(reds(image.applying(.upright)), [[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(reds(image.applying(.flipHorizontal)), [[3, 2, 1], [6, 5, 4]])
        XCTAssertEqual(reds(image.applying(.rotate180)), [[6, 5, 4], [3, 2, 1]])
        XCTAssertEqual(reds(image.applying(.flipVertical)), [[4, 5, 6], [1, 2, 3]])
        XCTAssertEqual(reds(image.applying(.transpose)), [[1, 4], [2, 5], [3, 6]])
        XCTAssertEqual(reds(image.applying(.rotate90Clockwise)), [[4, 1], [5, 2], [6, 3]])
        XCTAssertEqual(reds(image.applying(.transverse)), [[6, 3], [5, 2], [4, 1]])
        XCTAssertEqual(reds(image.applying(.rotate90CounterClockwise)), [[3, 6], [2, 5], [1, 4]])
    }

    func testJPEGExifSegmentIsFoundAmongOtherSegments() throws {
        let payload = tiff(bigEndian: true, entries: [(0x0112, 3, 3)])
        let app1 = [UInt8](Array("Exif".utf8) + [0, 0]) + payload
        let app0: [UInt8] = [0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46]
        var jpeg: [UInt8] = [0xFF, 0xD8] + app0 + [0xFF, 0xFF]  // a fill byte before the marker
        jpeg += [0xFF, 0xE1, UInt8((app1.count + 2) >> 8), UInt8((app1.count + 2) & 0xFF)] + app1
        jpeg += [0xFF, 0xDA, 0x00, 0x02]
        let found = jpeg.withUnsafeBufferPointer { JPEGDecoder.exifPayload(in: $0) }
        XCTAssertEqual(found, payload)
        // A segment length that runs past the end is ignored, not followed.
        var broken = jpeg
        broken[app0.count + 6] = 0xFF
        broken[app0.count + 7] = 0xFF
        XCTAssertNil(broken.withUnsafeBufferPointer { JPEGDecoder.exifPayload(in: $0) })
    }
}
